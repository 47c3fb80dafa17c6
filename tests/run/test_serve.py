"""`make serve` (python -m bench serve): ready message, a working walk-through, clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.system.http_client import request
from bench.system.ports import free_port
from bench.system.processes import tree
from tests.support.client import bearer, call, login
from tests.support.processes import alive, command_name


@pytest.mark.parametrize("store", ["postgres", "redis"])
def test_serve_answers_then_ctrl_c_stops_server_and_its_stores(store):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["AUTHBENCH_SESSION_STORE"] = store
    argv = [sys.executable, "-m", "bench", "serve", "--server", "session", "--port", str(port)]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as serve:
        stderr, started, names = _drive(serve, port)
    assert ("valkey-server" in names) == (store == "redis"), names
    assert "postgres" in names
    assert serve.returncode == 130
    assert "interrupted" in stderr
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in started):
        assert time.monotonic() < deadline, "processes left behind"
        time.sleep(0.1)


@pytest.mark.parametrize("kind", ["session", "jwt_auth"])
@pytest.mark.parametrize("runtime", ["fastapi", "node"])
def test_serve_walks_through_on_every_runtime(runtime, kind):
    """make serve SERVER=... RUNTIME=...: login, /me, logout, /me gives 200, 200, 204 and then 401
    for a session (deleted) and 200 for a JWT (nothing stored)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    argv = [
        sys.executable,
        "-m",
        "bench",
        "serve",
        "--server",
        kind,
        "--port",
        str(port),
        "--runtime",
        runtime,
    ]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as serve:
        _, started, _ = _drive(serve, port, after_logout=401 if kind == "session" else 200)
    assert serve.returncode == 130
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in started):
        assert time.monotonic() < deadline, "processes left behind"
        time.sleep(0.1)


def _drive(
    serve: subprocess.Popen,
    port: int,
    after_logout: int = 401,
    host: str = "127.0.0.1",
    meanwhile=lambda: None,
) -> tuple[str, list[int], set[str]]:
    """Wait for the ready message, use the server, then Ctrl-C.

    Returns what went to stderr, and the processes running under `bench serve` and their names.
    """
    started: list[int] = []
    names: set[str] = set()
    try:
        lines = []
        while not lines or "Ctrl-C stops" not in lines[-1]:
            line = serve.stdout.readline()
            assert line, f"serve ended early: {serve.stderr.read()}"
            lines.append(line)
        assert f"ready at http://{host}:{port}" in "".join(lines)
        assert any("curl" in line and "/logout" in line for line in lines)

        class Server:
            url = f"http://{host}:{port}"

        token = login(Server)
        assert call(Server.url, "GET", "/me", bearer(token)).status == 200
        started = tree(serve.pid)
        names = {command_name(pid) for pid in started}
        assert call(Server.url, "POST", "/logout", bearer(token)).status == 204
        assert call(Server.url, "GET", "/me", bearer(token)).status == after_logout
        assert len(started) >= 3  # bench serve, the server, postgres (and its backends)
        meanwhile()
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(30)
    return serve.stderr.read(), started, names


def test_serve_on_another_address_passes_conform_there_and_nothing_is_on_127_0_0_1():
    """make serve SERVER=jwt_auth HOST=127.0.0.2 PORT=...: conform passes against
    http://127.0.0.2:PORT with nothing listening on 127.0.0.1 at that port."""
    port = free_port("127.0.0.2")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["AUTHBENCH_JWT_SECRET"] = secret = "a-secret-for-the-serve-test-0123456789abcdef"
    url = f"http://127.0.0.2:{port}"
    conformed = []

    def conform() -> None:
        assert "connection refused" in request(port, "GET", "/healthz").failure  # 127.0.0.1
        argv = [sys.executable, "-m", "bench", "conform", url, "--kind", "jwt", "--secret", secret]
        conformed.append(subprocess.run(argv, capture_output=True, text=True, timeout=180))

    argv = [sys.executable, "-m", "bench", "serve", "--server", "jwt_auth", "--host", "127.0.0.2"]
    with subprocess.Popen(
        [*argv, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as serve:
        _drive(serve, port, after_logout=200, host="127.0.0.2", meanwhile=conform)
    assert serve.returncode == 130
    done = conformed[0]
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith(" passed, 0 failed, 0 skipped")
