"""Synthetic runs for the read-side tests, written the way the harness writes a run: through the
results format's types (bench.results: a test cannot write a shape the harness never writes),
the scenario through the real scenario types (so run.json records the same facts and roles),
paired cells with per-second HdrHistograms in latency files, closed-loop cells with CPU figures.
Every figure is chosen by the test, so its truth is known."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench import analysis
from bench.load.recorder import Recorder
from bench.results import RunRecord, write_run
from bench.results.load_records import CapacityRecord, CurveSpecRecord
from bench.results.run_settings import Environment, RunSettings
from bench.results.scenario_records import ScenarioRecord
from bench.run.scenario import PairedSpec, Scenario, ServerSpec

START = 1_000
SERVERS = (
    ServerSpec("control", "control"),
    ServerSpec("session", "session"),
    ServerSpec("jwt_auth", "jwt_auth"),
)


def scenario(servers=SERVERS, groups: tuple[PairedSpec, ...] = (), **changes) -> Scenario:
    base = {
        "name": "synthetic",
        "path": "synthetic.toml",
        "servers": tuple(servers),
        "warmup_s": 1,
        "duration_s": 5,
        "repeats": 3,
        "reference_rate": 1000.0,
    }
    return Scenario(**{**base, "paired": tuple(groups), **changes})


def claim_group(**changes) -> PairedSpec:
    base = {
        "arms": ("session", "jwt_auth", "control"),
        "pairs": (("session", "jwt_auth"), ("session", "control"), ("jwt_auth", "control")),
        "a_a": "jwt_auth",
        "baseline": "jwt_auth",
        "rates": (1000.0,),
        "unloaded": False,
    }
    return PairedSpec(**{**base, **changes})


Medians = Callable[[str, int, float | None], float]  # (arm, repeat, rate) -> median µs


def paired_cells(
    path: Path,
    sc: Scenario,
    medians: Medians,
    seconds: int = 10,
    per_second: int = 100,
    seed: int = 7,
    extra: Callable | None = None,
    waits: Medians | None = None,
) -> list[dict]:
    """Every paired cell of the scenario's plan, with latency files: each arm's service time
    lognormal around `medians(arm, repeat, rate)`; at a fixed rate its response time (from the
    intended start) that plus `waits(arm, repeat, rate)` µs (0 by default); `extra(cell, arm)`
    may add figures to an arm."""
    rng = np.random.default_rng(seed)
    cells = []
    for cell in sc.plan():
        if cell.model != "paired":
            continue
        recorders = {spec.label: Recorder() for spec in cell.arms}
        for second in range(START, START + seconds):
            for spec in cell.arms:
                median = medians(spec.label, cell.repeat, cell.rate)
                wait = waits(spec.label, cell.repeat, cell.rate) if waits and cell.rate else 0.0
                for value in rng.lognormal(np.log(median), 0.25, per_second):
                    corrected = value + wait if cell.rate else None
                    recorders[spec.label].record(
                        second, value, 200, auth_us=median / 3, corrected_us=corrected
                    )
        (path / "cells" / cell.id).mkdir(parents=True, exist_ok=True)
        latency = {"arms": {label: r.encode() for label, r in recorders.items()}}
        (path / "cells" / cell.id / "latency.json").write_text(json.dumps(latency))
        arms = {}
        for spec in cell.arms:
            median = medians(spec.label, cell.repeat, cell.rate)
            arms[spec.label] = arm_figures(
                spec,
                median,
                per_second * seconds,
                cell.rate,
                **(extra(cell, spec.label) if extra else {}),
            )
        requests = per_second * seconds * len(cell.arms)
        cells.append(
            {
                "id": cell.id,
                "index": cell.index,
                "model": "paired" if cell.rate else "paired_unloaded",
                "group": cell.group.name,
                "users": cell.users,
                "rate": cell.rate,
                "repeat": cell.repeat,
                "seed": cell.group.seed * 1000 + cell.index,
                "locust_workers": 0,
                "latency_file": f"cells/{cell.id}/latency.json",
                "arm_order": [spec.label for spec in cell.arms],
                "cpu_affinity": {"load_generator": [0], "servers": [1], "postgres": [1]},
                "window": window(seconds),
                "requests": requests,
                "arrivals": arrivals(cell.rate),
                "load_generator_peak_core": 0.5,
                "load_generator_bound": False,
                "server_cores_busy": 0.5,
                "arms": arms,
                **counts(requests),
            }
        )
    return cells


def claim_run(
    tmp: Path,
    session: float,
    jwt: float = 800,
    control: float = 400,
    repeats=3,
    extra=None,
    groups=(),
    servers=(),
    **changes,
):
    """The claim group at 1000 req/s (and unloaded), medians per arm, each repeat shifting every
    arm alike."""
    table = {"session": session, "jwt_auth": jwt, "jwt_auth_aa": jwt, "control": control}
    shift = (0, 30, -30, 15, -15, 0)
    sc = scenario(
        servers=(*SERVERS, *servers),
        groups=(claim_group(unloaded=True), *groups),
        repeats=repeats,
        **changes,
    )

    def medians(arm, repeat, rate):
        base = table.get(arm) or extra_medians.get(arm, 700)
        return base * (0.3 if rate is None else 1.0) + shift[repeat - 1]

    extra_medians = dict(extra or {})
    return sc, paired_cells(tmp, sc, medians)


def window(seconds: int = 10) -> dict[str, int]:
    return {"start": START, "end": START + seconds, "duration_s": seconds}


def arrivals(rate: float | None) -> dict[str, Any] | None:
    return {"process": "poisson", "seed": 1, "gap_cv": 1.0} if rate else None


def db_delay(set_ms: float, added_ms: float) -> dict[str, float]:
    """A delay proxy's calibration: `set_ms` asked, `added_ms` measured."""
    return {
        "set_rtt_ms": set_ms,
        "direct_rtt_us": 80.0,
        "proxied_rtt_us": 80.0 + added_ms * 1000,
        "added_rtt_ms": added_ms,
    }


