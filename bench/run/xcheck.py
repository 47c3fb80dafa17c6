"""`python -m bench xcheck`: does Locust measure what an independent client measures?

The claim group's arms of the default scenario run at once (each on its own port, the same
PostgreSQL), and the same paired cell is measured with two clients in turn: Locust (gevent) and
the independent open-loop client (bench.load.open_loop: one thread, raw sockets, epoll), both
sending the same arrival stream (process and seed) to an arm drawn at random and counting
latency from each request's intended start, both writing the same recorder format. For
evenly spaced and for Poisson arrivals, each estimate of the headline pair (session minus JWT on
the median) comes with its interval by the same method as every verdict, and the two clients'
estimates must agree within 20%.

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
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import results
from bench.analysis.intervals import paired_estimates
from bench.analysis.latency_files import seconds_of
from bench.load.locust_driver import CellFailed
from bench.run.arms import start_arm
from bench.run.cells import Lifecycle
from bench.run.independent import Target, run_independent
from bench.run.scenario_toml import load
from bench.system.cpu_accounting import sample, used
from bench.system.datastores import stores
from bench.system.oneshot import request
from bench.system.pinning import plan_layout, preexec
from bench.system.processes import spawn_logged
from servers.store import SEED_PASSWORD, seed_username

AGREE_WITHIN = 0.20
ARRIVAL_PROCESSES = ("uniform", "poisson")
CLIENTS = ("locust", "independent")
TOKENS_PER_ARM = 32


def tokens(port: int, count: int) -> list[str]:
    found = []
    for user in range(1, count + 1):
        reply = request(
            port,
            "POST",
            "/login",
            body={"username": seed_username(user), "password": SEED_PASSWORD},
        )
        if reply.status != 200:
            raise CellFailed(f"login as {seed_username(user)} on port {port} gave {reply.status}")
        found.append(reply.json()["token"])
    return found


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
    """The headline pair's difference of medians over the cells' repeats, by the verdicts' method."""
    repeats = [
        {arm: seconds_of(enc, *cell["window"]) for arm, enc in cell["data"]["arms"].items()}
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


def xcheck(
    rate: float,
    repeats: int,
    warmup_s: float,
    duration_s: int,
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
    started = time.monotonic()
    cores = layout.servers if layout else None
    users, sessions = scenario.seeded_users, scenario.seeded_sessions
    with stores(users=users, sessions=sessions, cores=cores) as up, contextlib.ExitStack() as stack:
        lifecycle = Lifecycle(scenario, up, 0, layout)
        check = Check(lifecycle, folder, rate, warmup_s, duration_s, out)
        check.start(stack, arms)
        cells = _measure_cells(check, repeats, rate, out, started)
        if wrk and shutil.which("wrk"):
            wrk_rows = wrk_cpu(lifecycle, check, (a, b), folder, out)
        else:
            wrk_rows = []
    rows = latency_rows(cells, rate, a, b)
    results.write_json(
        folder / "xcheck.json",
        {
            "rows": rows,
            "wrk": wrk_rows,
            "rate": rate,
            "repeats": repeats,
            "duration_s": duration_s,
            "runtime": runtime,
        },
    )
    return folder, rows + wrk_rows


def _measure_cells(
    check: Check, repeats: int, rate: float, out: Callable[[str], None], started: float
) -> list[dict[str, Any]]:
    """Every (arrivals, client) cell once per repeat, in reverse order on even repeats so that
    neither client always goes first; says each cell and the time left (at the pace since
    `started`, a time.monotonic()) as it goes."""
    plan = [(arrivals, client) for arrivals in ARRIVAL_PROCESSES for client in CLIENTS]
    cells: list[dict[str, Any]] = []
    total = repeats * len(plan)
    for repeat in range(1, repeats + 1):
        order = plan if repeat % 2 else [(arr, c) for arr, c in plan[::-1]]
        for arrivals, client in order:
            done = len(cells)
            left = (time.monotonic() - started) / done * (total - done) if done else None
            out(
                f"[{done + 1:>2}/{total}] {client}, {arrivals} arrivals, {rate:g} req/s, "
                f"repeat {repeat}" + (f"  (about {left:.0f} s left)" if left else "")
            )
            cells.append(check.cell(client, arrivals, repeat, seed=1000 + repeat))
    return cells


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


def wrk_cpu(
    lifecycle: Lifecycle,
    check: Check,
    labels: tuple[str, str],
    folder: Path,
    out: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Each server of the pair alone at saturation under wrk (16 connections, 4 s): its server
    process CPU per request, against Locust closed loop (16 users) on the same server."""
    rows = []
    for label in labels:
        server = check.servers[label]
        for client in ("wrk", "locust"):
            out(f"CPU per request at saturation: {label} under {client} ...")
            rows.append(
                {
                    "kind": "cpu_xcheck",
                    "server": label,
                    "client": client,
                    **_saturate(
                        lifecycle,
                        server,
                        check.tokens[label][0],
                        check.paths[label],
                        client,
                        folder / f"{client}-{label}",
                    ),
                }
            )
    return rows


def _saturate(lifecycle: Lifecycle, server, token: str, path: str, client: str, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    seconds = 4

    def groups() -> dict[str, list[int]]:
        return {"server": server.pids()}

    if client == "wrk":
        argv = [
            "wrk",
            "-t1",
            "-c16",
            f"-d{seconds + 2}s",
            "-H",
            f"Authorization: Bearer {token}",
            f"{server.url}{path}",
        ]
        process = spawn_logged(
            argv, folder / "wrk.log", preexec_fn=preexec(lifecycle.generator_cores)
        )
        time.sleep(1)
        before = sample(groups())
        time.sleep(seconds)
        cpu = used(before, sample(groups()))
        process.wait(30)
        per_second = float((folder / "wrk.log").read_text().split("Requests/sec:")[1].split()[0])
        requests = per_second * seconds  # wrk's rate over its whole run, applied to the window
    else:
        locust = lifecycle.locust(folder, server.url, 16, None, 1, seconds, path=path)
        start, end, cpu, recorder, _ = lifecycle.measure(locust, 1, seconds, groups)
        requests = recorder.window(start, end).count
    server_s = sum(cpu["server"].values())
    return {
        "requests_per_s": round(requests / seconds),
        "server_cpu_us_per_request": round(server_s / requests * 1e6, 1),
    }


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
    if cpu := [r for r in rows if r.get("kind") == "cpu_xcheck"]:
        print()
        print(Table(cpu, ["server", "client", "requests_per_s", "server_cpu_us_per_request"]))
    print(f"\nresults: {folder}")
