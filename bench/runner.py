"""The runner: one fixed lifecycle for every cell of a scenario.

PostgreSQL up and seeded (once per run) -> for each cell: server started under uvicorn ->
readiness polled with a timeout -> answers verified (a wrong one aborts the run and prints the
server's log) -> Locust started headless as a subprocess -> warm-up discarded -> measured
window in whole seconds, CPU sampled from /proc at both ends -> Locust and the server stopped in
`finally`. run.json is rewritten after every cell, and says how the run ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import results
from bench.cpu import SATURATED_CORE_FRACTION, sample, used
from bench.delay_proxy import ProxyProcess
from bench.environment import collect_environment
from bench.experiments import run_experiments
from bench.locustrun import LOCUST_READY_TIMEOUT_S, LocustRun, verify
from bench.pinning import CoreLayout, pin, plan_layout
from bench.postgres import postgres
from bench.procs import ServerProcess, server_env
from bench.recorder import LATE_AFTER_S, Recorder, percentiles
from bench.redis_server import redis_store
from bench.scenario import Cell, PairedCell, Scenario, ServerSpec
from servers.store import LOAD_TEST_KDF, prepare_database

Output = Callable[[str], None]


def _arm_backends(dsn: str, server_pids: dict[str, list[int]]) -> dict[str, list[int]]:
    """Per arm, the PostgreSQL backends serving it: the servers name their pool connections
    `authbench-<kind>-<worker pid>` (application_name), so pg_stat_activity tells them apart."""

    async def fetch() -> list[tuple[int, str]]:
        import asyncpg

        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT pid, application_name FROM pg_stat_activity "
                "WHERE application_name LIKE 'authbench-%'"
            )
        finally:
            await conn.close()
        return [(row["pid"], row["application_name"]) for row in rows]

    owner = {pid: arm for arm, pids in server_pids.items() for pid in pids}
    found: dict[str, list[int]] = {arm: [] for arm in server_pids}
    for backend, application in asyncio.run(fetch()):
        worker = application.rsplit("-", 1)[-1]
        if worker.isdigit() and int(worker) in owner:
            found[owner[int(worker)]].append(backend)
    return found


def _affinity(generator: int, server: int, database: list[int]) -> dict[str, list[int] | None]:
    """The cores each kind of process may run on, read back from the live processes."""

    def cores(pid: int | None) -> list[int] | None:
        try:
            return sorted(os.sched_getaffinity(pid)) if pid else None
        except OSError:
            return None

    return {
        "load_generator": cores(generator),
        "servers": cores(server),
        "postgres": cores(database[0] if database else None),
    }


def _window(scenario_warmup_s: float, duration_s: int) -> tuple[int, int]:
    start = math.ceil(time.time() + scenario_warmup_s)
    return start, start + duration_s


def summarise(
    recorder: Recorder,
    data: dict[str, Any],
    cpu: dict[str, dict[int, float]],
    start: int,
    end: int,
    offered_rps: float | None,
    generator: dict[int, float] | None = None,
    generator_requests: int | None = None,
) -> dict[str, Any]:
    """One server's figures over the measured window.

    `cpu` holds this server's own process groups; `generator` is the load generator's CPU by
    pid, shared by every arm of a paired cell and divided by all the requests it sent
    (`generator_requests`), so its per-request figure is the same for every arm.
    """
    window = recorder.window(start, end)
    duration = end - start
    requests = window.count
    ok = window.statuses.get(200, 0)
    generator = cpu.get("load_generator", {}) if generator is None else generator
    groups = {**cpu, "load_generator": generator}
    sent = requests if generator_requests is None else generator_requests
    cpu_seconds = {group: round(sum(by_pid.values()), 6) for group, by_pid in groups.items()}
    per_request: dict[str, float | None] = {}
    for group, seconds in cpu_seconds.items():
        divisor = sent if group == "load_generator" else requests
        per_request[group] = round(seconds / divisor * 1e6, 2) if divisor else None
    measured_groups = [v for g, v in per_request.items() if v is not None and groups[g]]
    per_request["total"] = round(sum(measured_groups), 2) if requests else None
    peak_core = max((s / duration for s in generator.values()), default=0.0)
    locust_counts = data.get("locust_counts", {})
    return {
        "window": {"start": start, "end": end, "duration_s": duration},
        "requests": requests,
        "ok": ok,
        "statuses": {str(code): n for code, n in sorted(window.statuses.items())},
        "error_count": requests - ok,
        "throughput_rps": round(requests / duration, 1),
        "ok_rps": round(ok / duration, 1),
        "offered_rps": offered_rps,
        "latency_us": percentiles(window.service),
        "corrected_latency_us": percentiles(window.corrected),
        "auth_us": percentiles(window.auth),
        "late_starts": window.late,
        "cpu_seconds": cpu_seconds,
        "cpu_us_per_request": per_request,
        "cpu_processes": {group: len(by_pid) for group, by_pid in groups.items()},
        "load_generator_peak_core": round(peak_core, 3),
        "load_generator_cpu_warnings": data.get("cpu_warnings", 0),
        "load_generator_bound": peak_core > SATURATED_CORE_FRACTION
        or data.get("cpu_warnings", 0) > 0,
        "recorded_requests_total": recorder.total,
        "locust_requests_total": locust_counts.get("measured"),
        "counts_agree": recorder.total == locust_counts.get("measured"),
        "distributed": data.get("distributed", False),
        "timeline": recorder.timeline(),
    }


class Lifecycle:
    """What every cell shares: the database, the core layout, Locust's worker count."""

    def __init__(self, scenario: Scenario, pg, workers: int, layout: CoreLayout | None, kv=None):
        self.scenario, self.pg, self.workers, self.layout = scenario, pg, workers, layout
        self.kv = kv  # the Redis-compatible session store, when a server keeps sessions there

    @property
    def server_cores(self) -> tuple[int, ...] | None:
        return self.layout.servers if self.layout else None

    @property
    def generator_cores(self) -> tuple[int, ...] | None:
        return self.layout.load_generator if self.layout else None

    def start_server(self, stack: contextlib.ExitStack, spec: ServerSpec, log_path: Path):
        """The server of `spec` (behind its delay proxy, if any), started and verified.

        Returns the server, what the proxy calibration measured, and the proxy's pids."""
        env = server_env(spec, self.pg, self.kv)
        calibration, proxy_pids = None, []
        if spec.db_delay_ms is not None:
            # The proxy goes where the per-request lookup goes: Redis for a Redis-store server.
            url_key, target = (
                ("REDIS_URL", self.kv.tcp_url)
                if spec.uses_redis
                else ("DATABASE_URL", self.pg.tcp_dsn)
            )
            proxy = stack.enter_context(ProxyProcess(target, spec.db_delay_ms))
            if self.server_cores:
                pin([proxy.process.pid], self.server_cores)
            calibration = proxy.calibrate()
            env[url_key] = proxy.dsn
            proxy_pids = [proxy.process.pid]
        server = ServerProcess(
            spec.server, env, workers=spec.workers, log_path=log_path, cpus=self.server_cores
        )
        stack.enter_context(server)
        verify(server, needs_auth=spec.server != "control", path=spec.path)
        return server, calibration, proxy_pids

    def locust(self, cell_dir: Path, url: str, users: int, rate: float | None,
               warmup_s: float, duration_s: int, **options) -> LocustRun:  # fmt: skip
        # --run-time is a bound, never reached normally: the runner stops Locust after the window.
        run_time_s = int(LOCUST_READY_TIMEOUT_S + warmup_s + duration_s + 30)
        return LocustRun(url, cell_dir, users, rate, self.scenario.seeded_users, self.workers,
                         run_time_s, cpus=self.generator_cores, **options)  # fmt: skip

    def run_cell(self, cell: Cell, run_dir: Path) -> dict[str, Any]:
        """A single-server cell: closed loop or fixed rate, the server alone."""
        spec, scenario = cell.server, self.scenario
        cell_dir = run_dir / "cells" / cell.id
        cell_dir.mkdir(parents=True, exist_ok=True)
        result = {
            "id": cell.id,
            "index": cell.index,
            "label": spec.label,
            "server": spec.server,
            "settings": spec.settings,
            "server_workers": spec.workers,
            "path": spec.path,
            "locust_workers": self.workers,
            "model": cell.model,
            "users": cell.users,
            "rate": cell.rate,
            "repeat": cell.repeat,
        }
        with contextlib.ExitStack() as stack:
            server, calibration, proxy_pids = self.start_server(
                stack, spec, cell_dir / "server.log"
            )
            if calibration is not None:
                result["db_delay"] = calibration
            locust = self.locust(
                cell_dir, server.url, cell.users, cell.rate, scenario.warmup_s,
                scenario.duration_s, path=spec.path,
            )  # fmt: skip
            try:
                locust.wait_ready()
                start, end = _window(scenario.warmup_s, scenario.duration_s)

                def groups() -> dict[str, list[int]]:
                    found = {
                        "server": server.pids(),
                        "postgres": self.pg.pids(),
                        "load_generator": locust.pids(),
                    }
                    if spec.uses_redis and self.kv is not None:
                        found["redis"] = self.kv.pids()
                    return {**found, **({"delay_proxy": proxy_pids} if proxy_pids else {})}

                locust.sleep_until(start)
                before = sample(groups())
                locust.sleep_until(end)
                after = sample(groups())
                recorder, data = locust.finish()
            finally:
                locust.kill()
        result.update(summarise(recorder, data, used(before, after), start, end, cell.rate))
        return result

    def run_paired(self, cell: PairedCell, run_dir: Path) -> dict[str, Any]:
        """Every arm up at once; one Locust run sends each request to an arm drawn at random."""
        paired = cell.group
        cell_dir = run_dir / "cells" / cell.id
        cell_dir.mkdir(parents=True, exist_ok=True)
        rate = cell.rate
        result: dict[str, Any] = {
            "id": cell.id,
            "index": cell.index,
            "model": "paired_unloaded" if rate is None else "paired",
            "group": paired.name,
            "users": cell.users,
            "rate": rate,
            "repeat": cell.repeat,
            "seed": paired.seed * 1000 + cell.index,
            "locust_workers": self.workers,
            "latency_file": f"cells/{cell.id}/latency.json",
            "arms": {},
        }
        with contextlib.ExitStack() as stack:
            servers, proxies, calibrations = {}, {}, {}
            for spec in cell.arms:
                server, calibration, proxy_pids = self.start_server(
                    stack, spec, cell_dir / f"server-{spec.label}.log"
                )
                servers[spec.label], proxies[spec.label] = server, proxy_pids
                if calibration is not None:
                    calibrations[spec.label] = calibration
            paths = {spec.label: spec.path for spec in cell.arms}
            urls = {label: [server.url, paths[label]] for label, server in servers.items()}
            locust = self.locust(
                cell_dir, next(iter(urls.values()))[0], cell.users, rate,
                paired.warmup_s, paired.duration_s, arms=urls, seed=result["seed"],
            )  # fmt: skip
            try:
                locust.wait_ready()
                start, end = _window(paired.warmup_s, paired.duration_s)
                local_db = bool(self.pg.pids())
                # The store's one process serves every Redis arm: its CPU is an arm's own only
                # when that arm is the cell's single Redis user.
                redis_arms = [spec.label for spec in cell.arms if spec.uses_redis]
                redis_owner = redis_arms[0] if len(redis_arms) == 1 and self.kv else None

                def groups() -> dict[str, list[int]]:
                    server_pids = {label: server.pids() for label, server in servers.items()}
                    backends = _arm_backends(self.pg.dsn, server_pids) if local_db else {}
                    found = {"load_generator": locust.pids()}
                    for label, pids in server_pids.items():
                        found[f"{label}/server"] = pids
                        found[f"{label}/postgres"] = backends.get(label, [])
                        if proxies[label]:
                            found[f"{label}/delay_proxy"] = proxies[label]
                        if label == redis_owner:
                            found[f"{label}/redis"] = self.kv.pids()
                    return found

                locust.sleep_until(start)
                before = sample(groups())
                result["cpu_affinity"] = _affinity(
                    locust.process.pid, next(iter(servers.values())).pid, self.pg.pids()
                )
                locust.sleep_until(end)
                after = sample(groups())
                _, data = locust.finish()
            finally:
                locust.kill()
        cpu = used(before, after)
        arm_recorders = {
            label: Recorder.from_encoded(encoded) for label, encoded in data["arms"].items()
        }
        sent = sum(r.window(start, end).count for r in arm_recorders.values())
        share = rate / len(cell.arms) if rate else None
        for spec in cell.arms:
            label = spec.label
            own = {
                group.split("/", 1)[1]: by_pid
                for group, by_pid in cpu.items()
                if group.startswith(f"{label}/")
            }
            if not local_db:
                own.pop("postgres", None)
            arm = summarise(
                arm_recorders[label], {**data, "locust_counts": {}}, own, start, end, share,
                generator=cpu["load_generator"], generator_requests=sent,
            )  # fmt: skip
            for key in ("recorded_requests_total", "locust_requests_total", "counts_agree"):
                arm.pop(key)
            arm.update(
                label=label, server=spec.server, settings=spec.settings,
                server_workers=spec.workers, path=spec.path,
            )  # fmt: skip
            if label in calibrations:
                arm["db_delay"] = calibrations[label]
            result["arms"][label] = arm
        first = next(iter(result["arms"].values()))
        locust_counts = data.get("locust_counts", {})
        recorded = sum(r.total for r in arm_recorders.values())
        result.update(
            window=first["window"],
            requests=sent,
            load_generator_peak_core=first["load_generator_peak_core"],
            load_generator_bound=first["load_generator_bound"],
            recorded_requests_total=recorded,
            locust_requests_total=locust_counts.get("measured"),
            counts_agree=recorded == locust_counts.get("measured"),
        )
        return result


