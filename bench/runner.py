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
import http.client
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import results
from bench.cpu import sample, used
from bench.delay_proxy import ProxyProcess
from bench.environment import collect_environment
from bench.postgres import EmbeddedPostgres, postgres
from bench.procs import ServerFailed, ServerProcess
from bench.proctree import signal_tree, tree
from bench.recorder import Recorder, percentiles
from bench.scenario import Cell, Scenario
from servers.store import SEED_PASSWORD, Scrypt, apply_schema, seed_sessions, seed_users

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOCUST_READY_TIMEOUT_S = 60.0
LOCUST_STOP_TIMEOUT_S = 30.0
SATURATED_CORE_FRACTION = 0.9
# Seeded load-test accounts get a cheap scrypt record: every Locust user logs in once during
# warm-up, and login is not what is measured. The record carries its parameters, so the
# servers verify it exactly as they would any other.
BENCH_KDF = Scrypt(n=2**10, r=8, p=1)

Output = Callable[[str], None]


class CellFailed(ServerFailed):
    """A cell that could not be measured; `log` holds the server's or Locust's output."""


def prepare_database(dsn: str, scenario: Scenario) -> None:
    async def prepare() -> None:
        import asyncpg

        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await apply_schema(conn)
            await seed_users(conn, scenario.seeded_users, kdf=BENCH_KDF)
            have = await conn.fetchval("SELECT count(*) FROM authbench.sessions")
            if have < scenario.seeded_sessions:
                await seed_sessions(conn, scenario.seeded_sessions - have, scenario.seeded_users)
            await conn.execute("ANALYZE authbench.users; ANALYZE authbench.sessions")
        finally:
            await conn.close()

    asyncio.run(prepare())


