"""A server under test as a child process: started with its log kept, waited for until it
answers, its answers checked before any load (`verify`), always stopped (with its workers).

Used by the runner, `make serve`, `make watch` and the tests alike, so that there is one way to
start a server, wait until it answers, and make sure nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.system.http_client import Endpoint, Reply, request
from bench.system.pinning import preexec
from bench.system.ports import free_port
from bench.system.processes import spawn_logged, tail, tree
from bench.system.server_launch import server_argv
from servers.store import SEED_PASSWORD, seed_username

READY_TIMEOUT_S = 20.0


class ServerFailed(RuntimeError):
    """The server did not start or answered wrongly; `log` holds what it printed."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log

    def __str__(self) -> str:
        if not self.log:
            return self.args[0]
        return f"{self.args[0]}; its log ends:\n{self.log}"


@dataclass
class ServerProcess:
    """`python -m servers NAME` on host:port (127.0.0.1 unless told), its output in a log file."""

    name: str
    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    cpus: tuple[int, ...] | None = None  # pinned to these cores (None: wherever it runs)
    runtime: str = "python"  # python, fastapi or node (bench.system.server_launch)
    command: tuple[str, ...] | None = None  # a server of the contract's own command line
    host: str = "127.0.0.1"  # the address it listens on
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint.local(self.port, self.host)

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def pids(self) -> list[int]:
        """The server and its workers."""
        return tree(self.process.pid) if self.process else []

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> ServerProcess:
        if self.log_path is None:
            handle, path = tempfile.mkstemp(prefix=f"authbench-{self.name}-", suffix=".log")
            os.close(handle)
            self.log_path = Path(path)
        argv = server_argv(
            self.runtime, self.name, self.port, self.workers, self.command, host=self.host
        )
        self.process = spawn_logged(
            argv, self.log_path, env={**os.environ, **self.env}, preexec_fn=preexec(self.cpus)
        )
        try:
            self.wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.name} server exited with code {self.process.returncode} at start-up",
                    self.log(),
                )
            if request(self.endpoint, "GET", "/healthz", timeout=1).status == 200:
                return
            time.sleep(0.05)
        raise ServerFailed(f"{self.name} server not ready after {timeout_s:.0f} s", self.log())

    def log(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def terminate(self) -> None:
        """SIGTERM: uvicorn stops accepting, lets in-flight requests finish, closes the pool."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL of the whole process group if it does not exit in time."""
        if self.process is None:
            return None
        self.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        # Workers of a multi-worker server share the group: make sure none outlived it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self.start() if self.process is None else self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def verify(server: ServerProcess, needs_auth: bool, path: str = "/me") -> None:
    """Before any load: the server answers login, /me and a missing token as it should."""
    login = request(
        server.endpoint,
        "POST",
        "/login",
        body={"username": seed_username(1), "password": SEED_PASSWORD},
    )
    if login.status != 200:
        what = f"POST /login gave {login.status or login.failure}: {login.body[:200]!r}"
    else:
        what = answer_problem(server.endpoint, login.json()["token"], needs_auth, path)
    if what:
        raise ServerFailed(f"{server.name} answered wrongly: {what}", server.log())


def answer_problem(
    endpoint: Endpoint, token: str, needs_auth: bool, path: str = "/me", timing: bool = True
) -> str | None:
    """What a server at `endpoint` answered wrongly with a fresh `token`, in a few words; None
    when /me (and `path`) answered as the contract says, with Server-Timing unless `timing` is
    False (a deployment of one's own may not send it), and `path` without a token was refused
    with a Bearer challenge when the server has auth (`needs_auth`)."""
    me = request(endpoint, "GET", "/me", token=token)
    if me.status != 200 or "user_id" not in _fields(me):
        return f"GET /me with a fresh token gave {me.status or me.failure}: {me.body[:200]!r}"
    if timing and not me.headers.get("server-timing", "").startswith("auth;dur="):
        return "GET /me has no Server-Timing: auth;dur=... header"
    if path == "/profile":
        profile = request(endpoint, "GET", path, token=token)
        if profile.status != 200 or "orders" not in _fields(profile):
            return f"GET /profile gave {profile.status or profile.failure}: {profile.body[:200]!r}"
    if needs_auth:
        anonymous = request(endpoint, "GET", path)
        if anonymous.status != 401 or not (anonymous.challenge or "").startswith("Bearer"):
            return (
                f"GET {path} without a token gave {anonymous.status or anonymous.failure}, "
                "not 401 with a Bearer challenge"
            )
    return None


def _fields(reply: Reply) -> dict:
    """An answer's JSON object, or {} for anything else."""
    try:
        found = reply.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def server_env(
    pg, kv, settings: dict[str, str], uses_redis: bool = False, label: str = "the server"
) -> dict[str, str]:
    """The environment of a server: PostgreSQL's URL, the Redis store's URL when the server keeps
    its sessions there (`uses_redis`), then the server's own settings."""
    env = {"DATABASE_URL": pg.url}
    if uses_redis:
        if kv is None:
            raise RuntimeError(f"{label} keeps sessions in Redis, but no store was started")
        env["REDIS_URL"] = kv.url
    return {**env, **settings}
