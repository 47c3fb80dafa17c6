"""The harness's one HTTP client (bench.system.http_client) against small servers of the test's
own on loopback: what a base URL means, the Host header and SNI, trust, and one-line failures."""

from __future__ import annotations

import socket
import ssl
import struct
import threading

import pytest

from bench.system.http_client import (
    BadTarget,
    Endpoint,
    NoAnswer,
    TlsRefused,
    Unreachable,
    exchange,
    request,
    send,
)
from bench.system.ports import free_port
from tests.support.tls_ca import make_ca

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class Recorder(threading.Thread):
    """Answers every connection on host:port with 200 "ok" once it has read the request's head
    (or, with `to_eof`, everything to the client's FIN); keeps the heads and TLS's SNI names."""

    def __init__(self, host: str = "127.0.0.1", context=None, to_eof: bool = False):
        super().__init__(daemon=True)
        self.listener = socket.create_server((host, 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.context, self.to_eof = context, to_eof
        self.heads: list[bytes] = []
        self.names: list[str | None] = []
        self.stopping = threading.Event()
        if context is not None:
            context.sni_callback = lambda _sock, name, _ctx: self.names.append(name)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            try:
                conn.settimeout(5)
                if self.context is not None:
                    conn = self.context.wrap_socket(conn, server_side=True)
                data = b""
                while self.to_eof or b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.heads.append(data)
                conn.sendall(ANSWER)
            except OSError:  # a handshake the client refused
                pass
            finally:
                conn.close()

    def __enter__(self) -> Recorder:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.join(5)
        self.listener.close()


def header(head: bytes, name: str) -> str:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    raise AssertionError(f"no {name} in {head!r}")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and a server certificate for the name localhost only."""
    return make_ca(tmp_path_factory.mktemp("ca"), "localhost")


def tls_server(certificates) -> Recorder:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    return Recorder(context=context)


def test_a_base_url_gives_scheme_host_port_and_prefix():
    api = Endpoint.parse("https://api.example.com/auth/")
    assert (api.scheme, api.host, api.port, api.prefix) == (
        "https",
        "api.example.com",
        443,
        "/auth",
    )
    assert api.path("/me") == "/auth/me" and api.host_header == "api.example.com"
    assert api.url == "https://api.example.com/auth"
    local = Endpoint.parse("http://127.0.0.2:8123")
    assert (local.port, local.prefix, local.host_header) == (8123, "", "127.0.0.2:8123")
    assert Endpoint.parse("http://[::1]:8000").host_header == "[::1]:8000"
    assert Endpoint.parse("http://localhost").port == 80


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999", "http://h/?q=1", "8000"]
)
def test_a_url_that_cannot_be_used_is_one_line(url):
    with pytest.raises(BadTarget) as caught:
        Endpoint.parse(url)
    assert "\n" not in str(caught.value) and url in str(caught.value)


def test_requests_go_to_the_urls_host_under_its_prefix_with_its_host_header():
    with Recorder("127.0.0.2") as server:
        reply = send(f"http://127.0.0.2:{server.port}/auth", "GET", "/me", token="abc")
    assert reply.status == 200 and reply.body == b"ok"
    head = server.heads[0]
    assert head.startswith(b"GET /auth/me HTTP/1.1\r\n")
    assert header(head, "host") == f"127.0.0.2:{server.port}"
    assert header(head, "authorization") == "Bearer abc"


def test_a_port_alone_means_127_0_0_1_over_http():
    with Recorder() as server:
        assert request(server.port, "GET", "/healthz").status == 200
    assert header(server.heads[0], "host") == f"127.0.0.1:{server.port}"


def test_tls_sends_the_urls_host_name_as_sni_and_checks_the_certificate_against_it(
    certificates,
):
    with tls_server(certificates) as server:
        url = f"https://localhost:{server.port}/auth"
        reply = send(Endpoint.parse(url, ca_file=str(certificates.ca_file)), "GET", "/me")
    assert reply.status == 200
    assert server.names == ["localhost"]
    assert header(server.heads[0], "host") == f"localhost:{server.port}"
    assert server.heads[0].startswith(b"GET /auth/me ")


def test_a_certificate_from_an_unknown_ca_is_refused_in_one_line(certificates):
    with tls_server(certificates) as server:
        url = f"https://localhost:{server.port}"
        with pytest.raises(TlsRefused) as caught:
            send(url, "GET", "/healthz")
        insecure = send(Endpoint.parse(url, insecure=True), "GET", "/healthz")
    said = str(caught.value)
    assert said == f"{url}: TLS verification failed: unable to get local issuer certificate"
    assert insecure.status == 200


def test_a_certificate_for_another_name_is_refused_in_one_line(certificates):
    with tls_server(certificates) as server:
        url = f"https://127.0.0.1:{server.port}"
        reply = request(Endpoint.parse(url, ca_file=str(certificates.ca_file)), "GET", "/")
    assert reply.status == 0
    assert reply.failure == (
        f"{url}: TLS verification failed: "
        "IP address mismatch, certificate is not valid for '127.0.0.1'."
    )


def test_a_ca_file_that_cannot_be_read_is_one_line(tmp_path):
    endpoint = Endpoint.parse("https://localhost:1", ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(BadTarget, match=r"cannot use the CA file .*missing\.pem"):
        send(endpoint, "GET", "/")


def test_nothing_listening_is_unreachable_naming_host_and_port():
    port = free_port("127.0.0.2")
    with pytest.raises(Unreachable) as caught:
        send(f"http://127.0.0.2:{port}", "GET", "/healthz")
    assert str(caught.value) == f"127.0.0.2:{port}: connection refused (nothing listens there)"
    reply = request(f"http://127.0.0.2:{port}", "GET", "/healthz")
    assert reply.status == 0 and reply.failure == str(caught.value)


def test_plain_http_to_a_tls_port_is_no_answer(certificates):
    with tls_server(certificates) as server, pytest.raises(NoAnswer) as caught:
        send(server.port, "GET", "/healthz")
    said = str(caught.value)
    assert said.startswith(f"127.0.0.1:{server.port}: ") and said.endswith(" to GET /healthz")


def test_raw_bytes_half_closed_get_the_answer_sent_after_the_fin():
    with Recorder(to_eof=True) as server:
        ex = exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", half_close=True)
    assert ex.answered and ex.reply.status == 200 and ex.reply.body == b"ok"
    assert server.heads == [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]


def test_raw_bytes_answered_by_a_reset_say_so():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def reset() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # linger 0: an RST

    thread = threading.Thread(target=reset)
    thread.start()
    try:
        ex = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    finally:
        thread.join(5)
        listener.close()
    assert not ex.answered and ex.error == "reset"
    assert ex.reply.failure == f"127.0.0.1:{port}: reset"
