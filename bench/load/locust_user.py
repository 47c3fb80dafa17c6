"""The Locust user of every cell: log in once, then GET /me (or /profile), closed loop or at a
fixed rate from one arrival stream. An external arm's users log in nowhere: they take the tokens
the harness got for it (the plan's `arm_tokens`) in turn. Over https, Locust does not check the
certificate again (FastHttpUser's default): the harness checked it before the cell.

Run by the bench runner as a subprocess (never inside Jupyter: gevent's monkey-patching fights
the kernel's event loop). What to do comes from one place, the cell's `LoadPlan`
(bench.load.load_plan: rate, arrival process, processes, seeded users, path, arms, seed, token
population, popularity): the master or the lone process reads it from the file named in
`AUTHBENCH_PLAN`; every worker, on this host or another, asks the master for it
(bench.load.handshake). The master alone writes the results (`AUTHBENCH_OUTPUT`) and says when
users are spawned (`AUTHBENCH_READY_FILE`).

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

from bench.load.arrivals import ArrivalStream, GapStats
from bench.load.handshake import MasterSide, WorkerSide
from bench.load.load_plan import LoadPlan
from bench.load.precise_sleep import Sleeper
from bench.load.recorder import LATE_AFTER_S, Recorder
from servers.store import SEED_PASSWORD, seed_username

PATHS = frozenset(("/me", "/profile"))  # the requests that are measured


def zipf_cdf(count: int, exponent: float) -> list[float]:
    """Cumulative shares of ranks 1..count when rank k is drawn 1/k^exponent as often as rank 1."""
    weights = [1.0 / (k**exponent) for k in range(1, count + 1)]
    total, running, cdf = sum(weights), 0.0, []
    for w in weights:
        running += w
        cdf.append(running / total)
    return cdf


class Load:
    """This process's part of a cell: the plan, its share of the arrival stream, one recorder
    per arm, and the token population's header dicts, built once (the hot path draws a rank)."""

    def __init__(self, plan: LoadPlan, share: int = 0):
        self.plan, self.share = plan, share
        self.arm_recorders = {label: Recorder() for label in plan.arms}
        self.population = {
            label: [{"Authorization": f"Bearer {t}"} for t in tokens]
            for label, tokens in plan.tokens.items()
        }
        first = next(iter(plan.tokens.values()), [])
        self.population_cdf = zipf_cdf(len(first), plan.popularity) if first else []
        self.stream: ArrivalStream | None = None

    def arrivals(self) -> ArrivalStream:
        """This process's arrival stream, created on first use."""
        if self.stream is None:
            plan = self.plan
            self.stream = ArrivalStream(
                plan.arrivals, plan.rate, plan.seed, self.share % plan.processes, plan.processes
            )
        return self.stream


recorder = Recorder()  # single-server cells
gaps = GapStats()  # merged gap statistics (the master's, in distributed mode)
_user_numbers = itertools.count()
_load: Load | None = None  # set at init (the master, the lone process) or by the master's answer
_node: MasterSide | WorkerSide | None = None
_environment = None


@events.init.add_listener
def start_node(environment, **_):
    """The lone process and the master read the plan file; a worker asks the master."""
    global _environment, _load, _node
    _environment = environment
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _node = WorkerSide(environment)
        return
    _load = Load(LoadPlan.from_environment())
    if isinstance(runner, MasterRunner):
        output = os.environ.get("AUTHBENCH_OUTPUT")
        _node = MasterSide(environment, _load.plan, Path(output).parent if output else None)


def current_load() -> Load | None:
    """The plan and state of this process; a worker waits (in its users' greenlets) for the
    master's answer, and gets None if the master refused it or never answered."""
    global _load
    if _load is None and isinstance(_node, WorkerSide):
        plan = _node.wait()
        if plan is not None and _load is None:
            _load = Load(plan, _node.share)
    return _load


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
    if _load is not None:
        data["authbench_arms"] = {label: r.drain() for label, r in _load.arm_recorders.items()}
        if _load.stream is not None:
            data["authbench_gaps"] = _load.stream.gaps.encode()
            _load.stream.gaps = GapStats()
    if isinstance(_node, WorkerSide):
        _node.report(data)


