"""`python -m bench xcheck`: does Locust measure what an independent client measures?

The claim group's arms of the default scenario run at once (each on its own port, the same
PostgreSQL), and the same paired cell is measured with two clients in turn: Locust (gevent) and
the independent open-loop client (bench.load.open_loop: one thread, raw sockets, epoll), both
sending the same arrival stream (process and seed) to an arm drawn at random and counting
latency from each request's intended start, both writing the same recorder format. For
evenly spaced and for Poisson arrivals, each estimate of the headline pair (session minus JWT on
the median) comes with its interval by the same method as every verdict, and the two clients'
estimates must agree within 20%.

The check asks at a stated fraction of the group's capacity, which it measures first: each
server closed loop, alone (bench.run.saturation; the group's capacity as a run's, in
bench.run.capacities). The latency compared is the response time (from each intended start).
It runs repeats until every interval can resolve 20% of its estimate (its half-width at most
20% of the estimate's size), for both clients and both arrival processes, or until a bound,
and says which.

The servers stay up for the whole check (a cross-check of clients, not of server start-ups);
the order of the clients alternates between repeats. Where wrk is installed, each server of
the pair also runs alone under wrk at saturation, and its CPU per request is set beside the
one Locust measures for it closed loop: a cross-check of the CPU accounting, never needed.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import results
from bench.analysis.intervals import paired_estimates
from bench.analysis.latency_files import seconds_of
from bench.load.locust_driver import CellFailed
from bench.run import saturation
from bench.run.arms import start_arm
from bench.run.capacities import group_capacity
from bench.run.cells import Lifecycle
from bench.run.independent import Target, run_independent
from bench.run.scenario_plan import percent
from bench.run.scenario_toml import load
from bench.system.datastores import stores
from bench.system.http_client import LoginFailed, login
from bench.system.pinning import plan_layout
from servers.store import SEED_PASSWORD, seed_username

AGREE_WITHIN = 0.20
RESOLVE = 0.20  # an interval resolves its estimate when its half-width is at most this share
ARRIVAL_PROCESSES = ("uniform", "poisson")
CLIENTS = ("locust", "independent")
TOKENS_PER_ARM = 32


def tokens(port: int, count: int) -> list[str]:
    """A token of each of the first `count` seeded users, from the server on `port`."""
    try:
        return [login(port, seed_username(user), SEED_PASSWORD) for user in range(1, count + 1)]
    except LoginFailed as exc:
        raise CellFailed(f"port {port}: {exc}") from None


class Check:
    """The servers of the claim group, up once; one measured cell per client, arrivals, repeat."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        folder: Path,
        rate: float,
        warmup_s: float,
        duration_s: int,
        out: Callable[[str], None],
    ):
        self.lifecycle, self.folder, self.rate = lifecycle, folder, rate
        self.warmup_s, self.duration_s, self.out = warmup_s, duration_s, out
        self.servers: dict[str, Any] = {}
        self.paths: dict[str, str] = {}
        self.tokens: dict[str, list[str]] = {}

    def start(self, stack: contextlib.ExitStack, arms) -> None:
        stores, cores = self.lifecycle.stores, self.lifecycle.server_cores
        for spec in arms:
            arm = start_arm(stack, spec, stores, cores, self.folder / f"server-{spec.label}.log")
            self.servers[spec.label], self.paths[spec.label] = arm.server, spec.path
            self.tokens[spec.label] = tokens(arm.server.port, TOKENS_PER_ARM)

    def cell(self, client: str, arrivals: str, repeat: int, seed: int) -> dict[str, Any]:
        cell_dir = self.folder / "cells" / f"{client}-{arrivals}-{repeat}"
        cell_dir.mkdir(parents=True, exist_ok=True)
        runner = self._locust if client == "locust" else self._independent
        start, end, data, generator_s = runner(cell_dir, arrivals, seed)
        return {
            "client": client,
            "arrivals": arrivals,
            "repeat": repeat,
            "seed": seed,
            "window": [start, end],
            "data": data,
            "generator_cpu_s": generator_s,
        }

    def _locust(self, cell_dir: Path, arrivals: str, seed: int):
        urls = {label: [s.url, self.paths[label]] for label, s in self.servers.items()}
        locust = self.lifecycle.locust(
            cell_dir,
            next(iter(urls.values()))[0],
            32,
            self.rate,
            self.warmup_s,
            self.duration_s,
            arms=urls,
            seed=seed,
            arrivals=arrivals,
        )
        start, end, cpu, _, data = self.lifecycle.measure(
            locust, self.warmup_s, self.duration_s, lambda: {"load_generator": locust.pids()}
        )
        return start, end, data, sum(cpu["load_generator"].values())

    def _independent(self, cell_dir: Path, arrivals: str, seed: int):
        targets = [
            Target(label, s.port, self.paths[label], self.tokens[label])
            for label, s in self.servers.items()
        ]
        cores = self.lifecycle.generator_cores
        start, end, cpu, data = run_independent(
            cell_dir, targets, self.rate, arrivals, seed, self.warmup_s, self.duration_s, cores
        )
        return start, end, data, sum(cpu.get("load_generator", {}).values())


