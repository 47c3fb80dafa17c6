"""CPU time per process group, from /proc, over a measured window.

Per request, CPU time is the figure that stays valid on a small machine where the load
generator itself is the bottleneck and req/s says more about the neighbours than the server.
We read /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU, per thread) and utime +
stime from /proc/<pid>/stat (clock ticks, usually 10 ms, exited threads included).

Not psutil (which finds the process trees, bench.system.processes): its cpu_times() is utime +
stime alone, in 10 ms ticks, and it has no schedstat reader. Measured 2026-12-02 (2 cores), one
process read both ways over windows of 0.2 to 3 s: the two agree on average (1,132.8 against
1,132.5 ms over 3 s, two busy threads), but one window's psutil figure is off by up to 12 ms,
per process. A cell charges a dozen processes (workers, PostgreSQL backends) over a window of
seconds, so ticks would blur CPU per request by a few per cent; schedstat does not.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by `pid`, all threads included; None if it is gone.

    schedstat is exact but per live thread: a thread that has exited takes its figure with it.
    utime + stime in /proc/<pid>/stat include exited threads (the kernel scales them to the
    exact runtime) but are truncated to clock ticks. The larger of the two is right either way.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    from_ticks = (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
    threads_ns = 0
    with contextlib.suppress(OSError):
        for task in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                threads_ns += int(Path(task.path, "schedstat").read_text().split()[0])
    return max(threads_ns / 1e9, from_ticks)


Sample = dict[str, dict[int, float]]


def sample(groups: dict[str, list[int]]) -> Sample:
    """CPU seconds so far of every process, by group (server, postgres, load_generator)."""
    taken: Sample = {}
    for group, pids in groups.items():
        taken[group] = {}
        for pid in pids:
            seconds = process_cpu_seconds(pid)
            if seconds is not None:
                taken[group][pid] = seconds
    return taken


def used(before: Sample, after: Sample) -> dict[str, dict[int, float]]:
    """CPU seconds each process used between two samples.

    A process born in between counts from zero; one that died in between is lost (the
    harness keeps its processes alive across the window, so this is rare and small).
    """
    return {
        group: {pid: seconds - before.get(group, {}).get(pid, 0.0) for pid, seconds in now.items()}
        for group, now in after.items()
    }
