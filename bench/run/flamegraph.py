"""Where a server's time goes, as a picture: py-spy samples it under closed-loop Locust load.

`python -m bench flamegraph --server jwt_auth` starts PostgreSQL and the server, drives it with
Locust (on its own core when there are two), and records the server with py-spy twice: once as
a flame graph (SVG) and once as raw collapsed stacks, from which it writes the functions where
most samples ended (self time) as a short table. Everything lands in results/<stamp>-flamegraph-NAME/.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import results
from bench.load.locust_driver import LocustRun
from bench.system.datastores import stores
from bench.system.pinning import plan_layout
from bench.system.server_process import ServerFailed, ServerProcess, server_env

SEEDED_USERS = 1_000
USERS = 16
TOP = 15


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise ServerFailed("py-spy is not installed: make setup installs it (the dev extra)")
    return found


def top_functions(raw: str, top: int = TOP) -> list[dict[str, object]]:
    """From py-spy's raw collapsed stacks ("frame;frame;... count"): where samples ended."""
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        own[stack.split(";")[-1].strip()] += int(count)
    return [
        {"function": frame, "samples": n, "share": round(n / total, 4)}
        for frame, n in own.most_common(top)
    ]


def format_top(rows: list[dict[str, object]]) -> str:
    lines = [f"{'self':>6}  function (file:line)"]
    lines += [f"{row['share']:>6.1%}  {row['function']}" for row in rows]
    return "\n".join(lines)


def record(pid: int, seconds: int, fmt: str, target: Path) -> None:
    argv = [
        py_spy(), "record",
        "--pid",      str(pid),
        "--duration", str(seconds),
        "--rate",     "200",
        "--format",   fmt,
        "--output",   str(target),
        "--nonblocking",
    ]  # fmt: skip  # a table: one option and its value per row
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0 or not target.exists():
        said = (done.stderr or done.stdout).strip().splitlines()
        raise ServerFailed(
            f"py-spy could not sample the server: {said[-1] if said else 'no output'}"
        )


def flamegraph(
    server: str,
    seconds: int,
    root: Path,
    out: Callable[[str], None] = print,
    load_generator: bool = False,
    rate: float | None = None,
) -> Path:
    """Sample one server under load, or (`load_generator`) the Locust process driving it, at
    a fixed `rate` or closed loop; returns the folder holding flamegraph.svg and top.txt."""
    who = "locust" if load_generator else server
    run_dir = results.new_run_dir(root, f"flamegraph-{who}")
    layout = plan_layout()
    cpus = layout.servers if layout else None
    with stores(users=SEEDED_USERS, cores=cpus) as up:
        env = server_env(up.pg, None, {})
        log = run_dir / "server.log"
        with ServerProcess(server, env, log_path=log, cpus=cpus) as proc:
            locust = LocustRun(
                proc.url,
                run_dir,
                USERS,
                rate,
                SEEDED_USERS,
                0,
                seconds * 2 + 90,
                cpus=layout.load_generator if layout else None,
            )
            try:
                locust.wait_ready()
                time.sleep(2)  # warm-up
                pid = locust.process.pid if load_generator else proc.pid
                out(f"sampling {who} (pid {pid}) for {seconds} s: flame graph ...")
                svg = run_dir / "flamegraph.svg"
                record(pid, seconds, "flamegraph", svg)
                out(f"sampling {who} for {seconds} s more: self time per function ...")
                raw = run_dir / "stacks.txt"
                record(pid, seconds, "raw", raw)
            finally:
                locust.kill()
    rows = top_functions(raw.read_text())
    (run_dir / "top.txt").write_text(format_top(rows) + "\n")
    results.write_json(
        run_dir / "top.json", {"server": who, "seconds": seconds, "top": rows, "rate": rate}
    )
    out(format_top(rows[:10]))
    return run_dir
