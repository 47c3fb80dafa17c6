"""The delay proxy: delay applied each way, bytes intact, connections closed on both sides."""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time

import pytest

from bench.system.delay_proxy import DelayProxy, measure_rtt


class Echo:
    """A loopback TCP echo server that remembers whether its peers closed."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.peer_closed = threading.Event()
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)
            self.peer_closed.set()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def echo():
    server = Echo()
    yield server
    server.close()


def round_trips(port: int, count: int = 30) -> list[float]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(b"x")
            assert sock.recv(1) == b"x"
            times.append((time.perf_counter() - started) * 1000)
        return times


@pytest.mark.parametrize("one_way_ms", [1.0, 2.5])
def test_delay_is_applied_each_way(echo, one_way_ms):
    direct = statistics.median(round_trips(echo.port))
    with DelayProxy(("127.0.0.1", echo.port), one_way_ms) as proxy:
        delayed = statistics.median(round_trips(proxy.port))
    added = delayed - direct
    assert 2 * one_way_ms <= added + 0.05, (direct, delayed)  # never less than set
    assert added < 2 * one_way_ms * 1.25 + 0.3, (direct, delayed)  # and close to it


def test_bytes_arrive_intact_and_in_order(echo):
    payload = os.urandom(3 * 1024 * 1024)
    with (
        DelayProxy(("127.0.0.1", echo.port), 0.5) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port)) as sock,
    ):
        received = bytearray()

        def read() -> None:
            while len(received) < len(payload):
                chunk = sock.recv(65536)
                if not chunk:
                    return
                received.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        sock.sendall(payload)
        reader.join(30)
    assert bytes(received) == payload


def test_client_close_reaches_the_server(echo):
    with DelayProxy(("127.0.0.1", echo.port), 0.5) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
            sock.sendall(b"hello")
            assert sock.recv(5) == b"hello"
        assert echo.peer_closed.wait(5)


def test_server_close_reaches_the_client(echo):
    with (
        DelayProxy(("127.0.0.1", echo.port), 0.5) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port)) as sock,
    ):
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        echo.accepted[-1].shutdown(socket.SHUT_RDWR)
        sock.settimeout(5)
        assert sock.recv(1) == b""  # EOF, not a hang


def test_unreachable_target_closes_the_client():
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        dead_port = placeholder.getsockname()[1]
    with (
        DelayProxy(("127.0.0.1", dead_port), 0.5) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port)) as sock,
    ):
        sock.settimeout(5)
        assert sock.recv(1) == b""


def test_postgres_round_trip_through_the_proxy(pg):
    direct = measure_rtt(pg.tcp_url, samples=50)
    with DelayProxy(("127.0.0.1", pg.port), 1.0) as proxy:
        delayed = measure_rtt(f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres", samples=50)
    assert 1900 <= delayed - direct <= 3000, (direct, delayed)


@pytest.mark.parametrize(("reset", "round_trips"), [("0", 1), ("1", 2)])
def test_session_lookup_is_one_round_trip_unless_the_pool_resets(pg, servers, reset, round_trips):
    """Seen from 5 ms away, every database round trip of a request shows in its auth time."""
    from bench.system.delay_proxy import ProxyProcess
    from tests.support.client import bearer, call, login

    with ProxyProcess(pg.tcp_url, added_rtt_ms=5.0) as proxy:
        server = servers.start(
            "session",
            DATABASE_URL=proxy.dsn,
            AUTHBENCH_POOL_RESET=reset,
            AUTHBENCH_DB_COMMAND_TIMEOUT="2",
        )
        token = login(server)
        timings = []
        for _ in range(9):
            answer = call(server.url, "GET", "/me", bearer(token))
            assert answer.status == 200
            timings.append(float(answer.header("server-timing").partition("dur=")[2]))
        server.stop()
    auth_ms = statistics.median(timings)
    assert round_trips * 5.0 <= auth_ms < round_trips * 5.0 + 4.0, timings


def test_a_proxy_that_cannot_listen_is_one_clear_error():
    """Not a bare OSError with a traceback: the runner and CLI report it in one line."""
    from bench.system.delay_proxy import DelayProxyError, ProxyProcess

    taken = socket.create_server(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        with pytest.raises(DelayProxyError) as caught:
            ProxyProcess("postgresql://u@127.0.0.1:5432/db", 1.0, port=port)
    finally:
        taken.close()
    message = str(caught.value)
    assert message.startswith("the delay proxy did not start: delay proxy cannot listen on")
    assert "\n" not in message
