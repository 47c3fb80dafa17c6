"""Processes the harness owns: started with their output in a log file, found as trees (a
server with its workers, PostgreSQL with its backends), signalled as trees.

PostgreSQL backends call setsid(), so a process group does not hold them: psutil walks parent
links. (Their CPU time is read by bench.system.cpu_accounting, more precisely than psutil can.)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import psutil


def children(pid: int) -> list[int]:
    """All descendants of `pid` ([] if it is gone)."""
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    return [pid, *children(pid)]


def signal_tree(pid: int, sig: int) -> None:
    """Send `sig` to `pid` and every descendant; processes that are gone are skipped."""
    for member in tree(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, sig)


def spawn_logged(argv: list[str], log_path: Path, **popen_kwargs) -> subprocess.Popen:
    """A process of ours (a server, PostgreSQL, Valkey), its output appended to `log_path`, in
    its own session, so that Ctrl-C reaches the harness, which stops it, and not the process.
    `popen_kwargs` go to Popen as they are (env, preexec_fn for pinning, user and group)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen_kwargs,
        )


def tail(path: Path | None, lines: int = 30) -> str:
    """The last lines of a log file ('' if there is none): what to show when a process failed."""
    if path is None:
        return ""
    with contextlib.suppress(OSError):
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    return ""
