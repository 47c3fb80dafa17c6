"""The Locust user of every cell: log in once, then GET /me (or /profile), closed loop or at a
fixed rate from one arrival stream.

Run by the bench runner as a subprocess (never inside Jupyter: gevent's monkey-patching fights
the kernel's event loop). Settings come from the environment:

    AUTHBENCH_OUTPUT        where the master (or the lone process) writes the recorded latencies
    AUTHBENCH_READY_FILE    touched once every user is spawned
    AUTHBENCH_RATE          total requests per second for the fixed-rate model; 0 = closed loop
    AUTHBENCH_ARRIVALS      the arrival process at a fixed rate: poisson (default) or uniform
    AUTHBENCH_PROCESSES     how many load-generator processes share the rate (1)
    AUTHBENCH_SEEDED_USERS  how many seeded accounts to log in as
    AUTHBENCH_PATH          what each request asks for: /me (default) or /profile
    AUTHBENCH_ARMS          paired mode: JSON {arm label: [base URL, path]}; every user logs in
                            to each arm, and every request goes to an arm drawn at random
    AUTHBENCH_SEED          seeds the arrival stream and each user's arm draws
    AUTHBENCH_TOKENS        paired mode with a token population: JSON file {arm: [tokens]};
                            each request carries one, drawn with Zipf popularity (no logins)
    AUTHBENCH_POPULARITY    the Zipf exponent of that draw (1.0)

Paired mode is the design behind every latency verdict: the arms of a comparison run at once,
and one stream of requests at a fixed total rate is shared between them at random (equal
shares), so whatever the machine does in any second falls on every arm alike. Each arm gets its
own recorder.

Closed loop: each user sends its next request when the last one is answered (saturation).
Fixed rate: one arrival stream per process (bench.load.arrivals) hands intended start times to
whichever user is free; latency is counted from that intended start (as wrk2 does), so a server
stall shows in full instead of being hidden by the requests it delayed.

The hot path (one task and one request event per request) does as little as it can: it appends
one tuple to a recorder; histograms are built when the results are read.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from bench.load.arrivals import DEFAULT_ARRIVALS, ArrivalStream, GapStats
from bench.load.precise_sleep import Sleeper
from bench.load.recorder import LATE_AFTER_S, Recorder
from servers.store import SEED_PASSWORD, seed_username

RATE = float(os.environ.get("AUTHBENCH_RATE", "0") or 0)
ARRIVALS = os.environ.get("AUTHBENCH_ARRIVALS") or DEFAULT_ARRIVALS
PROCESSES = int(os.environ.get("AUTHBENCH_PROCESSES", "1") or 1)
SEEDED_USERS = int(os.environ.get("AUTHBENCH_SEEDED_USERS", "10000"))
PATH = os.environ.get("AUTHBENCH_PATH") or "/me"
PATHS = frozenset(("/me", "/profile"))  # the requests that are measured
ARMS: dict[str, list[str]] = json.loads(os.environ.get("AUTHBENCH_ARMS") or "{}")
SEED = int(os.environ.get("AUTHBENCH_SEED", "0"))
TOKENS: dict[str, list[str]] = (
    json.loads(Path(os.environ["AUTHBENCH_TOKENS"]).read_text())
    if os.environ.get("AUTHBENCH_TOKENS")
    else {}
)
POPULARITY = float(os.environ.get("AUTHBENCH_POPULARITY") or 1.0)


def zipf_cdf(count: int, exponent: float) -> list[float]:
    """Cumulative shares of ranks 1..count when rank k is drawn 1/k^exponent as often as rank 1."""
    weights = [1.0 / (k**exponent) for k in range(1, count + 1)]
    total, running, cdf = sum(weights), 0.0, []
    for w in weights:
        running += w
        cdf.append(running / total)
    return cdf


# The population's header dicts, built once: the hot path only draws a rank.
POPULATION = {
    label: [{"Authorization": f"Bearer {t}"} for t in tokens] for label, tokens in TOKENS.items()
}
POPULATION_CDF = zipf_cdf(len(next(iter(TOKENS.values()))), POPULARITY) if TOKENS else []

recorder = Recorder()  # single-server cells
arm_recorders = {label: Recorder() for label in ARMS}  # paired cells
gaps = GapStats()  # merged gap statistics (the master's, in distributed mode)
_user_numbers = itertools.count()
_stream: ArrivalStream | None = None


def stream() -> ArrivalStream:
    """This process's arrival stream, created on first use (the worker index is known then)."""
    global _stream
    if _stream is None:
        share = max(getattr(_runner(), "worker_index", 0), 0)
        _stream = ArrivalStream(ARRIVALS, RATE, SEED, share % PROCESSES, PROCESSES)
    return _stream


