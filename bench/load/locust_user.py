"""The Locust user of every cell: log in once, then GET /me, closed loop or at a fixed rate.

Run by the bench runner as a subprocess (never inside Jupyter: gevent's monkey-patching fights
the kernel's event loop). Settings come from the environment:

    AUTHBENCH_OUTPUT        where the master (or the lone process) writes the recorded latencies
    AUTHBENCH_READY_FILE    touched once every user is spawned
    AUTHBENCH_RATE          total requests per second for the fixed-rate model; 0 = closed loop
    AUTHBENCH_USERS         number of users (to split the rate between them)
    AUTHBENCH_SEEDED_USERS  how many seeded accounts to log in as
    AUTHBENCH_PATH          what each request asks for: /me (default) or /profile
    AUTHBENCH_ARMS          paired mode: JSON {arm label: [base URL, path]}; every user logs in
                            to each arm, and every request goes to an arm drawn at random
    AUTHBENCH_SEED          paired mode: seeds each user's arm draws (user i: seed, i)

Paired mode is the design behind every latency verdict: the arms of a comparison run at once,
and one stream of requests at a fixed total rate is shared between them at random (equal
shares), so whatever the machine does in any second falls on every arm alike. Each arm gets its
own recorder.

Closed loop: each user sends its next request when the last one is answered (saturation
throughput). Fixed rate: user i sends request k at t_i + k * users / rate, however late the
previous answer was, and latency is counted from that intended start (as wrk2 does), so a
server stall shows in full instead of being hidden by the requests it delayed.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from bench.load.recorder import LATE_AFTER_S, Recorder, parse_server_timing
from servers.store import SEED_PASSWORD, seed_username

RATE = float(os.environ.get("AUTHBENCH_RATE", "0") or 0)
USERS = int(os.environ.get("AUTHBENCH_USERS", "1"))
SEEDED_USERS = int(os.environ.get("AUTHBENCH_SEEDED_USERS", "10000"))
INTERVAL_S = USERS / RATE if RATE > 0 else 0.0  # per user
PATH = os.environ.get("AUTHBENCH_PATH") or "/me"
PATHS = ("/me", "/profile")  # the requests that are measured
ARMS: dict[str, list[str]] = json.loads(os.environ.get("AUTHBENCH_ARMS") or "{}")
SEED = int(os.environ.get("AUTHBENCH_SEED", "0"))

recorder = Recorder()  # single-server cells
arm_recorders = {label: Recorder() for label in ARMS}  # paired cells
_user_numbers = itertools.count()


@events.request.add_listener
def record_request(name, response_time, response, exception, start_time, context, **_):
    """Every measured request, exactly once, with its exact service time (ms float)."""
    if name not in PATHS:
        return
    status = getattr(response, "status_code", 0) or 0
    headers = getattr(response, "headers", None)
    auth_us = parse_server_timing(headers.get("server-timing")) if headers else None
    into = arm_recorders[context["arm"]] if "arm" in context else recorder
    intended = context.get("intended")
    if intended is None:
        into.record(int(start_time), response_time * 1000.0, status, auth_us)
        return
    end = start_time + response_time / 1000.0
    into.record(
        int(intended),
        response_time * 1000.0,
        status,
        auth_us,
        corrected_us=(end - intended) * 1e6,
        late=start_time - intended > LATE_AFTER_S,
    )


@events.cpu_warning.add_listener
def note_cpu_warning(**_):
    recorder.cpu_warnings += 1


@events.report_to_master.add_listener
def send_to_master(client_id, data, **_):
    data["authbench"] = recorder.drain()
    data["authbench_arms"] = {label: arm.drain() for label, arm in arm_recorders.items()}


@events.worker_report.add_listener
def merge_from_worker(client_id, data, **_):
    recorder.merge(data.get("authbench", {}))
    for label, encoded in data.get("authbench_arms", {}).items():
        arm_recorders[label].merge(encoded)


@events.spawning_complete.add_listener
def announce_ready(user_count, **_):
    ready = os.environ.get("AUTHBENCH_READY_FILE")
    if ready and not isinstance(_runner(), WorkerRunner):
        Path(ready).write_text(str(user_count))


@events.quit.add_listener
def write_results(exit_code, **_):
    """After the master has had the workers' final reports: write one file."""
    output = os.environ.get("AUTHBENCH_OUTPUT")
    if output and not isinstance(_runner(), WorkerRunner):
        data = recorder.encode()
        if arm_recorders:
            data["arms"] = {label: arm.encode() for label, arm in arm_recorders.items()}
            data["seed"] = SEED
        data["distributed"] = isinstance(_runner(), MasterRunner)
        # Locust's own count at the same moment (its CSV is written before users stop).
        data["locust_counts"] = {
            "measured": sum(_environment.stats.get(p, "GET").num_requests for p in PATHS),
            "/login": _environment.stats.get("/login", "POST").num_requests,
        }
        tmp = Path(output + ".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(output)


_environment = None


@events.init.add_listener
def remember_environment(environment, **_):
    global _environment
    _environment = environment


def _runner():
    return _environment.runner if _environment is not None else None


class MeUser(FastHttpUser):
    """Logs in once as its own seeded account (once per arm in paired mode), then asks GET /me
    (or /profile) with its bearer token."""

    wait_time = constant(0)

    def on_start(self) -> None:
        worker = max(getattr(self.environment.runner, "worker_index", 0), 0)
        number = worker * 100_003 + next(_user_numbers)
        username = seed_username(1 + number % SEEDED_USERS)
        if ARMS:
            # One token per arm; the arm of each request drawn from this user's own stream.
            self.arms = [
                (label, url + path, path, self._login(url, username))
                for label, (url, path) in ARMS.items()
            ]
            self.draw = random.Random(f"{SEED}:{number}").randrange
        else:
            self.arms = [(None, PATH, PATH, self._login("", username))]
            self.draw = None
        self.next_slot = time.time() + random.uniform(0, INTERVAL_S) if INTERVAL_S else None

    def _login(self, base_url: str, username: str) -> dict[str, str]:
        with self.client.post(
            base_url + "/login",
            json={"username": username, "password": SEED_PASSWORD},
            name="/login",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"login as {username} failed: {response.status_code}")
                raise StopUser
            token = response.json()["token"]
        return {"Authorization": f"Bearer {token}"}

    @task
    def me(self) -> None:
        label, url, path, headers = (
            self.arms[self.draw(len(self.arms))] if self.draw else self.arms[0]
        )
        context = {} if label is None else {"arm": label}
        if self.next_slot is not None:
            intended = self.next_slot
            self.next_slot += INTERVAL_S
            delay = intended - time.time()
            if delay > 0:
                gevent.sleep(delay)
            context["intended"] = intended
        self.client.get(url, headers=headers, name=path, context=context)
