"""Locust's master and its workers agreeing on a cell: the worker asks, the master answers.

Every worker, local or on another host, sends `authbench_hello` from its `init` listener (who it
is: host name, pid, versions, its CPU seconds so far) and waits for `authbench_plan`: the cell's
`LoadPlan`, the worker's share of the arrival stream, and the master's id. The worker asks
because a message the master pushed on connect can arrive before the worker has registered for
it (Locust fires `init` on a worker only after it has connected); users wait for the answer in
`on_start`, never in `test_start`, which runs in the greenlet that receives the answer.

The master refuses, in one line, a worker whose authbench, Locust or load code differs from its
own, and a worker beyond the cell's expected number (its share would repeat another's). It
hands out shares 0..K-1 itself, in the order hellos arrive, so a refused worker takes none.

It also records which workers took part: id, host, pid, Locust's index, share, versions, how
many reports and requests each sent, and each worker's own CPU seconds, sampled every whole
second and sent with its reports (a worker on another host is out of the harness's /proc).
The master keeps that record in `locust-workers.json` beside its results as workers arrive, so
that a cell that never started can still say who came; a worker started by `python -m bench
worker` appends what it does to the file named in `AUTHBENCH_WORKER_STATUS`, one JSON line per
event, for that command to print.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event

from bench.load.load_plan import STATUS_ENV, WORKERS_FILE, LoadPlan, mismatch, versions

HELLO, PLAN = "authbench_hello", "authbench_plan"
PLAN_WAIT_S = 30.0  # how long a user waits for the master's answer before giving up

log = logging.getLogger("authbench")


def cpu_sample() -> list[float]:
    """[wall-clock time, CPU seconds of this process so far] (every thread, user and system)."""
    return [time.time(), time.process_time()]


def requests_in(encoded: dict[str, Any]) -> int:
    """How many requests an encoded recorder (a worker's drained report) holds."""
    return sum(
        sum(second.get("statuses", {}).values()) for second in encoded.get("seconds", {}).values()
    )


class MasterSide:
    """The master's half: answers hellos, hands out shares, records the workers."""

    def __init__(self, environment, plan: LoadPlan, folder: Path | None):
        self.environment, self.plan, self.folder = environment, plan, folder
        self.id = uuid.uuid4().hex[:12]
        self.ours = versions()
        self.workers: dict[str, dict[str, Any]] = {}
        self.refused: list[dict[str, Any]] = []
        environment.runner.register_message(HELLO, self.on_hello)
        environment.events.worker_report.add_listener(self.on_report)

    def on_hello(self, environment, msg, **_) -> None:
        said, runner = msg.data, environment.runner
        who = {
            "id": msg.node_id,
            "host": said.get("host"),
            "pid": said.get("pid"),
            "index": runner.worker_indexes.get(msg.node_id),
            "versions": said.get("versions", {}),
        }
        reason, retry = mismatch(who["versions"], self.ours), False
        if reason is None and len(self.workers) >= self.plan.processes:
            reason, retry = (
                f"this cell has its {self.plan.processes} worker processes already",
                True,
            )
        if reason is not None:
            self.refused.append({**who, "reason": reason})
            answer = {"refused": reason, "retry": retry}
        else:
            share = len(self.workers)
            self.workers[msg.node_id] = {
                **who,
                "share": share,
                "reports": 0,
                "requests": 0,
                "cpu": [said["cpu"]] if said.get("cpu") else [],
            }
            answer = {"plan": self.plan.to_dict(), "share": share}
        runner.send_message(PLAN, {**answer, "master": self.id}, client_id=msg.node_id)
        self.save()

    def on_report(self, client_id, data, **_) -> None:
        worker = self.workers.get(client_id)
        if worker is None:
            return
        worker["reports"] += 1
        worker["requests"] += requests_in(data.get("authbench", {})) + sum(
            requests_in(arm) for arm in data.get("authbench_arms", {}).values()
        )
        worker["cpu"].extend(data.get("authbench_cpu", []))

    def record(self) -> dict[str, Any]:
        return {
            "master": self.id,
            "expected": self.plan.processes,
            "workers": sorted(self.workers.values(), key=lambda w: w["share"]),
            "refused": self.refused,
        }

    def save(self) -> None:
        if self.folder is not None:
            path = self.folder / WORKERS_FILE
            path.with_suffix(".tmp").write_text(json.dumps(self.record()))
            path.with_suffix(".tmp").replace(path)


class WorkerSide:
    """A worker's half: asks for the plan, waits for it, samples its own CPU for the reports."""

    def __init__(self, environment):
        self.environment = environment
        self.answered = Event()
        self.plan: LoadPlan | None = None
        self.share = 0
        self.requests = 0
        self.samples: list[list[float]] = []
        runner = environment.runner
        runner.register_message(PLAN, self.on_plan)
        status("connected", index=runner.worker_index)
        hello = {"host": socket.gethostname(), "pid": os.getpid(), "versions": versions()}
        runner.send_message(HELLO, {**hello, "cpu": cpu_sample()})
        gevent.spawn(self.sample_cpu)

    def on_plan(self, environment, msg, **_) -> None:
        answer = msg.data
        if "refused" in answer:
            status(
                "refused", master=answer["master"], reason=answer["refused"], retry=answer["retry"]
            )
            log.error("the master refused this worker: %s", answer["refused"])
            self.answered.set()
            gevent.spawn(environment.runner.quit)  # not from this greenlet: it receives messages
            return
        self.plan, self.share = LoadPlan.from_dict(answer["plan"]), answer["share"]
        status(
            "plan",
            master=answer["master"],
            cell=self.plan.cell,
            share=self.share,
            of=self.plan.processes,
            run_ends=self.plan.run_ends,
        )
        self.answered.set()

    def wait(self) -> LoadPlan | None:
        """The plan, once the master has answered (None if it refused, or never answered)."""
        if not self.answered.wait(PLAN_WAIT_S) and self.plan is None:
            log.error("no plan from the master within %.0f s", PLAN_WAIT_S)
        return self.plan

    def sample_cpu(self) -> None:
        while True:
            gevent.sleep(1.0 - time.time() % 1.0)  # at each whole second, as the harness's window
            self.samples.append(cpu_sample())

    def report(self, data: dict[str, Any]) -> None:
        """What goes with each report to the master: the CPU samples since the last one, and
        one taken now (so the final report covers the end of the measured window)."""
        data["authbench_cpu"], self.samples = [*self.samples, cpu_sample()], []
        self.requests += requests_in(data.get("authbench", {})) + sum(
            requests_in(arm) for arm in data.get("authbench_arms", {}).values()
        )

    def quit(self) -> None:
        status("quit", requests=self.requests)


def status(event: str, **details) -> None:
    """One line for `python -m bench worker` (only when it started this worker)."""
    path = os.environ.get(STATUS_ENV)
    if path:
        line = json.dumps({"event": event, "pid": os.getpid(), **details}) + "\n"
        with open(path, "a") as out:  # one short append: whole lines from every process
            out.write(line)