class Progress:
    """Which cell, how many done and left, and about how long is left."""

    def __init__(self, cells: int, per_cell_guess_s: float, out: Output):
        self.cells, self.guess, self.out = cells, per_cell_guess_s, out
        self.started = time.monotonic()
        self.done = 0

    def begin(self, cell: Cell) -> None:
        left = self.cells - self.done
        per_cell = (time.monotonic() - self.started) / self.done if self.done else self.guess
        self.out(
            f"[{cell.index:>3}/{self.cells}] {cell.describe()}  "
            f"(elapsed {_clock(time.monotonic() - self.started)}, "
            f"about {_clock(per_cell * left)} left)"
        )

    def end(self, result: dict[str, Any]) -> None:
        self.done += 1
        if "arms" in result:
            width = max(len(label) for label in result["arms"])
            for label, arm in result["arms"].items():
                self.out(self._line(arm, f"{label:<{width}}  "))
        else:
            self.out(self._line(result))

    @staticmethod
    def _line(result: dict[str, Any], prefix: str = "") -> str:
        lat, cpu = result["latency_us"] or {}, result["cpu_us_per_request"]
        flags = "  [load generator bound]" if result["load_generator_bound"] else ""
        if result["error_count"]:
            flags += f"  [{result['error_count']} errors]"
        return (
            f"        {prefix}{result['ok_rps']:>8,.0f} req/s  p50 {lat.get('p50', 0):>6,.0f} µs  "
            f"p99 {lat.get('p99', 0):>7,.0f} µs  server {cpu.get('server') or 0:>6.1f} µs/req"
            f"{flags}"
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
        workers: int | None = None,
        out: Output = print,
        pin: bool = True,
    ):
        self.scenario, self.out = scenario, out
        self.plan = scenario.plan()
        self.workers = scenario.locust_workers if workers is None else workers
        self.layout = plan_layout(load_generator_processes=max(1, self.workers)) if pin else None
        self.run_dir = results.new_run_dir(root, label or scenario.name)
        self.record = {
            "format": results.FORMAT_VERSION,
            "label": label or scenario.name,
            "status": "running",
            "started_at": results.utc_now(),
            "finished_at": None,
            "scenario": scenario.as_dict(),
            "settings": {
                "locust_workers": self.workers,
                "seed_kdf": f"scrypt n={LOAD_TEST_KDF.n} r={LOAD_TEST_KDF.r} p={LOAD_TEST_KDF.p}",
                "late_after_ms": round(LATE_AFTER_S * 1000, 3),
                "pinned": self.layout is not None,
                "cpu_layout": self.layout.as_dict() if self.layout else None,
            },
            "environment": collect_environment(),
            "planned_cells": len(self.plan),
            "cells": [],
            "micro": None,
        }
        self.save()

    def save(self) -> None:
        results.write_run(self.run_dir, self.record)

    def run(self) -> Path:
        """Every cell, with run.json rewritten after each. Returns the run folder."""
        record, scenario, out = self.record, self.scenario, self.out
        out(f"run folder: {self.run_dir}  ({len(self.plan)} cells; {scenario.description})")
        try:
            with postgres() as pg, redis_store(scenario.needs_redis) as kv:
                embedded = pg.owned
                record["environment"]["postgres_version"] = pg.version
                record["environment"]["postgres_source"] = (
                    "embedded" if embedded else "DATABASE_URL"
                )
                asyncio.run(
                    prepare_database(pg.dsn, scenario.seeded_users, scenario.seeded_sessions)
                )
                if kv is not None:
                    record["environment"]["redis_version"] = kv.version
                    record["environment"]["redis_source"] = "embedded" if kv.owned else "REDIS_URL"
                if self.layout is not None:
                    pin(pg.pids(), self.layout.servers)  # backends forked later inherit it
                    if kv is not None:
                        pin(kv.pids(), self.layout.servers)
                    out(
                        f"cores: load generator on {_cores(self.layout.load_generator)}, "
                        f"servers and PostgreSQL on {_cores(self.layout.servers)} (--no-pin: off)"
                    )
                if scenario.micro != "off":
                    self.micro(pg, kv)
                per_cell_guess = scenario.warmup_s + scenario.duration_s + 3.5
                progress = Progress(len(self.plan), per_cell_guess, out)
                lifecycle = Lifecycle(scenario, pg, self.workers, self.layout, kv)
                for cell in self.plan:
                    progress.begin(cell)
                    if isinstance(cell, PairedCell):
                        result = lifecycle.run_paired(cell, self.run_dir)
                    else:
                        result = lifecycle.run_cell(cell, self.run_dir)
                    record["cells"].append(result)
                    self.save()
                    progress.end(result)
                for kind, result in run_experiments(scenario, pg, self.run_dir, out, kv):
                    record.setdefault(kind, []).append(result)
                    self.save()
            record["status"] = "complete"
        except KeyboardInterrupt:
            record["status"] = "interrupted"
            raise
        except BaseException as exc:
            record["status"] = "failed"
            record["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise
        finally:
            record["finished_at"] = results.utc_now()
            self.save()
        return self.run_dir

    def micro(self, pg, kv=None) -> None:
        from bench.micro import format_micro, run_micro, transports

        self.out("micro-benchmarks (in-process, no HTTP) ...")
        dsns, redis_urls = transports(pg, kv)
        self.record["micro"] = run_micro(dsns, self.scenario.micro, redis_urls)
        self.save()
        self.out(format_micro(self.record["micro"]))
