"""Running the independent open-loop client (bench.load.open_loop) for one measured window.

The client is a process of its own on the load generator's cores: it opens its connections,
waits for `begin`, sends at the arrival stream's intended starts until a little after the
window, then waits for the answers still due (for a bounded time) and writes what it recorded
in the recorder's format. Its CPU is sampled at both ends of the window with the process groups
the caller names (the servers', their stores'), as a Locust cell's is. Used by `bench xcheck`
and by the load curve's blocks.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load.locust_driver import CellFailed
from bench.system.cpu_accounting import sample, used
from bench.system.pinning import preexec
from bench.system.processes import spawn_logged, tail

STARTUP_S = 1.0  # for Python to start and the client to open its connections
TAIL_S = 0.2  # it keeps sending past the window, so the window's last requests see the same load
DRAIN_S = 2.0  # then it waits this long at most for the answers still due
EXIT_S = 15.0  # and writes its file: a bound on everything after the drain


@dataclass(frozen=True)
class Target:
    """One arm the client sends to: its label, port, path (under its URL's prefix), the tokens
    it uses in turn, and its host (plain HTTP only: a curve with an https server is Locust's)."""

    label: str
    port: int
    path: str
    tokens: list[str]
    host: str = "127.0.0.1"


Groups = Callable[[list[int]], dict[str, list[int]]]  # the client's pids -> every group's


def run_independent(
    cell_dir: Path,
    targets: list[Target],
    rate: float,
    arrivals: str,
    seed: int,
    warmup_s: float,
    duration_s: int,
    cores: tuple[int, ...] | None,
    groups: Groups = lambda pids: {"load_generator": pids},
    max_connections: int | None = None,
) -> tuple[int, int, dict[str, dict[int, float]], dict[str, Any]]:
    """One window of whole seconds: (start, end, CPU by group and pid, what the client wrote:
    {"arms": {label: recorder}, "arrivals": ..., ...})."""
    begin = time.time() + STARTUP_S
    start = math.ceil(begin + warmup_s)
    end = start + duration_s
    config = {
        "arms": [vars(target) for target in targets],
        "rate": rate,
        "arrivals": arrivals,
        "seed": seed,
        "begin": begin,
        "until": end + TAIL_S,
        "drain_s": DRAIN_S,
        "output": str(cell_dir / "latency.json"),
    }
    if max_connections is not None:
        config["max_connections_per_arm"] = max_connections
    name = _private(config)
    log = cell_dir / "client.log"
    try:
        process = spawn_logged(
            [sys.executable, "-m", "bench.load.open_loop", name], log, preexec_fn=preexec(cores)
        )
    except BaseException:
        os.unlink(name)
        raise
    try:
        _sleep_until(start, process, log)
        before = sample(groups([process.pid]))
        _sleep_until(end, process, log)
        after = sample(groups([process.pid]))
        process.wait(max(1.0, end + TAIL_S + DRAIN_S + EXIT_S - time.time()))
    except subprocess.TimeoutExpired:
        raise CellFailed("the independent client did not finish in time", tail(log)) from None
    finally:
        os.unlink(name)
        if process.poll() is None:
            process.kill()
            process.wait(5)
    if process.returncode != 0:
        raise CellFailed(f"the independent client exited with {process.returncode}", tail(log))
    return start, end, used(before, after), json.loads((cell_dir / "latency.json").read_text())


def _private(config: dict[str, Any]) -> str:
    """The client's config in a file of the system's temporary folder, readable by this user
    only: it holds the arms' tokens (an external arm's are a deployment's own), which stay out
    of the run folder. Deleted once the client has exited."""
    handle, name = tempfile.mkstemp(prefix="authbench-open-loop-", suffix=".json")
    with os.fdopen(handle, "w") as file:
        file.write(json.dumps(config))
    return name


def _sleep_until(deadline: float, process: subprocess.Popen, log: Path) -> None:
    while (left := deadline - time.time()) > 0:
        if process.poll() is not None:
            raise CellFailed(
                f"the independent client exited early with {process.returncode}", tail(log)
            )
        time.sleep(min(left, 0.02))