def verify(server: ServerProcess, needs_auth: bool) -> None:
    """Before any load: the server answers login, /me and a missing token as it should."""

    def ask(method: str, path: str, headers: dict[str, str], body: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wrong(what: str) -> CellFailed:
        return CellFailed(f"{server.name} answered wrongly: {what}", server.log())

    body = json.dumps({"username": "user00001", "password": SEED_PASSWORD}).encode()
    status, _, payload = ask("POST", "/login", {"content-type": "application/json"}, body)
    if status != 200:
        raise wrong(f"POST /login gave {status}: {payload[:200]!r}")
    token = json.loads(payload)["token"]
    status, headers, payload = ask("GET", "/me", {"authorization": f"Bearer {token}"})
    if status != 200 or "user_id" not in json.loads(payload):
        raise wrong(f"GET /me with a fresh token gave {status}: {payload[:200]!r}")
    if not headers.get("server-timing", "").startswith("auth;dur="):
        raise wrong("GET /me has no Server-Timing: auth;dur=... header")
    if needs_auth:
        status, headers, _ = ask("GET", "/me", {})
        if status != 401 or not headers.get("www-authenticate", "").startswith("Bearer"):
            raise wrong(f"GET /me without a token gave {status}, not 401 with a Bearer challenge")


class LocustRun:
    """Locust headless as a subprocess, its output in `out_dir`; `kill` in `finally`."""

    def __init__(self, url: str, out_dir: Path, users: int, rate: float | None,
                 seeded_users: int, workers: int, run_time_s: int):  # fmt: skip
        self.output, self.ready = out_dir / "latency.json", out_dir / "locust.ready"
        self.log_path = out_dir / "locust.log"
        env = {
            **os.environ,
            "AUTHBENCH_OUTPUT": str(self.output),
            "AUTHBENCH_READY_FILE": str(self.ready),
            "AUTHBENCH_RATE": str(rate or 0),
            "AUTHBENCH_USERS": str(users),
            "AUTHBENCH_SEEDED_USERS": str(seeded_users),
        }
        argv = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "-u", str(users), "-r", str(users), "--host", url,
            "--csv", str(out_dir / "locust"), "--only-summary", "--loglevel", "WARNING",
            "--stop-timeout", "0", "--run-time", f"{run_time_s}s", "--exit-code-on-error", "0",
        ]  # fmt: skip
        if workers:
            argv += ["--processes", str(workers)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def pids(self) -> list[int]:
        return tree(self.process.pid)

    def log(self) -> str:
        return _tail(self.log_path)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + LOCUST_READY_TIMEOUT_S
        while not self.ready.exists():
            if self.process.poll() is not None:
                raise CellFailed(
                    f"Locust exited at start-up with code {self.process.returncode}", self.log()
                )
            if time.monotonic() > deadline:
                raise CellFailed("Locust did not spawn its users in time", self.log())
            time.sleep(0.05)

    def sleep_until(self, deadline: float) -> None:
        while (left := deadline - time.time()) > 0:
            if self.process.poll() is not None:
                raise CellFailed(
                    f"Locust exited early with code {self.process.returncode}", self.log()
                )
            time.sleep(min(left, 0.05))

    def finish(self) -> tuple[Recorder, dict[str, Any]]:
        """SIGTERM (Locust writes its results on the way out), then read what it recorded."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(LOCUST_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CellFailed("Locust did not stop within 30 s", self.log()) from None
        if not self.output.exists():
            raise CellFailed("Locust wrote no latency file", self.log())
        data = json.loads(self.output.read_text())
        return Recorder.from_encoded(data), data

    def kill(self) -> None:
        if self.process.poll() is None:
            signal_tree(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def measure(cell: Cell, scenario: Scenario, pg, server: ServerProcess, cell_dir: Path,
            workers: int, extra_groups: dict[str, list[int]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Drive the server with Locust and return the cell's figures."""
    # --run-time is a bound, never reached normally: the runner stops Locust after the window.
    run_time_s = int(LOCUST_READY_TIMEOUT_S + scenario.warmup_s + scenario.duration_s + 30)
    locust = LocustRun(
        server.url, cell_dir, cell.users, cell.rate, scenario.seeded_users, workers, run_time_s
    )
    try:
        locust.wait_ready()
        start = math.ceil(time.time() + scenario.warmup_s)
        end = start + scenario.duration_s

        def groups() -> dict[str, list[int]]:
            found = {
                "server": server.pids(),
                "postgres": pg.pids(),
                "load_generator": locust.pids(),
            }
            return {**found, **(extra_groups or {})}

        locust.sleep_until(start)
        before = sample(groups())
        locust.sleep_until(end)
        after = sample(groups())
        recorder, data = locust.finish()
    finally:
        locust.kill()
    return summarise(cell, recorder, data, used(before, after), start, end)


def summarise(
    cell: Cell,
    recorder: Recorder,
    data: dict[str, Any],
    cpu: dict[str, dict[int, float]],
    start: int,
    end: int,
) -> dict[str, Any]:
    window = recorder.window(start, end)
    duration = end - start
    requests = window.count
    ok = window.statuses.get(200, 0)
    cpu_seconds = {group: round(sum(by_pid.values()), 6) for group, by_pid in cpu.items()}
    per_request = {
        group: round(seconds / requests * 1e6, 2) if requests else None
        for group, seconds in cpu_seconds.items()
    }
    measured_groups = [v for g, v in per_request.items() if v is not None and cpu[g]]
    per_request["total"] = round(sum(measured_groups), 2) if requests else None
    generator = cpu.get("load_generator", {})
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
        "offered_rps": cell.rate,
        "latency_us": percentiles(window.service),
        "corrected_latency_us": percentiles(window.corrected),
        "auth_us": percentiles(window.auth),
        "late_starts": window.late,
        "cpu_seconds": cpu_seconds,
        "cpu_us_per_request": per_request,
        "cpu_processes": {group: len(by_pid) for group, by_pid in cpu.items()},
        "load_generator_peak_core": round(peak_core, 3),
        "load_generator_cpu_warnings": data.get("cpu_warnings", 0),
        "load_generator_bound": peak_core > SATURATED_CORE_FRACTION
        or data.get("cpu_warnings", 0) > 0,
        "recorded_requests_total": recorder.total,
        "locust_requests_total": locust_counts.get("/me"),
        "counts_agree": recorder.total == locust_counts.get("/me"),
        "distributed": data.get("distributed", False),
        "timeline": recorder.timeline(),
    }