def counts(requests: int) -> dict[str, Any]:
    return {
        "recorded_requests_total": requests,
        "locust_requests_total": requests,
        "counts_agree": True,
    }


def arm_figures(
    spec: ServerSpec,
    p50: float,
    requests: int,
    rate: float | None,
    server_us: float = 100.0,
    postgres_us: float = 0.0,
    redis_us: float = 0.0,
    late: int = 0,
    hits: int = 0,
    **more: Any,
) -> dict[str, Any]:
    cpu = {"server": server_us, "postgres": postgres_us, "redis": redis_us, "load_generator": 90.0}
    figures = {
        "label": spec.label,
        "server": spec.server,
        "settings": spec.settings,
        "server_workers": spec.workers,
        "path": spec.path,
        "window": window(),
        "requests": requests,
        "ok": requests,
        "statuses": {"200": requests},
        "throughput_rps": requests / 10,
        "ok_rps": requests / 10,
        "offered_rps": rate,
        "error_count": 0,
        "late_starts": late,
        "latency_us": {
            "p50": p50,
            "p90": p50 * 1.5,
            "p99": p50 * 3,
            "p99.9": p50 * 5,
            "max": p50 * 10,
            "mean": p50 * 1.1,
        },
        "corrected_latency_us": {
            "p50": p50 * 1.02,
            "p90": p50 * 1.53,
            "p99": p50 * 3.1,
            "p99.9": p50 * 5.1,
            "max": p50 * 10,
            "mean": p50 * 1.12,
        },
        "auth_us": {"p50": p50 / 3},
        "cache_hits": hits,
        "cache_hit_share": hits / requests if requests else None,
        "arrivals": arrivals(rate),
        "cpu_seconds": {group: us * requests / 1e6 for group, us in cpu.items()},
        "cpu_us_per_request": cpu,
        "cpu_cores_busy": {group: us * requests / 1e7 for group, us in cpu.items()},
        "cpu_processes": {group: 1 for group in cpu},
        "load_generator_peak_core": 0.5,
        "load_generator_cpu_warnings": 0,
        "load_generator_bound": False,
        "distributed": False,
        "timeline": [],
    }
    figures.update(more)
    return figures


