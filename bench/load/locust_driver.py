"""Driving a server with Locust: one way to start it, wait for it, stop it and read its results.

Used by the runner's cells and by the experiments alike (so neither imports the other):
`LocustRun` runs Locust headless as a subprocess (optionally pinned to the load generator's
cores) and reads what the authbench recorder wrote on the way out. (A server's answers are
checked before any load by bench.system.server_process.verify.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.load.arrivals import DEFAULT_ARRIVALS
from bench.load.load_plan import PLAN_ENV, WORKERS_FILE, LoadPlan
from bench.load.recorder import Recorder
from bench.load.remote_workers import (
    RemoteWorkers,
    RemoteWorkersError,
    check_workers,
    gave_up,
    read_workers,
    refusals,
    remote_cpu,
    taking_part,
)
from bench.system.pinning import preexec
from bench.system.ports import free_port
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
        # The implicit master would listen on every interface at 5557: loopback, a free port.
        port = str(free_port())
        argv += ["--processes", str(workers), "--master-bind-host", "127.0.0.1"]
        argv += ["--master-bind-port", port, "--master-port", port]
    return argv


def master_options(remote: RemoteWorkers, expected: int) -> list[str]:
    """A master waiting for `expected` worker processes (local and remote) at the bind address,
    for at most the remote workers' wait; it cannot be combined with --processes."""
    return [
        "--master",
        "--master-bind-host",
        remote.host,
        "--master-bind-port",
        str(remote.port),
        "--expect-workers",
        str(expected),
        "--expect-workers-max-wait",
        str(remote.wait_s),
    ]


def worker_argv(host: str, port: int, processes: int) -> list[str]:
    """Locust worker process(es) of the installed locustfile, connecting to a master."""
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker"]
    argv += ["--master-host", host, "--master-port", str(port), "--loglevel", "WARNING"]
    return argv + (["--processes", str(processes)] if processes > 1 else [])