def _windows(cell: dict[str, Any]):
    from bench.load.recorder import Recorder

    return [
        Recorder.from_encoded(enc).window(*cell["window"]) for enc in cell["data"]["arms"].values()
    ]


def estimate(cells: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """The headline pair's difference of median response times over the cells' repeats, by the
    verdicts' method."""
    repeats = [
        {
            arm: seconds_of(enc, *cell["window"], kind="corrected")
            for arm, enc in cell["data"]["arms"].items()
        }
        for cell in cells
    ]
    (p50,) = paired_estimates([r[a] for r in repeats], [r[b] for r in repeats], (0.5,))
    return {
        "delta_p50_us": p50.delta_us,
        "ci_low_us": p50.ci_low_us,
        "ci_high_us": p50.ci_high_us,
        "repeats": p50.repeats,
        "per_repeat_us": list(p50.per_repeat_us),
    }


@dataclass
class Ask:
    """How the check is asked: at `fraction` of the group's capacity (or at `rate` in total
    when given), repeats from `repeats` up to `max_repeats` until every interval resolves."""

    fraction: float = 0.15
    rate: float | None = None
    repeats: int = 3
    max_repeats: int = 10
    warmup_s: float = 1.0
    duration_s: int = 5


def xcheck(
    ask: Ask,
    root: Path,
    out: Callable[[str], None] = print,
    wrk: bool = True,
    runtime: str = "python",
) -> tuple[Path, list[dict]]:
    """Run the cross-check on the default scenario's claim group, its servers in `runtime`;
    returns its folder and one row per (arrivals, client), then the wrk rows."""
    scenario = load("default")
    group = scenario.paired[0]
    arms = tuple(replace(spec, runtime=runtime) for spec in scenario.paired_arms(group))
    a, b = group.headline or group.pairs[0]
    folder = results.new_run_dir(root, "xcheck" if runtime == "python" else f"xcheck-{runtime}")
    layout = plan_layout()
    cores = layout.servers if layout else None
    users, sessions = scenario.seeded_users, scenario.seeded_sessions
    with stores(users=users, sessions=sessions, cores=cores) as up, contextlib.ExitStack() as stack:
        lifecycle = Lifecycle(scenario, up, 0, layout)
        check = Check(lifecycle, folder, 0.0, ask.warmup_s, ask.duration_s, out)
        check.start(stack, arms)
        originals = {label: check.servers[label] for label in group.arms}
        found = saturation.capacities(lifecycle, originals, check.paths, folder, out)
        total = group_capacity(group, found)
        check.rate = ask.rate or float(round(ask.fraction * total))
        asked = {"rate": check.rate, "fraction": round(check.rate / total, 4), "capacity": total}
        out(
            f"asking at {percent(asked['fraction'])} of the group's capacity: "
            f"{check.rate:,.0f} req/s in total (its capacity {total:,.0f} req/s, closed loop)"
        )
        cells, rows = _measure_until_resolved(check, ask, a, b, out)
        wrk_rows = []
        if wrk and shutil.which("wrk"):
            servers, tokens_, paths = check.servers, check.tokens, check.paths
            wrk_rows = saturation.wrk_cpu(lifecycle, servers, tokens_, paths, (a, b), folder, out)
    repeats = max(c["repeat"] for c in cells)
    resolved = all(resolves(row) for row in rows)
    results.write_json(
        folder / "xcheck.json",
        {
            "rows": rows,
            "wrk": wrk_rows,
            **asked,
            "capacities": {label: cap.model_dump() for label, cap in found.items()},
            "repeats": repeats,
            "resolved": resolved,
            "duration_s": ask.duration_s,
            "runtime": runtime,
        },
    )
    return folder, rows + wrk_rows


def resolves(row: dict[str, Any]) -> bool:
    """Whether a row's interval resolves RESOLVE of its estimate."""
    low, high, estimate = row["ci_low_us"], row["ci_high_us"], row["delta_p50_us"]
    if low is None or high is None or not estimate:
        return False
    return (high - low) / 2 <= RESOLVE * abs(estimate)


def _measure_until_resolved(check: Check, ask: Ask, a: str, b: str, out: Callable[[str], None]):
    """Every (arrivals, client) cell once per repeat, in reverse order on even repeats so that
    neither client always goes first, until every row resolves (from `ask.repeats` on) or
    `ask.max_repeats`; says each cell as it goes."""
    plan = [(arrivals, client) for arrivals in ARRIVAL_PROCESSES for client in CLIENTS]
    cells: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    for repeat in range(1, max(ask.repeats, ask.max_repeats) + 1):
        order = plan if repeat % 2 else [(arr, c) for arr, c in plan[::-1]]
        for arrivals, client in order:
            done = len(cells)
            pace = f"  ({(time.monotonic() - started) / done:.0f} s a cell)" if done else ""
            out(
                f"[{done + 1:>2}] {client}, {arrivals} arrivals, {check.rate:,.0f} req/s, "
                f"repeat {repeat} (at least {ask.repeats}, at most {ask.max_repeats}){pace}"
            )
            cells.append(check.cell(client, arrivals, repeat, seed=1000 + repeat))
        if repeat >= max(2, ask.repeats):
            rows = latency_rows(cells, check.rate, a, b)
            if all(resolves(row) for row in rows):
                break
    return cells, rows


def latency_rows(cells: list[dict[str, Any]], rate: float, a: str, b: str) -> list[dict[str, Any]]:
    """One row per (arrivals, client): the pair's difference of medians over the repeats, and
    the client's median CPU per request sent."""
    rows = []
    for arrivals in ARRIVAL_PROCESSES:
        for client in CLIENTS:
            mine = [c for c in cells if (c["arrivals"], c["client"]) == (arrivals, client)]
            sent = [sum(w.count for w in _windows(c)) for c in mine]
            cost = [c["generator_cpu_s"] / n * 1e6 for c, n in zip(mine, sent, strict=True) if n]
            rows.append(
                {
                    "arrivals": arrivals,
                    "client": client,
                    "rate": rate,
                    "a": a,
                    "b": b,
                    **estimate(mine, a, b),
                    "client_cpu_us_per_request": round(sorted(cost)[len(cost) // 2], 1)
                    if cost
                    else None,
                }
            )
    return rows


def agreement(rows: list[dict[str, Any]]) -> list[str]:
    """One line per arrival process: do the two clients agree within 20%?"""
    lines = []
    for arrivals in ARRIVAL_PROCESSES:
        by = {r["client"]: r for r in rows if r.get("arrivals") == arrivals}
        if set(by) != set(CLIENTS):
            continue
        locust, independent = by["locust"]["delta_p50_us"], by["independent"]["delta_p50_us"]
        off = locust / independent - 1 if independent else math.inf
        verdict = "agree" if abs(off) <= AGREE_WITHIN else "DISAGREE"
        lines.append(
            f"{arrivals:>8} arrivals: Locust {locust:+,.0f} µs, independent "
            f"{independent:+,.0f} µs: Locust {off:+.0%} of the independent client: "
            f"{verdict} (within {AGREE_WITHIN:.0%})"
        )
    return lines


def resolution(rows: list[dict[str, Any]]) -> str:
    """Whether every interval resolved RESOLVE of its estimate, and if not, the widest."""
    repeats = max((r["repeats"] for r in rows), default=0)
    if rows and all(resolves(r) for r in rows):
        return (
            f"every interval resolves {RESOLVE:.0%} of its estimate (half-width at most "
            f"{RESOLVE:.0%} of it) after {repeats} repeats"
        )

    def share(row: dict[str, Any]) -> float:
        if row["ci_low_us"] is None or not row["delta_p50_us"]:
            return math.inf
        return (row["ci_high_us"] - row["ci_low_us"]) / 2 / abs(row["delta_p50_us"])

    widest = max(rows, key=share)
    return (
        f"could not resolve {RESOLVE:.0%} in {repeats} repeats (the bound): the widest, "
        f"{widest['client']} with {widest['arrivals']} arrivals, ±{share(widest):.0%} of its "
        "estimate"
    )


def print_report(folder: Path, rows: list[dict[str, Any]], as_json: bool) -> None:
    """`bench xcheck`'s output: both clients' estimates side by side and whether they agree
    (or, with --json, a list of objects), then the CPU cross-check and the results folder."""
    from bench.analysis import Table

    latency = [r for r in rows if "client" in r and "arrivals" in r]
    if as_json:
        keys = ("arrivals", "client", "rate", "a", "b", "delta_p50_us", "ci_low_us", "ci_high_us")
        print(json.dumps([{k: r[k] for k in keys} for r in latency], indent=1))
        return
    print()
    print(
        Table(
            latency,
            [
                "arrivals",
                "client",
                "rate",
                "a",
                "b",
                "delta_p50_us",
                "ci_low_us",
                "ci_high_us",
                "repeats",
                "client_cpu_us_per_request",
            ],
        )
    )
    print()
    for line in agreement(latency):
        print(line)
    print(resolution(latency))
    if cpu := [r for r in rows if r.get("kind") == "cpu_xcheck"]:
        print()
        print(Table(cpu, ["server", "client", "requests_per_s", "server_cpu_us_per_request"]))
    print(f"\nresults: {folder}")
