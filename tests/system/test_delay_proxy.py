"""The delay proxy: delay applied each way, bytes intact, connections closed on both sides.

What the proxy adds is never less than the set delay, and close to it when nothing else runs.
The machine these tests run on may be busy (a benchmark, the rest of the suite), which only ever
makes a round trip slower: so what the proxy adds is read from the quickest round trips, through
it and around it, the ones nothing else got in the way of; the lower bound stays strict, and the
upper one leaves room for a busy machine. How fast a round trip is on a quiet machine is a
benchmark's question (the harness measures it on every run: `measure_rtt`), not a unit test's.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from bench.system.delay_proxy import DelayProxy, measure_rtt
from tests.support.client import bearer, call, login


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


# Over the set delay, at the quickest of the samples: what a proxy adds beyond sleeping, with
# room for a busy machine; a proxy that added a hop's delay twice would still be caught.
CLOSE_MS = 1.5


@pytest.mark.parametrize("one_way_ms", [1.0, 2.5])
def test_delay_is_applied_each_way(echo, one_way_ms):
    direct = round_trips(echo.port)
    with DelayProxy(("127.0.0.1", echo.port), one_way_ms) as proxy:
        delayed = round_trips(proxy.port)
    added = min(delayed) - min(direct)  # what the proxy adds when nothing interferes
    assert 2 * one_way_ms <= added + 0.05, (direct, delayed)  # never less than set
    assert added < 2 * one_way_ms + CLOSE_MS, (direct, delayed)  # and close to it


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
    """`measure_rtt` (a median, in µs) sees the 2 ms added; at its quickest of a few short
    measurements, not much more."""
    direct = [measure_rtt(pg.tcp_url, samples=10) for _ in range(5)]
    with DelayProxy(("127.0.0.1", pg.port), 1.0) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
        delayed = [measure_rtt(url, samples=10) for _ in range(5)]
    added_us = min(delayed) - min(direct)
    assert added_us >= 1900, (direct, delayed)  # never less than set
    assert added_us < 2000 + CLOSE_MS * 1000, (direct, delayed)  # and close to it


@pytest.mark.parametrize(("reset", "round_trips"), [("0", 1), ("1", 2)])
def test_session_lookup_is_one_round_trip_unless_the_pool_resets(pg, servers, reset, round_trips):
    """Seen from 5 ms away, every database round trip of a request shows in its auth time: at
    least 5 ms each in every request, and, in the quickest request, fewer than one more."""
    from bench.system.delay_proxy import ProxyProcess

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
    assert min(timings) >= round_trips * 5.0, timings  # every round trip, in every request
    assert min(timings) < (round_trips + 1) * 5.0, timings  # and no other one


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
