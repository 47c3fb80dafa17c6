"""Pinned cores: the load generator on its own core(s), servers and PostgreSQL on the rest.

On a small machine the load generator and the servers fight for the same cores, and which one
the scheduler favours in a given second is noise that lands on whichever server is measured
then. With the cores split, the load generator's work no longer steals the servers' time (and
the other way round). The layout is recorded in run.json; `--no-pin` turns it off.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CoreLayout:
    load_generator: tuple[int, ...]
    servers: tuple[int, ...]  # servers, PostgreSQL and the delay proxy

    def as_dict(self) -> dict[str, list[int]]:
        return {key: list(value) for key, value in asdict(self).items()}


CAN_PIN = hasattr(os, "sched_setaffinity")  # Linux; macOS has no core affinity to set


def available_cores() -> list[int]:
    if not CAN_PIN:
        return list(range(os.cpu_count() or 1))
    return sorted(os.sched_getaffinity(0))


def plan_layout(
    cores: Iterable[int] | None = None, load_generator_processes: int = 1
) -> CoreLayout | None:
    """The first core(s) for the load generator, the rest for the system under test.

    One core per load generator process, always leaving at least one for the servers; None on
    a single core, where there is nothing to split.
    """
    if not CAN_PIN:
        return None
    cores = sorted(cores if cores is not None else available_cores())
    if len(cores) < 2:
        return None
    take = min(max(1, load_generator_processes), len(cores) - 1)
    return CoreLayout(tuple(cores[:take]), tuple(cores[take:]))


def pin(pids: Iterable[int], cores: Iterable[int]) -> None:
    """Every thread of every process in `pids` onto `cores`; processes gone meanwhile are skipped.

    Children forked afterwards (PostgreSQL backends, uvicorn workers) inherit the mask.
    """
    if not CAN_PIN:
        return
    mask = set(cores)
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task), mask)


def preexec(cores: Iterable[int] | None) -> Callable[[], None] | None:
    """A Popen preexec_fn that pins the child before it execs (None: no pinning)."""
    if cores is None or not CAN_PIN:
        return None
    mask = set(cores)
    return lambda: os.sched_setaffinity(0, mask)


def affinity(generator: int, server: int, database: list[int]) -> dict[str, list[int] | None]:
    """The cores each kind of process may run on, read back from the live processes."""

    def cores(pid: int | None) -> list[int] | None:
        try:
            return sorted(os.sched_getaffinity(pid)) if pid else None
        except (OSError, AttributeError):
            return None

    return {
        "load_generator": cores(generator),
        "servers": cores(server),
        "postgres": cores(database[0] if database else None),
    }