@events.worker_report.add_listener
def merge_from_worker(client_id, data, **_):
    recorder.merge(data.get("authbench", {}))
    for label, encoded in data.get("authbench_arms", {}).items():
        _load.arm_recorders.setdefault(label, Recorder()).merge(encoded)
    gaps.merge(data.get("authbench_gaps", {}))


@events.spawning_complete.add_listener
def announce_ready(user_count, **_):
    ready = os.environ.get("AUTHBENCH_READY_FILE")
    if ready and not isinstance(_runner(), WorkerRunner):
        Path(ready).write_text(str(user_count))


@events.quit.add_listener
def write_results(exit_code, **_):
    """After the master has had the workers' final reports: write one file."""
    if isinstance(_node, WorkerSide):
        _node.quit()
    output = os.environ.get("AUTHBENCH_OUTPUT")
    if not output or isinstance(_runner(), WorkerRunner) or _load is None:
        return
    plan = _load.plan
    data = recorder.encode()
    if _load.arm_recorders:
        data["arms"] = {label: arm.encode() for label, arm in _load.arm_recorders.items()}
    data["seed"] = plan.seed
    if plan.rate > 0:
        if _load.stream is not None:
            gaps.merge(_load.stream.gaps.encode())
        data["arrivals"] = {
            "process": plan.arrivals,
            "rate": plan.rate,
            "seed": plan.seed,
            "processes": plan.processes,
            "gaps": gaps.encode(),
        }
    data["distributed"] = isinstance(_runner(), MasterRunner)
    if isinstance(_node, MasterSide):
        data["workers"] = _node.record()
    # Locust's own count at the same moment (its CSV is written before users stop).
    data["locust_counts"] = {
        "measured": sum(_environment.stats.get(p, "GET").num_requests for p in PATHS),
        "/login": _environment.stats.get("/login", "POST").num_requests,
    }
    tmp = Path(output + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(output)


def _runner():
    return _environment.runner if _environment is not None else None


class MeUser(FastHttpUser):
    """Logs in once as its own seeded account (once per arm in paired mode), then asks GET /me
    (or /profile) with its bearer token."""

    wait_time = constant(0)
    sleeper: Sleeper | None = None

    def on_start(self) -> None:
        load = current_load()
        if load is None:  # a worker the master refused, or never answered: nothing to send
            raise StopUser
        plan = load.plan
        number = load.share * 100_003 + next(_user_numbers)
        username = seed_username(1 + number % plan.seeded_users)
        rng = random.Random(f"{plan.seed}:{number}")
        if plan.arms and load.population:
            # A token population: no login; each request's token is drawn by popularity.
            self.arms = [
                (url + path, path, load.population[label], load.arm_recorders[label])
                for label, (url, path) in plan.arms.items()
            ]
            self.draw = rng.randrange
            cdf = load.population_cdf
            self.rank = lambda: bisect.bisect_left(cdf, rng.random())
        elif plan.arms:
            # One token per arm (an external arm's got by the harness, taken in turn); the arm
            # of each request drawn from this user's own stream.
            self.arms = [
                (
                    url + path,
                    path,
                    self._token(plan.arm_tokens.get(label), url, username, number),
                    load.arm_recorders[label],
                )
                for label, (url, path) in plan.arms.items()
            ]
            self.draw = rng.randrange
        else:
            self.arms = [(plan.path, plan.path, self._login("", username), recorder)]
            self.draw = None
        self.load, self.by_popularity = load, bool(load.population)
        self.fixed_rate = plan.rate > 0
        self.sleeper = Sleeper() if self.fixed_rate else None

    def on_stop(self) -> None:
        if self.sleeper is not None:
            self.sleeper.close()

    def _token(
        self, given: list[str] | None, base_url: str, username: str, number: int
    ) -> dict[str, str]:
        """This user's header for an arm: one of the arm's own tokens (`given`: an external
        arm's, got by the harness), taken in turn, else a login as `username`."""
        if given:
            return {"Authorization": f"Bearer {given[number % len(given)]}"}
        return self._login(base_url, username)

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
        if self.by_popularity:  # a token population: this request's token drawn by popularity
            headers = headers[self.rank()]
        context = {"recorder": into}
        if self.fixed_rate:
            intended = self.load.arrivals().take()
            self.sleeper.sleep_until(intended)  # to the microsecond: no millisecond bursts
            context["intended"] = intended
        self.client.get(url, headers=headers, name=path, context=context)