@events.request.add_listener
def record_request(name, response_time, response, exception, start_time, context, **_):
    """Every measured request, exactly once, with its exact service time (ms float)."""
    if name not in PATHS:
        return
    headers = getattr(response, "headers", None)
    into = context.get("recorder", recorder)
    intended = context.get("intended")
    status = getattr(response, "status_code", 0) or 0
    timing = headers.get("server-timing") if headers else None
    if intended is None:
        into.record(int(start_time), response_time * 1000.0, status, timing)
        return
    into.record(
        int(intended),
        response_time * 1000.0,
        status,
        timing,
        (start_time + response_time / 1000.0 - intended) * 1e6,
        start_time - intended > LATE_AFTER_S,
    )


@events.cpu_warning.add_listener
def note_cpu_warning(**_):
    recorder.cpu_warnings += 1


@events.report_to_master.add_listener
def send_to_master(client_id, data, **_):
    data["authbench"] = recorder.drain()
    data["authbench_arms"] = {label: arm.drain() for label, arm in arm_recorders.items()}
    if _stream is not None:
        data["authbench_gaps"] = _stream.gaps.encode()
        _stream.gaps = GapStats()


@events.worker_report.add_listener
def merge_from_worker(client_id, data, **_):
    recorder.merge(data.get("authbench", {}))
    for label, encoded in data.get("authbench_arms", {}).items():
        arm_recorders[label].merge(encoded)
    gaps.merge(data.get("authbench_gaps", {}))


@events.spawning_complete.add_listener
def announce_ready(user_count, **_):
    ready = os.environ.get("AUTHBENCH_READY_FILE")
    if ready and not isinstance(_runner(), WorkerRunner):
        Path(ready).write_text(str(user_count))


@events.quit.add_listener
def write_results(exit_code, **_):
    """After the master has had the workers' final reports: write one file."""
    output = os.environ.get("AUTHBENCH_OUTPUT")
    if not output or isinstance(_runner(), WorkerRunner):
        return
    data = recorder.encode()
    if arm_recorders:
        data["arms"] = {label: arm.encode() for label, arm in arm_recorders.items()}
    data["seed"] = SEED
    if RATE > 0:
        if _stream is not None:
            gaps.merge(_stream.gaps.encode())
        data["arrivals"] = {
            "process": ARRIVALS,
            "rate": RATE,
            "seed": SEED,
            "processes": PROCESSES,
            "gaps": gaps.encode(),
        }
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
        rng = random.Random(f"{SEED}:{number}")
        if ARMS and POPULATION:
            # A token population: no login; each request's token is drawn by popularity.
            self.arms = [
                (url + path, path, POPULATION[label], arm_recorders[label])
                for label, (url, path) in ARMS.items()
            ]
            self.draw = rng.randrange
            self.rank = lambda: bisect.bisect_left(POPULATION_CDF, rng.random())
        elif ARMS:
            # One token per arm; the arm of each request drawn from this user's own stream.
            self.arms = [
                (url + path, path, self._login(url, username), arm_recorders[label])
                for label, (url, path) in ARMS.items()
            ]
            self.draw = rng.randrange
        else:
            self.arms = [(PATH, PATH, self._login("", username), recorder)]
            self.draw = None
        self.fixed_rate = RATE > 0
        self.sleeper = Sleeper() if self.fixed_rate else None

    def on_stop(self) -> None:
        if self.sleeper is not None:
            self.sleeper.close()

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
        url, path, headers, into = (
            self.arms[self.draw(len(self.arms))] if self.draw else self.arms[0]
        )
        if POPULATION:  # a token population: this request's token drawn by popularity
            headers = headers[self.rank()]
        context = {"recorder": into}
        if self.fixed_rate:
            intended = stream().take()
            self.sleeper.sleep_until(intended)  # to the microsecond: no millisecond bursts
            context["intended"] = intended
        self.client.get(url, headers=headers, name=path, context=context)
