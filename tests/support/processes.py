"""Processes seen from the tests: whether one is still running, its name, and the argument list
of a `python -m bench` command run the way a user runs it."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its parent."""
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


def bench_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench", *args]


def left_running(before: set[int], ours: Callable[[], set[int]]) -> list[int]:
    """The processes `ours()` gives now that were not in `before` and are still alive, once any
    that are ending have had 10 s to go."""
    deadline = time.monotonic() + 10
    while (left := [pid for pid in ours() - before if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