class LocustRun:
    """Locust headless as a subprocess, its output in `out_dir`; `kill` in `finally`.

    With `remote` workers, the subprocess is a master bound where they connect, and local
    workers (if any) are a second subprocess connecting to it."""

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
        tokens: dict[str, list[str]] | None = None,
        popularity: float = 1.0,
        arm_tokens: dict[str, list[str]] | None = None,
        remote: RemoteWorkers | None = None,
        cell: str = "",
        run_ends: bool = False,
    ):
        self.out_dir, self.remote = out_dir, remote
        self.output, self.ready = out_dir / "latency.json", out_dir / "locust.ready"
        self.log_path = out_dir / "locust.log"
        self.expected = workers + remote.count if remote else max(1, workers)
        self.plan = LoadPlan(
            rate=rate or 0.0,
            arrivals=arrivals,
            processes=self.expected,
            seeded_users=seeded_users,
            path=path,
            arms=arms or {},
            seed=seed,
            tokens=tokens or {},
            popularity=popularity,
            arm_tokens=arm_tokens or {},
            cell=cell or out_dir.name,
            run_ends=run_ends,
        )
        for stale in (self.log_path, out_dir / WORKERS_FILE):
            stale.unlink(missing_ok=True)
        argv = locust_argv(url, out_dir, users, 0 if remote else workers, run_time_s)
        if remote:
            argv += master_options(remote, self.expected)
        env = self._environment()
        try:
            self.process = spawn_logged(argv, self.log_path, env=env, preexec_fn=preexec(cpus))
        except BaseException:
            self.plan_file.unlink(missing_ok=True)
            raise
        self.local_workers = None
        if remote and workers:
            self.local_workers = spawn_logged(
                worker_argv(remote.host, remote.port, workers),
                out_dir / "locust-workers.log",
                env=env,
                preexec_fn=preexec(cpus),
            )
        self.seen_pids: set[int] = set()

    def _environment(self) -> dict[str, str]:
        """Locust's environment: where its plan is (a private temporary file, since the plan
        holds tokens: never in the run folder; `kill` deletes it), where its results go."""
        self.plan_file = self.plan.write_private()
        return {
            **os.environ,
            PLAN_ENV: str(self.plan_file),
            "AUTHBENCH_OUTPUT": str(self.output),
            "AUTHBENCH_READY_FILE": str(self.ready),
        }

    def pids(self) -> list[int]:
        found = tree(self.process.pid)
        if self.local_workers is not None:
            found += tree(self.local_workers.pid)
        self.seen_pids.update(found)
        return found

    def log(self) -> str:
        return tail(self.log_path)

    def wait_ready(self) -> None:
        wait = self.remote.wait_s if self.remote else 0
        deadline = time.monotonic() + LOCUST_READY_TIMEOUT_S + wait
        while not self.ready.exists():
            if self.process.poll() is not None:
                raise self._failed_at_start()
            if time.monotonic() > deadline:
                raise CellFailed("Locust did not spawn its users in time", self.log())
            time.sleep(0.05)

    def _failed_at_start(self) -> CellFailed:
        if self.remote is None:
            return CellFailed(
                f"Locust exited at start-up with code {self.process.returncode}", self.log()
            )
        record, log = read_workers(self.out_dir), self.log()
        if "Gave up waiting for workers" in log:
            return CellFailed(gave_up(self.remote, self.expected, record))  # one line, no log
        if "Address already in use" in log:
            return CellFailed(self.remote.unbindable("Address already in use"))
        return CellFailed(
            f"Locust's master exited at start-up with code {self.process.returncode}"
            f"{refusals(record)}",
            self.log(),
        )

    def sleep_until(self, deadline: float) -> None:
        while (left := deadline - time.time()) > 0:
            if self.process.poll() is not None:
                raise CellFailed(
                    f"Locust exited early with code {self.process.returncode}"
                    f"{refusals(read_workers(self.out_dir)) if self.remote else ''}",
                    self.log(),
                )
            time.sleep(min(left, 0.05))

    def finish(self) -> tuple[Recorder, dict[str, Any]]:
        """SIGTERM (Locust writes its results on the way out), then read what it recorded."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(LOCUST_STOP_TIMEOUT_S)
            if self.local_workers is not None:  # told to quit by the master
                self.local_workers.wait(LOCUST_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CellFailed(
                f"Locust did not stop within {LOCUST_STOP_TIMEOUT_S:.0f} s", self.log()
            ) from None
        if not self.output.exists():
            raise CellFailed("Locust wrote no latency file", self.log())
        data = json.loads(self.output.read_text())
        return Recorder.from_encoded(data), data

    def workers_cpu(self, data: dict[str, Any], start: int, end: int) -> dict[str, float]:
        """In distributed mode, replaces `data["workers"]` by the cell's record of them. With
        remote workers, first checks that every expected worker took part and reported after
        the window; returns the CPU seconds in the window of the workers the harness cannot read
        in /proc, by 'host:pid' ({} when every load-generating process is its own)."""
        if "workers" not in data:
            return {}
        record, cpu = data["workers"], {}
        if self.remote is not None:
            problem = check_workers(record, end)
            try:
                cpu = remote_cpu(record, self.seen_pids, start, end) if problem is None else {}
            except RemoteWorkersError as exc:
                problem = str(exc)
            if problem is not None:
                raise CellFailed(problem, self.log())
        data["workers"] = taking_part(record, self.seen_pids, cpu)
        return cpu

    def kill(self) -> None:
        """Every Locust process of the cell stopped, and the plan's file (its tokens) gone."""
        self.plan_file.unlink(missing_ok=True)
        for process in (self.process, self.local_workers):
            if process is None or process.poll() is not None:
                continue
            if self.remote is not None:  # a master told to stop tells its workers to quit
                signal_tree(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(5)
            if process.poll() is None:
                signal_tree(process.pid, signal.SIGKILL)
                process.wait(10)