def run_cell(cell: Cell, scenario: Scenario, pg, run_dir: Path, workers: int) -> dict[str, Any]:
    spec = cell.server
    cell_dir = run_dir / "cells" / cell.id
    cell_dir.mkdir(parents=True, exist_ok=True)
    result = {
        "id": cell.id,
        "index": cell.index,
        "label": spec.label,
        "server": spec.server,
        "settings": spec.settings,
        "server_workers": spec.workers,
        "locust_workers": workers,
        "model": cell.model,
        "users": cell.users,
        "rate": cell.rate,
        "repeat": cell.repeat,
    }
    env = {"DATABASE_URL": pg.dsn, **spec.settings}
    extra_groups: dict[str, list[int]] = {}
    with contextlib.ExitStack() as stack:
        if spec.db_delay_ms is not None:
            proxy = stack.enter_context(ProxyProcess(pg.tcp_dsn, spec.db_delay_ms))
            result["db_delay"] = proxy.calibrate()
            env["DATABASE_URL"] = proxy.dsn
            extra_groups["delay_proxy"] = [proxy.process.pid]
        server = ServerProcess(
            spec.server, env, workers=spec.workers, log_path=cell_dir / "server.log"
        )
        stack.enter_context(server)
        verify(server, needs_auth=spec.server != "control")
        result.update(measure(cell, scenario, pg, server, cell_dir, workers, extra_groups))
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
        lat, cpu = result["latency_us"] or {}, result["cpu_us_per_request"]
        flags = "  [load generator bound]" if result["load_generator_bound"] else ""
        if result["error_count"]:
            flags += f"  [{result['error_count']} errors]"
        self.out(
            f"        {result['ok_rps']:>8,.0f} req/s  p50 {lat.get('p50', 0):>6,.0f} us  "
            f"p99 {lat.get('p99', 0):>7,.0f} us  server {cpu.get('server') or 0:>6.1f} us/req"
            f"{flags}"
        )


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
    ):
        self.scenario, self.out = scenario, out
        self.plan = scenario.plan()
        self.workers = scenario.locust_workers if workers is None else workers
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
                "seed_kdf": f"scrypt n={BENCH_KDF.n} r={BENCH_KDF.r} p={BENCH_KDF.p}",
                "late_after_ms": 2,
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
            with postgres() as pg:
                embedded = isinstance(pg, EmbeddedPostgres)
                record["environment"]["postgres_version"] = pg.version
                record["environment"]["postgres_source"] = (
                    "embedded" if embedded else "DATABASE_URL"
                )
                prepare_database(pg.dsn, scenario)
                if scenario.micro != "off":
                    self.micro(pg, embedded)
                per_cell_guess = scenario.warmup_s + scenario.duration_s + 3.5
                progress = Progress(len(self.plan), per_cell_guess, out)
                for cell in self.plan:
                    progress.begin(cell)
                    result = run_cell(cell, scenario, pg, self.run_dir, self.workers)
                    record["cells"].append(result)
                    self.save()
                    progress.end(result)
                from bench.experiments import run_experiments

                run_experiments(scenario, pg, self.run_dir, record, self.save, out)
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

    def micro(self, pg, embedded: bool) -> None:
        from bench.micro import format_micro, run_micro

        self.out("micro-benchmarks (in-process, no HTTP) ...")
        dsns = {"unix_socket": pg.dsn, "tcp": pg.tcp_dsn} if embedded else {"tcp": pg.dsn}
        self.record["micro"] = run_micro(dsns, self.scenario.micro)
        self.save()
        self.out(format_micro(self.record["micro"]))
