"""`make serve` (python -m bench serve): ready message, a working walk-through, clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.system.ports import free_port
from bench.system.processes import tree
from tests.client import bearer, call
from tests.conftest import login


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


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
    serve: subprocess.Popen, port: int, after_logout: int = 401
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
        assert f"ready at http://127.0.0.1:{port}" in "".join(lines)
        assert any("curl" in line and "/logout" in line for line in lines)

        class Server:
            url = f"http://127.0.0.1:{port}"

        token = login(Server)
        assert call(Server.url, "GET", "/me", bearer(token)).status == 200
        started = tree(serve.pid)
        names = {command_name(pid) for pid in started}
        assert call(Server.url, "POST", "/logout", bearer(token)).status == 204
        assert call(Server.url, "GET", "/me", bearer(token)).status == after_logout
        assert len(started) >= 3  # bench serve, the server, postgres (and its backends)
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(30)
    return serve.stderr.read(), started, names
