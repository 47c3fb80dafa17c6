"""Synthetic runs for the read-side tests, written the way the harness writes a run: the scenario
through the real scenario types (so run.json records the same facts and roles), paired cells with
per-second HdrHistograms in latency files, closed-loop cells with CPU figures. Every figure is
chosen by the test, so its truth is known."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench import analysis
from bench.load.recorder import Recorder
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
) -> list[dict]:
    """Every paired cell of the scenario's plan, with latency files: each arm lognormal around
    `medians(arm, repeat, rate)`; `extra(cell, arm)` may add figures to an arm."""
    rng = np.random.default_rng(seed)
    cells = []
    for cell in sc.plan():
        if cell.model != "paired":
            continue
        recorders = {spec.label: Recorder() for spec in cell.arms}
        for second in range(START, START + seconds):
            for spec in cell.arms:
                median = medians(spec.label, cell.repeat, cell.rate)
                for value in rng.lognormal(np.log(median), 0.25, per_second):
                    recorders[spec.label].record(second, value, 200, auth_us=median / 3)
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
        cells.append(
            {
                "id": cell.id,
                "model": "paired" if cell.rate else "paired_unloaded",
                "group": cell.group.name,
                "users": cell.users,
                "rate": cell.rate,
                "repeat": cell.repeat,
                "requests": per_second * seconds * len(cell.arms),
                "window": {"start": START, "end": START + seconds, "duration_s": seconds},
                "latency_file": f"cells/{cell.id}/latency.json",
                "arms": arms,
                "server_cores_busy": 0.5,
                "load_generator_bound": False,
            }
        )
    return cells


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
    figures = {
        "label": spec.label,
        "server": spec.server,
        "settings": spec.settings,
        "requests": requests,
        "ok_rps": requests / 10,
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
        "corrected_latency_us": {"p50": p50 * 1.02, "p99": p50 * 3.1, "max": p50 * 10},
        "auth_us": {"p50": p50 / 3},
        "cpu_us_per_request": {
            "server": server_us,
            "postgres": postgres_us,
            "redis": redis_us,
            "load_generator": 90.0,
        },
        "cache_hit_share": hits / requests if requests else None,
        "load_generator_bound": False,
        "arrivals": {"process": "poisson", "seed": 1, "gap_cv": 1.0} if rate else None,
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
    return {
        "id": f"{label}-closed-{repeat}",
        "model": "closed",
        "users": users,
        "rate": None,
        "repeat": repeat,
        "server_cores_busy": busy,
        **arm_figures(spec, 600.0, int(rps * 10), None, server_us, postgres_us, ok_rps=rps),
    }


def write(path: Path, sc: Scenario, cells: list[dict], **extra: Any) -> analysis.Run:
    """run.json as the harness writes it (current format), then loaded as the notebooks do."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "cells").mkdir(exist_ok=True)
    meta = {
        "format": 2,
        "status": "complete",
        "scenario": sc.as_dict(),
        "settings": {"saturated_core_fraction": 0.9, "late_after_ms": 2.0},
        "environment": {"cpu_model": "synthetic", "cpu_count": 2},
        "cells": cells,
        **extra,
    }
    (path / "run.json").write_text(json.dumps(meta))
    return analysis.load(path)


def run_sentences() -> dict[str, Callable]:
    """Every analysis.*_sentence that takes a run (its other parameters have defaults)."""
    import inspect

    found = {}
    for name in analysis.__all__:
        function = getattr(analysis, name)
        if name.endswith("_sentence") and callable(function):
            parameters = list(inspect.signature(function).parameters.values())
            if (
                parameters
                and parameters[0].name == "run"
                and all(p.default is not p.empty for p in parameters[1:])
            ):
                found[name] = function
    return found