def closed_cell(
    label: str,
    kind: str,
    repeat: int,
    server_us: float,
    postgres_us: float = 0.0,
    users: int = 16,
    rps: float = 9000.0,
    busy: float = 0.9,
) -> dict[str, Any]:
    spec = ServerSpec(label, kind)
    requests = int(rps * 10)
    return {
        "id": f"{label}-closed-{repeat}",
        "index": repeat,
        "model": "closed",
        "users": users,
        "rate": None,
        "repeat": repeat,
        "locust_workers": 0,
        "server_cores_busy": busy,
        **counts(requests),
        **arm_figures(spec, 600.0, requests, None, server_us, postgres_us, ok_rps=rps),
    }


def record(
    sc: Scenario,
    cells: list[dict],
    settings: dict[str, Any] | None = None,
    scenario_changes: Callable[[ScenarioRecord], ScenarioRecord] | None = None,
    **extra: Any,
) -> RunRecord:
    """A finished run as the harness records it, through the format's types: `settings`
    changes the run's settings, `scenario_changes` the scenario as recorded (what the scenario
    types cannot say yet: a load curve), `extra` adds experiments (micro, revocation,
    availability) and capacities."""
    chosen = {
        "late_after_ms": 2.0,
        "locust_workers": 0,
        "seed_kdf": "scrypt n=1024 r=8 p=1",
        "pinned": False,
        "cpu_layout": None,
        **(settings or {}),
    }
    return RunRecord(
        label="synthetic",
        status="complete",
        started_at="2026-12-01T00:00:00+00:00",
        finished_at="2026-12-01T00:10:00+00:00",
        scenario=(scenario_changes or (lambda r: r))(sc.record()),
        settings=RunSettings.model_validate(chosen),
        environment=Environment(cpu_model="synthetic", cpu_count=2),
        planned_cells=len(cells),
        cells=cells,
        **extra,
    )


def write(
    path: Path,
    sc: Scenario,
    cells: list[dict],
    settings: dict[str, Any] | None = None,
    scenario_changes: Callable[[ScenarioRecord], ScenarioRecord] | None = None,
    **extra: Any,
) -> analysis.Run:
    """run.json as the harness writes it (the current format, through its types), then loaded
    as the notebooks do."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "cells").mkdir(exist_ok=True)
    write_run(path, record(sc, cells, settings, scenario_changes, **extra))
    return analysis.load(path)


def timing(name: str, us: float, group: str = "g") -> dict[str, Any]:
    """One micro-benchmark timed at `us` µs per call, with a narrow spread."""
    return {
        "name": name,
        "group": group,
        "us_median": us,
        "us_min": us * 0.9,
        "us_p25": us * 0.95,
        "us_p75": us * 1.05,
        "batches": 5,
        "calls_per_batch": 10,
        "note": "",
    }


def micro(token_bytes: dict[str, int] | None = None, **figures: float) -> dict[str, Any]:
    """Micro-benchmarks timed at `figures` (name=µs), and the tokens' sizes."""
    sizes = token_bytes or {"opaque": 43, "HS256": 288, "RS256": 587}
    return {
        "level": "quick",
        "timings": [timing(name, us) for name, us in figures.items()],
        "token_bytes": sizes,
        "authorization_header_bytes": {k: v + 22 for k, v in sizes.items()},
    }


