"""One cell's lifecycle, the same for every cell: servers started (behind a delay proxy where the
scenario says) and their answers verified -> Locust started headless, warm-up discarded ->
measured window in whole seconds, CPU sampled from /proc at both ends -> Locust and servers
stopped in `finally` -> the window's figures (bench.run.cell_figures).

A single-server cell measures one server closed loop or at a fixed rate; a paired cell runs
every arm of a group at once, one Locust run sending each request to an arm drawn at random.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load.locust_driver import LOCUST_READY_TIMEOUT_S, CellFailed, LocustRun
from bench.load.recorder import Recorder
from bench.load.remote_workers import RemoteWorkers
from bench.results.cell_records import Figures, LoadGenerators, SingleCell
from bench.results.cell_records import PairedCell as PairedCellRecord
from bench.run.arms import Logins, StartedArm, start_arm
from bench.run.cell_figures import counts, summarise
from bench.run.scenario import Scenario, ServerSpec
from bench.run.scenario_plan import Cell, PairedCell
from bench.system.cpu_accounting import sample, used
from bench.system.datastores import Stores
from bench.system.pinning import CoreLayout, affinity
from bench.system.postgres import arm_backends
from bench.system.processes import tail
from bench.system.tokens import Population

CpuGroups = Callable[[], dict[str, list[int]]]


def shuffled_arms(cell: PairedCell, seed: int) -> list[ServerSpec]:
    """The arms of a paired cell in the order they start (and take their ports, and appear in
    Locust), shuffled by the cell's seed.

    Whatever an arm gains from its position becomes noise between repeats, which the interval
    covers, instead of a bias it cannot see (two copies of one server differed by a steady 2%
    when the copy always started last)."""
    order = list(cell.arms)
    random.Random(seed).shuffle(order)
    return order


class Lifecycle:
    """What every cell shares: the stores, the core layout, Locust's worker count."""

    remote: RemoteWorkers | None = None  # Locust workers on other hosts, in every Locust cell
    last_cell: str | None = None  # the id of the cell after which remote workers leave

    def __init__(
        self, scenario: Scenario, stores: Stores, locust_workers: int, layout: CoreLayout | None
    ):
        self.scenario, self.stores, self.layout = scenario, stores, layout
        self.locust_workers = locust_workers
        # PostgreSQL, and the Redis-compatible session store when a server keeps sessions there
        self.pg, self.kv = stores.pg, stores.kv
        self.populations: dict[int, Population] = {}
        self.logins: Logins = {}  # the external arms' tokens, got once for the run

    @property
    def server_cores(self) -> tuple[int, ...] | None:
        return self.layout.servers if self.layout else None

    @property
    def generator_cores(self) -> tuple[int, ...] | None:
        return self.layout.load_generator if self.layout else None

    def population(self, count: int) -> Population:
        """The run's token population of `count` users, minted once (bench.system.tokens)."""
        if count not in self.populations:
            self.populations[count] = Population(count)
        return self.populations[count]

    def locust(
        self,
        cell_dir: Path,
        url: str,
        users: int,
        rate: float | None,
        warmup_s: float,
        duration_s: int,
        **options,
    ) -> LocustRun:
        # --run-time is a bound, never reached normally: the runner stops Locust after the window.
        run_time_s = int(LOCUST_READY_TIMEOUT_S + warmup_s + duration_s + 30)
        return LocustRun(
            url,
            cell_dir,
            users,
            rate,
            self.scenario.seeded_users,
            self.locust_workers,
            run_time_s,
            cpus=self.generator_cores,
            remote=self.remote,
            run_ends=cell_dir.name == self.last_cell,
            **options,
        )

    @staticmethod
    def measure(
        locust: LocustRun,
        warmup_s: float,
        duration_s: int,
        groups: CpuGroups,
        during: Callable[[], None] = lambda: None,
        drain_s: float = 0.0,
    ):
        """The measured window: wait for Locust's users, warm up, then whole seconds with CPU
        sampled at both ends, and `drain_s` more for the window's last requests to be answered.
        Returns (start, end, cpu used, recorder, Locust's data); Locust is killed whatever
        happens."""
        try:
            locust.wait_ready()
            start = math.ceil(time.time() + warmup_s)
            end = start + duration_s
            locust.sleep_until(start)
            before = sample(groups())
            during()
            locust.sleep_until(end)
            after = sample(groups())
            locust.sleep_until(end + drain_s)
            recorder, data = locust.finish()
        finally:
            locust.kill()
        Lifecycle._require_requests(locust, recorder, data, start, end)
        cpu = used(before, after)
        cpu.setdefault("load_generator", {}).update(locust.workers_cpu(data, start, end))
        return start, end, cpu, recorder, data

    @staticmethod
    def _require_requests(
        locust: LocustRun, recorder: Recorder, data: dict[str, Any], start: int, end: int
    ) -> None:
        """A window in which a server (or a paired arm) got no request measures nothing: fail
        the cell with Locust's log instead of recording zeros."""
        arms = {label: Recorder.from_encoded(enc) for label, enc in data.get("arms", {}).items()}
        empty = [
            label
            for label, r in (arms or {"the server": recorder}).items()
            if not r.window(start, end).count
        ]
        if empty:
            raise CellFailed(
                f"Locust measured no request to {', '.join(empty)}", tail(locust.log_path, 25)
            )

    def run_cell(self, cell: Cell, run_dir: Path) -> SingleCell:
        """A single-server cell: closed loop or fixed rate, the server alone."""
        spec, scenario = cell.server, self.scenario
        cell_dir = run_dir / "cells" / cell.id
        cell_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            arm = start_arm(
                stack,
                spec,
                self.stores,
                self.server_cores,
                cell_dir / "server.log",
                logins=self.logins,
            )
            server, calibration = arm.server, arm.calibration
            locust = self.locust(
                cell_dir,
                server.url,
                cell.users,
                cell.rate,
                scenario.warmup_s,
                scenario.duration_s,
                path=spec.path,
                seed=cell.index,
                arrivals=cell.arrivals,
                **self.external_options(spec, arm),
            )

            groups = self.alone_groups(spec, arm, locust.pids)
            start, end, cpu, recorder, data = self.measure(
                locust, scenario.warmup_s, scenario.duration_s, lambda: groups([])
            )
        if spec.external:  # measured as the one arm of its own plan
            recorder = Recorder.from_encoded(data["arms"][spec.label])
        figures = summarise(spec, recorder, data, cpu, start, end, cell.rate, db_delay=calibration)
        return SingleCell(
            **dict(figures),
            **dict(counts(recorder.total, data)),
            model=cell.model,
            id=cell.id,
            index=cell.index,
            users=cell.users,
            rate=cell.rate,
            repeat=cell.repeat,
            locust_workers=self.locust_workers,
            server_cores_busy=self.server_cores_busy(figures.cpu_seconds, end - start),
            load_generators=LoadGenerators.of(data.get("workers")),
        )

    @staticmethod
    def external_options(spec: ServerSpec, arm: StartedArm) -> dict[str, Any]:
        """Locust's options for an external arm: the arm at its URL, with the tokens the harness
        got for it (its users log in nowhere); none for a server the harness started."""
        if not spec.external:
            return {}
        return {
            "arms": {spec.label: [arm.server.url, spec.path]},
            "arm_tokens": {spec.label: arm.arm_tokens},
        }

    def alone_groups(
        self, spec: ServerSpec, arm: StartedArm, load_pids: Callable[[], list[int]]
    ) -> Callable[[list[int]], dict[str, list[int]]]:
        """CPU process groups of a server alone: it, PostgreSQL, its Redis and its delay proxy,
        and the load generator (`load_pids`, plus any pids given to the groups). An external
        arm's server and stores are out of view: the load generator alone."""

        def groups(extra: list[int]) -> dict[str, list[int]]:
            if spec.external:
                return {"load_generator": load_pids() + extra}
            found = {
                "server": arm.server.pids(),
                "postgres": self.pg.pids(),
                "load_generator": load_pids() + extra,
            }
            if spec.uses_redis and self.kv is not None:
                found["redis"] = self.kv.pids()
            return {**found, **({"delay_proxy": arm.proxy_pids} if arm.proxy_pids else {})}

        return groups

    @property
    def cores_of_servers(self) -> int:
        """How many cores the servers and their stores have (all of them when not pinned)."""
        return len(self.server_cores) if self.server_cores else (os.cpu_count() or 1)

    def server_cores_busy(self, cpu_seconds: dict[str, float], duration_s: int) -> float | None:
        """How busy the cores of the servers and their stores were, 0..1: every group but the
        load generator, over those cores (all of them when nothing is pinned); None when no
        server was in view (an external arm's)."""
        cores = self.cores_of_servers
        served = [g for g in cpu_seconds if g.rsplit("/", 1)[-1] != "load_generator"]
        if not served:
            return None
        return round(sum(cpu_seconds[g] for g in served) / (duration_s * cores), 3)

    def run_paired(self, cell: PairedCell, run_dir: Path) -> PairedCellRecord:
        """Every arm up at once; one Locust run sends each request to an arm drawn at random."""
        paired, rate = cell.group, cell.rate
        cell_dir = run_dir / "cells" / cell.id
        cell_dir.mkdir(parents=True, exist_ok=True)
        result: dict[str, Any] = {
            "id": cell.id,
            "index": cell.index,
            "model": "paired_unloaded" if rate is None else "paired",
            "group": paired.name,
            "users": cell.users,
            "rate": rate,
            "repeat": cell.repeat,
            "seed": paired.seed * 1000 + cell.index,
            "locust_workers": self.locust_workers,
            "latency_file": f"cells/{cell.id}/latency.json",
        }
        population = self.population(paired.tokens) if paired.tokens else None
        order = shuffled_arms(cell, result["seed"])
        result["arm_order"] = [spec.label for spec in order]
        with contextlib.ExitStack() as stack:
            servers, proxies, calibrations, tokens = self._start_arms(
                stack, order, cell_dir, population
            )
            options: dict[str, Any] = {"arm_tokens": tokens}  # external arms' own
            if population is not None:  # the tokens travel in the load plan
                options = {"tokens": tokens, "popularity": paired.popularity}
                result["population"] = population.describe(paired.popularity)
            urls = {spec.label: [servers[spec.label].url, spec.path] for spec in order}
            locust = self.locust(
                cell_dir,
                next(iter(urls.values()))[0],
                cell.users,
                rate,
                paired.warmup_s,
                paired.duration_s,
                arms=urls,
                seed=result["seed"],
                arrivals=cell.arrivals,
                **options,
            )
            groups = self._paired_groups(cell, servers, proxies, locust)

            def read_affinity() -> None:
                own = next((s.pid for s in servers.values() if s.pid), None)
                result["cpu_affinity"] = affinity(locust.process.pid, own, self.stores.pg_pids())

            start, end, cpu, _, data = self.measure(
                locust, paired.warmup_s, paired.duration_s, groups, during=read_affinity
            )
        seconds = {g: sum(by_pid.values()) for g, by_pid in cpu.items()}
        busy = self.server_cores_busy(seconds, end - start)  # not with an arm out of view
        result["server_cores_busy"] = None if any(s.external for s in order) else busy
        result["load_generators"] = LoadGenerators.of(data.get("workers"))
        return self._paired_result(cell, result, start, end, cpu, data, calibrations)

    def _start_arms(
        self,
        stack: contextlib.ExitStack,
        order: list[ServerSpec],
        cell_dir: Path,
        population: Population | None,
    ):
        """Every arm started in `order` (bench.run.arms), each with its own log; returns, by
        label, the servers, their proxies' pids, what each proxy calibration measured, and the
        tokens minted for each arm when the group has a population (an external arm's own,
        which it never has)."""
        servers, proxies, calibrations, tokens = {}, {}, {}, {}
        for spec in order:
            log_path = cell_dir / f"server-{spec.label}.log"
            arm = start_arm(
                stack, spec, self.stores, self.server_cores, log_path, population, self.logins
            )
            servers[spec.label], proxies[spec.label] = arm.server, arm.proxy_pids
            if arm.calibration is not None:
                calibrations[spec.label] = arm.calibration
            if arm.tokens is not None or arm.arm_tokens is not None:
                tokens[spec.label] = arm.tokens or arm.arm_tokens
        return servers, proxies, calibrations, tokens

    def _paired_groups(self, cell: PairedCell, servers, proxies, locust) -> CpuGroups:
        """CPU process groups per arm: its server, its own PostgreSQL backends, its proxy, and
        the Redis store when the arm is the cell's single Redis user (the store's one process
        serves every Redis arm). An external arm has none: its CPU is out of view."""
        local_db = bool(self.stores.pg_pids())
        redis_arms = [spec.label for spec in cell.arms if spec.uses_redis]
        redis_owner = redis_arms[0] if len(redis_arms) == 1 and self.kv else None
        outside = {spec.label for spec in cell.arms if spec.external}

        def groups() -> dict[str, list[int]]:
            server_pids = {
                label: server.pids() for label, server in servers.items() if label not in outside
            }
            backends = arm_backends(self.pg.url, server_pids) if local_db else {}
            found = {"load_generator": locust.pids()}
            for label, pids in server_pids.items():
                found[f"{label}/server"] = pids
                if local_db:
                    found[f"{label}/postgres"] = backends.get(label, [])
                if proxies[label]:
                    found[f"{label}/delay_proxy"] = proxies[label]
                if label == redis_owner:
                    found[f"{label}/redis"] = self.kv.pids()
            return found

        return groups

    @staticmethod
    def _paired_result(
        cell: PairedCell,
        result: dict[str, Any],
        start: int,
        end: int,
        cpu,
        data: dict[str, Any],
        calibrations,
    ) -> PairedCellRecord:
        """The cell's record: what the run noted on the way (`result`), each arm's figures,
        and the figures the arms share (window, arrivals, the load generator's health)."""
        arms = Lifecycle._paired_arms(cell, start, end, cpu, data, calibrations)
        first = next(iter(arms.values()))
        recorded = sum(Recorder.from_encoded(enc).total for enc in data["arms"].values())
        return PairedCellRecord(
            **result,
            window=first.window,
            requests=sum(arm.requests for arm in arms.values()),
            arrivals=first.arrivals,
            load_generator_peak_core=first.load_generator_peak_core,
            load_generator_bound=first.load_generator_bound,
            arms=arms,
            **dict(counts(recorded, data)),
        )

    @staticmethod
    def _paired_arms(
        cell: PairedCell,
        start: int,
        end: int,
        cpu,
        data: dict[str, Any],
        calibrations,
    ) -> dict[str, Figures]:
        """Each arm's figures over the window: its own process groups, and the load
        generator's CPU divided by every request it sent, whichever arm it went to."""
        arm_recorders = {label: Recorder.from_encoded(enc) for label, enc in data["arms"].items()}
        sent = sum(r.window(start, end).count for r in arm_recorders.values())
        share = cell.rate / len(cell.arms) if cell.rate else None
        arms = {}
        for spec in cell.arms:
            label = spec.label
            own = {
                group.split("/", 1)[1]: by_pid
                for group, by_pid in cpu.items()
                if group.startswith(f"{label}/")
            }
            arms[label] = summarise(
                spec,
                arm_recorders[label],
                {**data, "locust_counts": {}},
                own,
                start,
                end,
                share,
                generator=cpu["load_generator"],
                generator_requests=sent,
                db_delay=calibrations.get(label),
            )
        return arms
