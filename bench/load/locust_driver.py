"""Driving a server with Locust: one way to start it, wait for it, stop it and read its results.

Used by the runner's cells and by the experiments alike (so neither imports the other):
`LocustRun` runs Locust headless as a subprocess (optionally pinned to the load generator's
cores) and reads what the authbench recorder wrote on the way out. (A server's answers are
checked before any load by bench.system.server_process.verify.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.load.arrivals import DEFAULT_ARRIVALS
from bench.load.recorder import Recorder
from bench.system.pinning import preexec
from bench.system.processes import signal_tree, spawn_logged, tail, tree
from bench.system.server_process import ServerFailed

LOCUSTFILE = Path(__file__).with_name("locust_user.py")
LOCUST_READY_TIMEOUT_S = 60.0
LOCUST_STOP_TIMEOUT_S = 30.0


class CellFailed(ServerFailed):
    """A cell that could not be measured; `log` holds the server's or Locust's output."""


def locust_argv(url: str, out_dir: Path, users: int, workers: int, run_time_s: int) -> list[str]:
    """Locust's command line: the authbench locustfile headless against `url`, every user
    spawned at once, only the summary CSV, stopped after `run_time_s`, in `workers` processes."""
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "--host",
        url,
        "--csv",
        str(out_dir / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "0",
        "--run-time",
        f"{run_time_s}s",
        "--exit-code-on-error",
        "0",
    ]
    if workers:
        argv += ["--processes", str(workers)]
    return argv


class LocustRun:
    """Locust headless as a subprocess, its output in `out_dir`; `kill` in `finally`."""

    def __init__(
        self,
        url: str,
        out_dir: Path,
        users: int,
        rate: float | None,
        seeded_users: int,
        workers: int,
        run_time_s: int,
        arms: dict[str, list[str]] | None = None,
        seed: int = 0,
        path: str = "/me",
        cpus: tuple[int, ...] | None = None,
        arrivals: str = DEFAULT_ARRIVALS,
        tokens_file: Path | None = None,
        popularity: float = 1.0,
    ):
        self.output, self.ready = out_dir / "latency.json", out_dir / "locust.ready"
        self.log_path = out_dir / "locust.log"
        env = {
            **os.environ,
            "AUTHBENCH_OUTPUT": str(self.output),
            "AUTHBENCH_READY_FILE": str(self.ready),
            "AUTHBENCH_RATE": str(rate or 0),
            "AUTHBENCH_ARRIVALS": arrivals,
            "AUTHBENCH_PROCESSES": str(max(1, workers)),
            "AUTHBENCH_SEEDED_USERS": str(seeded_users),
            "AUTHBENCH_ARMS": json.dumps(arms or {}),
            "AUTHBENCH_PATH": path,
            "AUTHBENCH_SEED": str(seed),
            "AUTHBENCH_TOKENS": str(tokens_file or ""),
            "AUTHBENCH_POPULARITY": str(popularity),
        }
        argv = locust_argv(url, out_dir, users, workers, run_time_s)
        self.log_path.unlink(missing_ok=True)
        self.process = spawn_logged(argv, self.log_path, env=env, preexec_fn=preexec(cpus))

    def pids(self) -> list[int]:
        return tree(self.process.pid)

    def log(self) -> str:
        return tail(self.log_path)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + LOCUST_READY_TIMEOUT_S
        while not self.ready.exists():
            if self.process.poll() is not None:
                raise CellFailed(
                    f"Locust exited at start-up with code {self.process.returncode}", self.log()
                )
            if time.monotonic() > deadline:
                raise CellFailed("Locust did not spawn its users in time", self.log())
            time.sleep(0.05)

    def sleep_until(self, deadline: float) -> None:
        while (left := deadline - time.time()) > 0:
            if self.process.poll() is not None:
                raise CellFailed(
                    f"Locust exited early with code {self.process.returncode}", self.log()
                )
            time.sleep(min(left, 0.05))

    def finish(self) -> tuple[Recorder, dict[str, Any]]:
        """SIGTERM (Locust writes its results on the way out), then read what it recorded."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(LOCUST_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CellFailed(
                f"Locust did not stop within {LOCUST_STOP_TIMEOUT_S:.0f} s", self.log()
            ) from None
        if not self.output.exists():
            raise CellFailed("Locust wrote no latency file", self.log())
        data = json.loads(self.output.read_text())
        return Recorder.from_encoded(data), data

    def kill(self) -> None:
        if self.process.poll() is None:
            signal_tree(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