def revocation(label: str = "session", kind: str = "session", **changes: Any) -> dict[str, Any]:
    """The revocation probe of one server: refused at once unless `changes` say otherwise."""
    return {
        "label": label,
        "server": kind,
        "settings": {},
        "hosts": 2,
        "logout_status": 204,
        "probe_for_s": 3.0,
        "probes": 300,
        "accepted_after_logout": 0,
        "last_accepted_ms": None,
        "first_refused_ms": 0.0,
        "still_accepted_at_end": False,
        "token_valid_for_s": None,
        "other_statuses": [],
        "samples": [],
        **changes,
    }


def availability(label: str = "session", kind: str = "session", **changes: Any) -> dict[str, Any]:
    """The availability experiment of one server: failed closed, recovered; `changes` alter it."""
    return {
        "label": label,
        "server": kind,
        "settings": {},
        "store": "postgres",
        "revoked_accepted": 0,
        "unanswered_before_sigterm": 0,
        "slowest_answer_ms": 12.4,
        "outage_statuses": {"503": 50},
        "recovered_after_s": 0.003,
        "after_sigterm_statuses": {"0": 12},
        "events": {"database_down": 3.0, "database_up": 6.2},
        "timeline": [],
        "probes": [],
        "rate": 200.0,
        "duration_s": 14,
        **changes,
    }


def read_side(suffix: str) -> dict[str, Callable]:
    """Every analysis.*`suffix` function (`_sentence`, `_rows`) that takes a run and nothing else
    without a default."""
    import inspect

    found = {}
    for name in analysis.__all__:
        function = getattr(analysis, name)
        if name.endswith(suffix) and callable(function):
            parameters = list(inspect.signature(function).parameters.values())
            if (
                parameters
                and parameters[0].name == "run"
                and all(p.default is not p.empty for p in parameters[1:])
            ):
                found[name] = function
    return found


def run_sentences() -> dict[str, Callable]:
    """Every analysis.*_sentence that takes a run (its other parameters have defaults)."""
    return read_side("_sentence")


# --- load curves ---------------------------------------------------------------------------------

CURVE_FRACTIONS = (0.1, 0.4, 0.7, 0.85, 0.95)
# Service demand (server plus its store, µs of the servers' core per request) by server.
SERVICE_US = {"session": 95.0, "jwt_auth": 73.0, "control": 26.0}
Curve = Callable[[str, float, int], float]  # (server, rate, repeat) -> µs


def capacity(label: str, service_us: float, cores: int = 1) -> dict[str, Any]:
    """A server's capacity as the run side records it, from its closed loop."""
    return {
        "label": label,
        "cell": f"{label}-closed-1",
        "service_us": service_us,
        "cores": cores,
        "capacity_rps": cores * 1e6 / service_us,
        "closed_rps": 0.9 * cores * 1e6 / service_us,
        "cores_busy": 0.9,
        "lower_bound": False,
    }


def queueing(base_us: float, service_us: float, rate: float, factor: float = 1.0) -> float:
    """A median that queues as M/M/1 would: base + factor × S ρ/(1 − ρ), ρ capped at 0.97."""
    rho = min(rate * service_us * 1e-6, 0.97)
    return base_us + factor * service_us * rho / (1 - rho)


