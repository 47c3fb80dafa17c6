"""Loading a run and turning its cells into tidy rows: what every table, plot and sentence reads.

A single-server cell gives one row; a paired cell gives one row per arm (its fixed total rate
as a fixed-rate point, the unloaded mode as a closed loop with one user). Repeats fold into
points by median. Servers are told apart by their kind and settings, never by their labels.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from bench.analysis.model import RunModel, build
from bench.results import RunRecord, load_run
from bench.results.cell_records import Cell, Measurement
from bench.results.experiment_records import MicroRecord, Timing

CPU_GROUPS = ("server", "postgres", "redis", "load_generator")
# What a figure that could not be measured shows as, never 0: an external arm's CPU and its
# store's (out of the harness's view), its Server-Timing when its answers carry none.
NOT_MEASURED = "not measured"


@dataclass
class Run:
    """A run folder and what it recorded, of any format read as the current one."""

    path: Path
    record: RunRecord

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def cells(self) -> list[Cell]:
        return self.record.cells

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def labels(self) -> list[str]:
        """Every server label measured, in order; the A/A copy of a paired arm left out."""
        seen: list[str] = []
        for row in cell_rows(self):
            if row["label"] not in seen and not row["a_a_copy"]:
                seen.append(row["label"])
        return seen

    @cached_property
    def model(self) -> RunModel:
        """Who is who in this run, as it recorded it (bench.analysis.model)."""
        return build(self.record)

    @property
    def a_a_labels(self) -> set[str]:
        """The labels of the A/A copies of paired arms."""
        return {g.a_a.a for g in self.model.groups if g.a_a}

    @property
    def reference_rate(self) -> float | None:
        """The headline's total rate: as the scenario set it, or resolved from its reference
        fraction (the claim group's rate given that fraction of its capacity)."""
        scenario = self.record.scenario
        if scenario.reference_rate is not None or scenario.reference_fraction is None:
            return scenario.reference_rate
        claim = next((g.name for g in scenario.paired if g.question == "claim"), None)
        return self.reference_rate_of(claim) if claim else None

    def reference_rate_of(self, group: str) -> float | None:
        """A paired group's rate at the scenario's reference load: its own rate at the reference
        fraction of ITS capacity when loads are fractions (each group of the runtimes scenario
        has its own), else the scenario's reference rate."""
        scenario = self.record.scenario
        found = next((g for g in scenario.paired if g.name == group), None)
        fraction = scenario.reference_fraction
        if found is None or fraction is None or not found.load_fractions:
            return scenario.reference_rate
        resolved = found.rates[len(found.rates) - len(found.load_fractions) :]
        for rate, given in zip(resolved, found.load_fractions, strict=True):
            if math.isclose(given, fraction):
                return rate
        return None

    @property
    def micro(self) -> MicroRecord | None:
        return self.record.micro


def load(path: str | Path) -> Run:
    """A run folder (results/<stamp>-<label>), checked. Raises ResultsError naming the problem."""
    return Run(Path(path), load_run(path))


def saturated_fraction(run: Run) -> float:
    """The share of a core above which the run marked its load generator as the bottleneck."""
    return run.record.settings.saturated_core_fraction


def _get(mapping: dict | None, key: str) -> Any:
    return None if mapping is None else mapping.get(key)


def measured_figures(run: Run) -> Iterable[Measurement]:
    """Every server's figures in every cell, as a point of its load model: a single-server
    cell's own, or each arm of a paired cell (at a fixed total rate a fixed-rate point, the
    unloaded one a closed loop with one user: their figures have the same meaning)."""
    for cell in run.cells:
        yield from cell.measurements()


def cell_rows(run: Run) -> list[dict[str, Any]]:
    """One flat row per measured server and cell: the figures the tables and plots use."""
    rows = []
    a_a = run.a_a_labels
    for m in measured_figures(run):
        figures = m.figures
        latency, corrected = figures.latency_us, figures.corrected_latency_us
        cpu = figures.cpu_us_per_request
        arrivals = figures.arrivals
        rows.append(
            {
                "id": m.id,
                "label": figures.label,
                "server": figures.server,
                "paired": m.paired,
                "a_a_copy": m.paired and figures.label in a_a,
                "group": m.group,
                "model": m.model,
                "users": m.users,
                "rate": m.rate,
                "repeat": m.repeat,
                "ok_rps": figures.ok_rps,
                "errors": figures.error_count,
                "p50_us": _get(latency, "p50"),
                "p90_us": _get(latency, "p90"),
                "p99_us": _get(latency, "p99"),
                "p99_9_us": _get(latency, "p99.9"),
                "max_us": _get(latency, "max"),
                "mean_us": _get(latency, "mean"),
                "corrected_p50_us": _get(corrected, "p50"),
                "corrected_p99_us": _get(corrected, "p99"),
                "corrected_p99_9_us": _get(corrected, "p99.9"),
                "corrected_max_us": _get(corrected, "max"),
                "corrected_mean_us": _get(corrected, "mean"),
                "auth_p50_us": _get(figures.auth_us, "p50"),
                "late_starts": figures.late_starts,
                **{f"cpu_{group}_us": cpu.get(group) for group in CPU_GROUPS},
                "cpu_service_us": _service_cpu(cpu),
                "load_generator_bound": figures.load_generator_bound,
                "cores_busy": m.cores_busy,
                "cache_hit_share": figures.cache_hit_share,
                "arrivals": arrivals.process if arrivals else None,
                "gap_cv": arrivals.gap_cv if arrivals else None,
                "latency": latency,
                "corrected": corrected,
            }
        )
    return rows


def _service_cpu(cpu: dict[str, Any]) -> float | None:
    """What serving one request costs: server plus its stores (PostgreSQL, Redis), without the
    load generator."""
    if cpu.get("server") is None:
        return None
    return round(cpu["server"] + (cpu.get("postgres") or 0.0) + (cpu.get("redis") or 0.0), 2)


def without_timing(run: Run) -> list[str]:
    """The external arms whose answers carried no Server-Timing: their auth time not measured."""
    timed = {row["label"] for row in cell_rows(run) if row["auth_p50_us"] is not None}
    return [label for label in run.model.external if label not in timed]


def shown(run: Run, rows: Sequence[dict[str, Any]], columns: Iterable[str], key: str = "server"):
    """Rows as a table shows them: where an external arm's figure in `columns` is None, it was
    not measured (out of view, or not sent), and says so instead of a dash."""
    outside = {label for label, server in run.model.servers.items() if server.external}
    columns = tuple(columns)
    return [
        {**row, **{c: NOT_MEASURED for c in columns if row.get(c) is None}}
        if row.get(key) in outside
        else row
        for row in rows
    ]


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) - min(present) if len(present) > 1 else None


