"""Beyond the HTTP stack's own limits: every twin of every runtime answers, never resets.

Raw sockets against real servers (docs/server-contract.md, "Beyond the HTTP stack's limits"): a
1 MiB Authorization header, a 5,000-byte path, a request half-closed after sending, malformed
request lines and headers, random bytes. An answer must come back whole, followed by a clean
close where the server closes: `exchange` reads such an answer to the end of the connection, so
an RST after it counts as a failure. Where the stacks differ, the codes measured are pinned here
and the contract's table says why.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time

import pytest

from bench.run.conform import cases
from bench.run.conform_limits import MALFORMED, exchange, get, huge_token, long_path, random_bytes
from bench.system.ports import free_port
from bench.system.server_launch import server_argv
from tests.support.client import call, eventually, login

# What each stack's parser does with a 1 MiB header: Node refuses it at http.maxHeaderSize
# (16 KiB); uvicorn's httptools protocol has no limit, so the server's own code sees it.
HUGE_HEADER = {
    "node": {"control": 431, "session": 431, "jwt_auth": 431},
    "python": {"control": 200, "session": 401, "jwt_auth": 401},
    "fastapi": {"control": 200, "session": 401, "jwt_auth": 401},
}


@pytest.fixture(params=["control_server", "session_server", "jwt_server"])
def server(request, runtime):
    return request.getfixturevalue(request.param)


def bearer_for(server) -> dict[str, str]:
    return {} if server.name == "control" else {"Authorization": f"Bearer {login(server)}"}


def answered(ex) -> None:
    assert ex.error == "", f"{ex.error}; received {ex.raw[:200]!r}"
    assert ex.reply.status > 0, ex.raw[:200]


def test_a_1_mib_authorization_header_is_answered(server):
    ex = exchange(server.port, huge_token())
    answered(ex)
    assert ex.reply.status in {200, 400, 401, 431}
    assert ex.reply.status == HUGE_HEADER[server.runtime][server.name]
    if ex.reply.status == 431:
        assert ex.reply.headers["connection"] == "close"
        assert ex.reply.json()["error"] == "invalid_request"
        assert "16384 bytes" in ex.reply.json()["error_description"]
    if ex.reply.status == 401:
        assert 'error="invalid_token"' in ex.reply.headers["www-authenticate"]


def test_a_5000_byte_path_gets_an_ordinary_answer(server):
    """No stack here limits the request line below its header limit: an ordinary 404."""
    ex = exchange(server.port, long_path())
    answered(ex)
    assert ex.reply.status in {400, 404, 414}
    assert ex.reply.status == 404


@pytest.mark.parametrize("path", ["/me", "/profile"])
def test_a_request_half_closed_after_sending_gets_its_whole_answer(server, path):
    """/profile waits for the database on every server, /me on the session server: the answer is
    written after the client's FIN has arrived."""
    ex = exchange(server.port, get(path, bearer_for(server), close=False), half_close=True)
    answered(ex)
    assert ex.reply.status == 200, ex.reply.body
    assert len(ex.reply.body) == int(ex.reply.headers["content-length"])
    assert "username" in ex.reply.json()


@pytest.mark.parametrize("data", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_request_gets_a_400_in_json(server, data):
    ex = exchange(server.port, data)
    answered(ex)
    assert ex.reply.status == 400
    assert ex.reply.headers["connection"] == "close"
    assert ex.reply.json()["error"] == "invalid_request"


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("size", [64, 300 * 1024])
def test_random_bytes_get_a_400(server, seed, size):
    ex = exchange(server.port, random_bytes(seed, size) + b"\r\n\r\n")
    answered(ex)
    assert ex.reply.status == 400


def test_a_malformed_request_behind_a_valid_one_still_gets_answers(server):
    """Pipelined: a valid GET /me, then a request line that is not HTTP, in one write. Node
    answers the first, then refuses the second; uvicorn refuses at once and drops the first."""
    data = get("/me", bearer_for(server), close=False) + b"GARBAGE\r\n\r\n"
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        while chunk := sock.recv(65536):  # to the close: a reset raises here
            received += chunk
    statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)]
    assert statuses == ([200, 400] if server.runtime == "node" else [400])


def test_a_client_that_never_stops_sending_is_cut_off_after_the_drain(control_server):
    """The refusal is followed by reading what the client sends, for a bounded time only."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", control_server.port), timeout=10) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        with pytest.raises(OSError):  # reset or broken pipe, once the server has had enough
            while time.monotonic() - started < 10:
                sock.sendall(b"x" * 65536)
                time.sleep(0.01)
    assert time.monotonic() - started < 6


def test_the_server_lives_on(server):
    exchange(server.port, huge_token())
    exchange(server.port, random_bytes(7))
    assert call(server.url, "GET", "/healthz").status == 200


def test_the_catalogue_has_the_cases_beyond_the_limits():
    for kind in ("session", "jwt"):
        names = " ".join(c.name for c in cases(kind))
        expected = ("1 MiB Authorization", "5,000-byte path", "half-closed", "malformed request")
        for case in (*expected, "header line without a colon", "random bytes"):
            assert case in names, (kind, case)


@pytest.mark.parametrize("runtime_", ["python", "node"])
def test_a_server_listens_where_host_says(pg, runtime_):
    """`--host` (default 127.0.0.1) and `--port`: how the harness tells any server its address."""
    port = free_port()
    argv = [*server_argv(runtime_, "control", port, 1), "--host", "127.0.0.2"]
    env = {**os.environ, "DATABASE_URL": pg.url}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: _healthy("127.0.0.2", port), 20, "no answer on 127.0.0.2")
        assert not _healthy("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _healthy(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=1)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()