def curve_cells(
    path: Path,
    rates: tuple[float, ...],
    fractions: tuple[float, ...],
    service: Curve,
    waits: Curve | None = None,
    busy: Callable[[str, float], float] | None = None,
    late: Callable[[str, float, int], int] | None = None,
    servers: tuple[str, ...] = ("session", "jwt_auth", "control"),
    repeats: int = 3,
    seconds: int = 5,
    per_second: int = 200,
    seed: int = 11,
) -> list[dict]:
    """Every block of a load curve as CurveCells with latency files: each server's service time
    lognormal around `service(server, rate, repeat)`, its response time that plus
    `waits(...)` (0 by default); the servers' core `busy(server, rate)` (ρ = λS by default);
    `late(...)` requests started late."""
    rng = np.random.default_rng(seed)
    cells, index = [], 0
    for repeat in range(1, repeats + 1):
        for rate, fraction in zip(rates, fractions, strict=True):
            for block, label in enumerate(
                servers[repeat % len(servers) :] + servers[: repeat % len(servers)]
            ):
                index += 1
                median = service(label, rate, repeat)
                wait = waits(label, rate, repeat) if waits else 0.0
                recorder = Recorder()
                for second in range(START, START + seconds):
                    for value in rng.lognormal(np.log(median), 0.25, per_second):
                        recorder.record(
                            second, value, 200, auth_us=median / 3, corrected_us=value + wait
                        )
                cid = f"c{index:03d}-curve-{label}-r{rate:g}-{repeat}"
                (path / "cells" / cid).mkdir(parents=True, exist_ok=True)
                (path / "cells" / cid / "latency.json").write_text(
                    json.dumps({"arms": {label: recorder.encode()}})
                )
                requests = per_second * seconds
                figures = arm_figures(
                    ServerSpec(label, label),
                    median,
                    requests,
                    rate,
                    server_us=SERVICE_US.get(label, 50.0),
                    late=late(label, rate, repeat) if late else 0,
                    window=window(seconds),
                    throughput_rps=rate,
                    ok_rps=rate,
                )
                cells.append(
                    {
                        **figures,
                        "model": "curve",
                        "id": cid,
                        "index": index,
                        "repeat": repeat,
                        "block": block,
                        "rate": rate,
                        "load_fraction": fraction,
                        "driver": "locust" if fraction < 0.5 else "open_loop",
                        "driver_reason": "synthetic",
                        "users": 64,
                        "latency_file": f"cells/{cid}/latency.json",
                        "server_cores_busy": busy(label, rate)
                        if busy
                        else min(rate * SERVICE_US.get(label, 50.0) * 1e-6, 1.0),
                        "locust_workers": 0,
                    }
                )
    return cells


def curve_run(
    path: Path,
    service: Curve,
    waits: Curve | None = None,
    fractions: tuple[float, ...] = CURVE_FRACTIONS,
    concurrent: tuple[float, ...] = (),
    together: Curve | None = None,
    capacity_of: str = "session",
    **changes: Any,
) -> analysis.Run:
    """A run of the curve scenario: the capacities, each server alone at `fractions` of
    `capacity_of`'s capacity, and (`concurrent`) the pair {session, jwt_auth} at once at twice
    the curve's rate at those fractions, its arms' medians `together(arm, rate per arm,
    repeat)` (as alone by default)."""
    demand = {label: us for label, us in SERVICE_US.items()}
    rates = tuple(round(f * 1e6 / demand[capacity_of], 1) for f in fractions)
    cells = curve_cells(path, rates, fractions, service, waits, **changes)
    pair = PairedSpec(
        ("session", "jwt_auth"),
        (("session", "jwt_auth"),),
        name="together",
        question="other",
        rates=tuple(2 * rates[fractions.index(f)] for f in concurrent),
        unloaded=False,
    )
    sc = scenario(groups=(pair,) if concurrent else ())
    if concurrent:
        alike = together or service
        cells += paired_cells(
            path,
            sc,
            lambda arm, repeat, rate: alike(arm, rate / 2, repeat),
            seconds=5,
            per_second=200,
        )
    asked = CurveSpecRecord(
        servers=["session", "jwt_auth", "control"],
        capacity_of=capacity_of,
        fractions=list(fractions),
        rates=list(rates),
        arrivals="poisson",
        repeats=3,
        warmup_s=1.5,
        duration_s=5,
        connections=64,
        users=16,
        driver="auto",
        pairs=[("session", "jwt_auth")],
        margin_fraction=0.1,
        concurrent=list(concurrent),
    )

    def with_curve(record: ScenarioRecord) -> ScenarioRecord:
        groups = [g.model_copy(update={"question": "interference"}) for g in record.paired]
        return record.model_copy(update={"curve": asked, "paired": groups})

    capacities = {
        label: CapacityRecord.model_validate(capacity(label, us)) for label, us in demand.items()
    }
    return write(path, sc, cells, scenario_changes=with_curve, capacity=capacities)