def _number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def points(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Repeats folded into one row per (label, model, users, rate): medians, spread, flags."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["label"], row["model"], row["users"], row["rate"], row["group"])
        groups.setdefault(key, []).append(row)
    folded = []
    # Any column that is a number or None in every row that has it (corrected_* only at fixed
    # rate), kept even when all None (an external arm's CPU, Server-Timing no arm sent).
    keys = {key for row in rows for key in row}
    numeric = sorted(key for key in keys if all(_number_or_none(row.get(key)) for row in rows))
    for (label, model, users, rate, group), members in groups.items():
        row = {
            "label": label,
            "model": model,
            "users": users,
            "rate": rate,
            "group": group,
            "repeats": len(members),
        }
        for key in numeric:
            if key in row or key == "repeat":
                continue
            row[key] = median(m[key] for m in members)
        row["p50_spread_us"] = spread(m["p50_us"] for m in members)
        row["corrected_p50_spread_us"] = spread(m.get("corrected_p50_us") for m in members)
        row["cpu_service_spread_us"] = spread(m["cpu_service_us"] for m in members)
        row["load_generator_bound"] = any(m["load_generator_bound"] for m in members)
        row["paired"] = any(m["paired"] for m in members)
        row["a_a_copy"] = any(m["a_a_copy"] for m in members)
        row["errors"] = sum(m["errors"] for m in members)
        folded.append(row)
    return folded


def at_rate(run: Run, rate: float | None = None) -> dict[str, dict[str, Any]]:
    """Per label, the folded fixed-rate point at `rate` (the scenario's reference by default)."""
    rate = rate if rate is not None else run.reference_rate
    found = [
        p
        for p in points(cell_rows(run))
        if p["model"] == "fixed_rate" and p["rate"] == rate and not p.get("a_a_copy")
    ]
    # A server measured in several paired groups: the claim group's figures win.
    claim = run.model.claim.name if run.model.claim else ""
    found.sort(key=lambda p: p["group"] in ("", claim))
    return {p["label"]: p for p in found}


def busiest_closed(run: Run) -> dict[str, dict[str, Any]]:
    """Per label, the folded closed-loop point with the most users (closest to saturation)."""
    best: dict[str, dict[str, Any]] = {}
    for p in points(cell_rows(run)):
        if (
            p["model"] == "closed"
            and not p["paired"]
            and (p["label"] not in best or p["users"] > best[p["label"]]["users"])
        ):
            best[p["label"]] = p
    return best


def arm_figures(run: Run, group: str, rate: float | None) -> dict[str, dict[str, Any]]:
    """Per arm of a paired group at one rate (None: unloaded), its figures folded over the
    repeats (medians): latency, auth time, CPU per request by process, throughput."""
    model = "closed" if rate is None else "fixed_rate"
    return {
        p["label"]: p
        for p in points(cell_rows(run))
        if p["paired"] and p["group"] == group and p["rate"] == rate and p["model"] == model
    }


def micro_timings(run: Run) -> dict[str, Timing]:
    """The run's micro-benchmarks by name; empty when it ran none."""
    return {t.name: t for t in run.micro.timings} if run.micro else {}


def token_sizes(run: Run) -> dict[str, int]:
    """Every token's size in bytes by kind (opaque, HS256, ...); empty without micro-benchmarks."""
    return dict(run.micro.token_bytes) if run.micro else {}


def micro_figure(run: Run, name: str) -> float | None:
    """The median µs per call of one micro-benchmark, None if the run did not time it."""
    timing = micro_timings(run).get(name)
    return timing.us_median if timing else None


def micro_rows(run: Run, groups: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The micro-benchmarks as rows (those of `groups` only, if given), for a table."""
    timings = micro_timings(run).values()
    return [t.model_dump() for t in timings if not groups or t.group in groups]


STORE_NAMES = {"postgres": "PostgreSQL", "redis": "Redis"}
