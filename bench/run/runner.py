"""The runner: one run of a scenario, from the stores to the last experiment.

PostgreSQL (and Valkey, when a server keeps sessions there) up, seeded and pinned once per run
(bench.system.datastores) -> cores split between the load generator and the rest ->
micro-benchmarks -> every cell through one lifecycle (bench.run.cells; the load curve's blocks
through bench.run.curve_blocks) -> the revocation and availability experiments -> everything
stopped in `finally`. run.json is rewritten after every cell, and says how the run ended.

After the first repeat's closed-loop cells, each server's capacity is recorded and the loads
given as fractions of capacity are resolved to rates, once (bench.run.capacities): the rest of
the plan runs at those rates, and every load is said as both.

External arms (`url =` entries: deployments the harness did not start) are checked before the
run folder is made (bench.run.arms.check_external_arms), and said once at the start.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench import results
from bench.load.recorder import LATE_AFTER_S
from bench.load.remote_workers import RemoteWorkers
from bench.results.cell_records import Cell as CellRecord
from bench.results.cell_records import Figures
from bench.results.run_settings import (
    MAX_LATE_SHARE,
    CpuLayout,
    Environment,
    RemoteWorkersRecord,
    RunSettings,
)
from bench.run import capacities
from bench.run.arms import check_external_arms
from bench.run.cells import Lifecycle
from bench.run.curve_blocks import CurveRun
from bench.run.environment import collect_environment
from bench.run.experiments import run_experiments
from bench.run.scenario import Scenario
from bench.run.scenario_plan import Cell, CurveBlock, PairedCell, PlannedCell
from bench.system.datastores import Stores, stores
from bench.system.pinning import plan_layout
from servers.store import LOAD_TEST_KDF

Output = Callable[[str], None]


class Progress:
    """Which cell, how many done and left, and about how long is left."""

    def __init__(self, cells: int, per_cell_guess_s: float, out: Output):
        self.cells, self.guess, self.out = cells, per_cell_guess_s, out
        self.started = time.monotonic()
        self.done = 0

    def begin(self, cell: PlannedCell) -> None:
        left = self.cells - self.done
        per_cell = (time.monotonic() - self.started) / self.done if self.done else self.guess
        self.out(
            f"[{cell.index:>3}/{self.cells}] {cell.describe()}  "
            f"(elapsed {_clock(time.monotonic() - self.started)}, "
            f"about {_clock(per_cell * left)} left)"
        )

    def end(self, result: CellRecord) -> None:
        """A line per server the cell measured, labelled when it measured several."""
        self.done += 1
        measured = result.measurements()
        width = max(len(m.figures.label) for m in measured) if len(measured) > 1 else 0
        for m in measured:
            self.out(self._line(m.figures, f"{m.figures.label:<{width}}  " if width else ""))
        busy = measured[0].cores_busy
        if measured[0].rate is not None and busy is not None:
            self.out(f"        the servers' core measured {busy:.0%} busy")
        elif measured[0].rate is not None:
            self.out("        the servers' core: not measured (an external arm's is out of view)")

    @staticmethod
    def _line(figures: Figures, prefix: str = "") -> str:
        """Response time (from each intended start) where there is one, else service time."""
        lat = figures.corrected_latency_us or figures.latency_us or {}
        kind = "response" if figures.corrected_latency_us else "service"
        cpu = figures.cpu_us_per_request
        flags = "  [load generator bound]" if figures.load_generator_bound else ""
        if figures.late_starts > MAX_LATE_SHARE * figures.requests:
            flags += f"  [{figures.late_starts / figures.requests:.0%} started late]"
        if figures.error_count:
            flags += f"  [{figures.error_count} errors]"
        server = cpu.get("server")  # None: out of view (an external arm), never 0
        said = f"server {server:>6.1f} µs/req" if server is not None else "server CPU not measured"
        return (
            f"        {prefix}{figures.ok_rps:>8,.0f} req/s  p50 {lat.get('p50', 0):>6,.0f} µs  "
            f"p99 {lat.get('p99', 0):>7,.0f} µs ({kind})  {said}{flags}"
        )


def _cores(cores: tuple[int, ...]) -> str:
    return ("core " if len(cores) == 1 else "cores ") + ",".join(map(str, cores))


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Runner:
    """One run of a scenario. The folder exists from the start, so it can be named on failure."""

    def __init__(
        self,
        scenario: Scenario,
        root: Path,
        label: str | None = None,
        locust_workers: int | None = None,
        out: Output = print,
        pin: bool = True,
        remote: RemoteWorkers | None = None,
    ):
        self.scenario, self.out, self.remote = scenario, out, remote
        # The external arms reachable and answering as the contract says (one line each),
        # before the run folder exists: a wrong URL or password leaves no folder behind.
        self.external, self.logins = check_external_arms(scenario)
        self.plan = scenario.plan()
        self.locust_workers = scenario.locust_workers if locust_workers is None else locust_workers
        self.layout = (
            plan_layout(load_generator_processes=max(1, self.locust_workers)) if pin else None
        )
        self.run_dir = results.new_run_dir(root, label or scenario.name)
        self.record = results.RunRecord(
            label=label or scenario.name,
            status="running",
            started_at=results.utc_now(),
            finished_at=None,
            scenario=scenario.record(),
            settings=RunSettings(
                locust_workers=self.locust_workers,
                seed_kdf=f"scrypt n={LOAD_TEST_KDF.n} r={LOAD_TEST_KDF.r} p={LOAD_TEST_KDF.p}",
                remote_workers=RemoteWorkersRecord(**remote.as_dict()) if remote else None,
                late_after_ms=round(LATE_AFTER_S * 1000, 3),
                pinned=self.layout is not None,
                cpu_layout=CpuLayout(**self.layout.as_dict()) if self.layout else None,
            ),
            environment=Environment.model_validate(collect_environment()),
            planned_cells=len(self.plan),
            cells=[],
        )
        self.save()

    def save(self) -> None:
        results.write_run(self.run_dir, self.record)

    def run(self) -> Path:
        """Every cell, with run.json rewritten after each. Returns the run folder."""
        record, scenario, out = self.record, self.scenario, self.out
        out(f"run folder: {self.run_dir}  ({len(self.plan)} cells; {scenario.description})")
        if self.external:
            out("external arms (started by no one here; their CPU and their stores' not measured):")
            for line in self.external:
                out(line)
        try:
            cores = self.layout.servers if self.layout is not None else None
            with self.stores(cores) as up:
                pg, kv = up.pg, up.kv
                for key, value in up.facts().items():
                    setattr(record.environment, key, value)
                if self.layout is not None:
                    out(
                        f"cores: load generator on {_cores(self.layout.load_generator)}, "
                        f"servers and PostgreSQL on {_cores(self.layout.servers)} (--no-pin: off)"
                    )
                if scenario.micro != "off" and pg is not None:
                    self.micro(pg, kv)
                per_cell_guess = scenario.warmup_s + scenario.duration_s + 3.5
                progress = Progress(len(self.plan), per_cell_guess, out)
                lifecycle = Lifecycle(scenario, up, self.locust_workers, self.layout)
                lifecycle.logins = self.logins  # the tokens got at the check, reused
                if self.remote is not None:
                    lifecycle.remote, lifecycle.last_cell = (
                        self.remote,
                        self.plan[-1].id if self.plan else None,
                    )
                    out(self.remote.waiting_line())
                self.cells(lifecycle, progress)
                for kind, result in run_experiments(scenario, pg, self.run_dir, out, kv):
                    getattr(record, kind).append(result)
                    self.save()
            record.status = "complete"
        except KeyboardInterrupt:
            record.status = "interrupted"
            raise
        except BaseException as exc:
            record.status = "failed"
            record.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise
        finally:
            record.finished_at = results.utc_now()
            self.save()
        return self.run_dir

    def stores(self, cores: tuple[int, ...] | None):
        """The run's stores, up and seeded; none when every arm is external (nothing here would
        use them), said in one line, with no micro-benchmarks either."""
        scenario = self.scenario
        if all(spec.external for spec in scenario.servers):
            self.out("no server is started here: no PostgreSQL, and no micro-benchmarks")
            return contextlib.nullcontext(Stores(None))
        return stores(
            scenario.needs_redis, scenario.seeded_users, scenario.seeded_sessions, cores=cores
        )

    def cells(self, lifecycle: Lifecycle, progress: Progress) -> None:
        """Every cell of the plan in order, run.json rewritten after each; the loads given as
        fractions resolved once the first repeat's closed loop is done; the curve's servers
        stopped between its repeats and whatever ends the run."""
        curve = CurveRun(lifecycle, self.run_dir, self.out) if self.scenario.curve else None
        resolved = None
        try:
            for planned in self.plan:
                first_closed = isinstance(planned, Cell) and planned.model == "closed"
                if resolved is None and not (first_closed and planned.repeat == 1):
                    resolved = self.resolve(lifecycle)
                rate = resolved.rate(planned) if resolved else None
                cell = planned if rate is None else replace(planned, rate=rate)
                progress.begin(cell)
                if isinstance(cell, CurveBlock):
                    result = curve.block(cell)
                else:
                    if curve is not None:
                        curve.close()
                    if isinstance(cell, PairedCell):
                        result = lifecycle.run_paired(cell, self.run_dir)
                    else:
                        result = lifecycle.run_cell(cell, self.run_dir)
                self.record.cells.append(result)
                self.save()
                progress.end(result)
            if resolved is None:
                self.resolve(lifecycle)
        finally:
            if curve is not None:
                curve.close()

    def resolve(self, lifecycle: Lifecycle) -> capacities.Resolved:
        """Each server's capacity from the first repeat's closed loop, and every load given as
        a fraction of one resolved to a rate: recorded, and said."""
        found = capacities.capacities(self.record.cells, lifecycle.cores_of_servers)
        resolved = capacities.resolve(self.scenario, found)
        capacities.record(self.record, self.scenario, resolved)
        self.save()
        if found:
            for line in capacities.lines(self.scenario, resolved):
                self.out(line)
        return resolved

    def micro(self, pg, kv=None) -> None:
        from bench.run.microbench import format_micro, run_micro, transports

        self.out("micro-benchmarks (in-process, no HTTP) ...")
        dsns, redis_urls = transports(pg, kv)
        self.record.micro = run_micro(dsns, self.scenario.micro, redis_urls)
        self.save()
        self.out(format_micro(self.record.micro))
        if any(spec.runtime == "node" for spec in self.scenario.servers):
            from bench.run.microbench import node_micro

            self.out("micro-benchmarks of the Node.js twins ...")
            node = node_micro(pg.url, self.scenario.micro, self.out)
            self.record.micro_runtimes = {"node": node}
            self.save()
            self.out(format_micro(node))
