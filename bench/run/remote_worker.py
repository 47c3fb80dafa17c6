"""`python -m bench worker --master ADDR[:PORT]`: Locust workers on this host for a run whose
harness (and Locust master) is elsewhere.

A run has many cells, and each cell starts its own Locust master on the same address; a Locust
worker exits when its master quits. So this command follows the run: it starts Locust's
`--worker` with the installed locustfile, prints what the worker does (connected, which cell,
how many requests), and when the worker process exits at the end of a cell, starts a new one
that connects to the next cell's master. It stops when the master said the cell was the run's
last (`run_ends` in the load plan), or when no master comes within `--wait` seconds: exit 0 with
a one-line summary once it has served a cell, a one-line error otherwise, and a one-line error
when a master refuses it (different versions).

A new worker can reach the previous cell's master in the half second it lingers: every master
has an id, and an answer from one already served means "too early"; the worker starts again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.load.load_plan import STATUS_ENV
from bench.load.locust_driver import worker_argv
from bench.load.remote_workers import RemoteWorkersError, parse_address
from bench.system.processes import signal_tree, spawn_logged, tail

ANSWER_TIMEOUT_S = 15.0  # connected but no answer: a master on its way out, start again
POLL_S = 0.1

Output = Callable[[str], None]


@dataclass
class Attempt:
    """One Locust worker process (tree) and what its status lines said."""

    process: subprocess.Popen
    status: Path
    log: Path
    started: float = field(default_factory=time.monotonic)
    read: int = 0
    connected_at: float | None = None
    master: str | None = None
    accepted: bool = False
    run_ends: bool = False
    requests: int = 0
    stale: bool = False

    def events(self) -> list[dict]:
        """The status lines written since the last call."""
        try:
            with open(self.status) as lines:
                lines.seek(self.read)
                text = lines.read()
        except OSError:
            return []
        whole = text[: text.rfind("\n") + 1]
        self.read += len(whole.encode())
        return [json.loads(line) for line in whole.splitlines() if line]

    def stop(self) -> None:
        if self.process.poll() is None:
            signal_tree(self.process.pid, signal.SIGTERM)  # a worker says goodbye to its master
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                signal_tree(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


@dataclass
class Follower:
    """Follows a run's masters at one address, one cell at a time."""

    host: str
    port: int
    processes: int
    wait_s: float
    out: Output
    folder: Path
    served: set[str] = field(default_factory=set)  # masters whose cell this host ran
    turned_away: set[str] = field(default_factory=set)  # masters that had their workers already
    cells: int = 0
    requests: int = 0

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> Attempt:
        status, log = self.folder / "status.jsonl", self.folder / "locust-worker.log"
        status.write_text("")
        env = {**os.environ, STATUS_ENV: str(status)}
        argv = worker_argv(self.host, self.port, self.processes)
        return Attempt(spawn_logged(argv, log, env=env), status, log)

    def follow(self) -> int:
        """Cell after cell until the run ends or no master comes; returns the exit code."""
        deadline = time.monotonic() + self.wait_s
        while True:
            attempt = self.start()
            try:
                self.attend(attempt, deadline)
            finally:
                attempt.stop()
            if attempt.stale or not attempt.accepted:
                if time.monotonic() > deadline:
                    return self.gone()
                time.sleep(0.5)
                continue
            self.cells += 1
            self.requests += attempt.requests
            self.served.add(attempt.master)
            self.out(f"cell ended: {attempt.requests:,} requests sent from this host")
            if attempt.run_ends:
                self.out(f"run over: {self.summary()}")
                return 0
            deadline = time.monotonic() + self.wait_s

    def attend(self, attempt: Attempt, deadline: float) -> None:
        """Until the worker process exits, or must be stopped: a stale master, no answer, or
        no master before the deadline."""
        while attempt.process.poll() is None:
            for event in attempt.events():
                self.note(attempt, event)
            if attempt.stale:
                return
            now = time.monotonic()
            if attempt.connected_at is None and now > deadline:
                return
            waited = now - (attempt.connected_at or now)
            if attempt.master is None and waited > ANSWER_TIMEOUT_S:
                return
            time.sleep(POLL_S)
        for event in attempt.events():
            self.note(attempt, event)
        if not attempt.connected_at and time.monotonic() - attempt.started < 5:
            raise RemoteWorkersError(
                f"the Locust worker exited with code {attempt.process.returncode} at start-up:\n"
                + tail(attempt.log, 15)
            )

    def note(self, attempt: Attempt, event: dict) -> None:
        """One status line of one worker process: print it, and follow what it means."""
        kind, pid = event["event"], event["pid"]
        if kind == "connected":
            attempt.connected_at = attempt.connected_at or time.monotonic()
            if not self.cells:
                self.out(
                    f"worker {pid}: connected to {self.address} as Locust worker {event['index']}"
                )
        elif "master" in event and event["master"] in self.served:
            attempt.stale = True  # the previous cell's master, on its way out
        elif kind == "refused" and not event["retry"]:
            raise RemoteWorkersError(f"the master at {self.address} refused: {event['reason']}")
        elif kind == "refused":
            attempt.master = event["master"]
            if attempt.master not in self.turned_away:
                self.turned_away.add(attempt.master)
                self.out(f"worker {pid}: not taken ({event['reason']}); waiting for the next cell")
        elif kind == "plan":
            attempt.master, attempt.accepted = event["master"], True
            attempt.run_ends = attempt.run_ends or event["run_ends"]
            self.out(
                f"worker {pid}: cell {event['cell']} started, load share {event['share'] + 1} "
                f"of {event['of']}" + ("  (the run's last cell)" if event["run_ends"] else "")
            )
        elif kind == "quit":
            attempt.requests += event.get("requests", 0)

    def gone(self) -> int:
        if not self.cells:
            raise RemoteWorkersError(f"no master at {self.address} within {self.wait_s:.0f} s")
        self.out(f"the master did not come back within {self.wait_s:.0f} s: {self.summary()}")
        return 0

    def summary(self) -> str:
        return f"{self.cells} cells, {self.requests:,} requests sent from this host; exiting"


def serve_master(master: str, processes: int, wait_s: float, out: Output = print) -> int:
    """`python -m bench worker`: follow the run at `master`; returns the exit code."""
    host, port = parse_address(master, "--master")
    if processes < 1 or wait_s <= 0:
        raise RemoteWorkersError("--processes must be 1 or more and --wait more than 0")
    plural = "es" if processes > 1 else ""
    out(
        f"connecting to the master at {host}:{port} with {processes} Locust worker "
        f"process{plural} (waiting up to {wait_s:.0f} s for each cell's master) ..."
    )
    with tempfile.TemporaryDirectory(prefix="authbench-worker-") as folder:
        follower = Follower(host, port, processes, wait_s, out, Path(folder))
        return follower.follow()
