"""The load curve: each server alone on the servers' core, open loop, at the same absolute rates
from a tenth of a server's capacity to past its knee; what each point measured, the gap between
two servers at every rate, each server's knee, a queueing model over the measurements, and
what running the arms at once (the paired design) changes in the gap.

The unit of every interval is the repeat (every server starts afresh in each repeat, and the
servers take turns in blocks in an order shuffled per repeat). Latency here is the response
time (from each request's intended start: what a user waits), service time (from the moment a
request left the client) is kept beside it, and the gap between the two is what a closed-loop
or service-time tester hides. A point whose client started more than the run's
`max_late_share` of its requests late did not keep its schedule, and is marked.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bench.analysis import loads
from bench.analysis.intervals import Seconds, paired_estimates, pooled_quantile, t_interval
from bench.analysis.latency_files import curve_data
from bench.analysis.queueing import MODELS, knee, model_curve
from bench.analysis.runs import Run
from bench.analysis.verdicts import (
    PairVerdict,
    decide,
    estimated,
    paired_verdicts,
    quantiles_for,
    rule,
)
from bench.results.cell_records import CurveCell
from bench.results.load_records import CurveSpecRecord

GROUP = "curve"  # the gap rows' group and question


def pair(run: Run) -> tuple[str, str] | None:
    """The pair the curve's answer is about (its first), else the claim's headline pair."""
    asked = spec(run)
    if asked is not None and asked.pairs:
        return tuple(asked.pairs[0])
    claim = run.model.claim
    return (claim.headline.a, claim.headline.b) if claim else None


def spec(run: Run) -> CurveSpecRecord | None:
    """The load curve as the run asked it, if it has one with cells."""
    asked = run.record.scenario.curve
    return asked if asked is not None and loads.curve_cells(run) else None


@dataclass(frozen=True)
class CurvePoint:
    """One server at one offered rate, folded over the repeats: medians of the per-repeat
    figures, and t intervals over the repeats for the response time's p50 and p99."""

    server: str
    rate: float
    load_fraction: float
    achieved_rps: float
    utilisation: float | None  # the servers' core, measured (0..1)
    p50_us: float  # response time
    p50_ci_low_us: float
    p50_ci_high_us: float
    p99_us: float
    p99_ci_low_us: float
    p99_ci_high_us: float
    p50_service_us: float
    p99_service_us: float
    mean_us: float  # response time's mean (what a queueing model predicts)
    late_fraction: float  # the worst repeat's share of requests that started late
    schedule_kept: bool
    errors: int
    driver: str
    driver_reason: str
    repeats: int
    requests: int
    kind: str = "curve"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _mean(repeat: Seconds) -> float:
    values = [v for v, _ in repeat.values()]
    if not values:
        return math.nan
    counts = np.concatenate([c for _, c in repeat.values()])
    return float(np.average(np.concatenate(values), weights=counts))


def _quantiles(repeats: Sequence[Seconds], q: float) -> tuple[float, float, float]:
    """(median over the repeats, t interval low, high) of the per-repeat quantile q."""
    values = [pooled_quantile([r], q) for r in repeats]
    _, low, high = t_interval(values)
    return statistics.median(values), low, high


def _point(run: Run, label: str, rate: float, cells: list[CurveCell], data) -> CurvePoint:
    kept = {n: r for n, r in data.get((label, rate), {}).items() if r["response"]}
    response = [kept[n]["response"] for n in sorted(kept)]
    service = [kept[n]["service"] or kept[n]["response"] for n in sorted(kept)]
    p50, p50_low, p50_high = _quantiles(response, 0.5)
    p99, p99_low, p99_high = _quantiles(response, 0.99)
    late = max(c.late_starts / c.requests if c.requests else 0.0 for c in cells)
    drivers = sorted({c.driver for c in cells})
    busy = [c.server_cores_busy for c in cells if c.server_cores_busy is not None]
    return CurvePoint(
        server=label,
        rate=rate,
        load_fraction=cells[0].load_fraction,
        achieved_rps=statistics.median(c.throughput_rps for c in cells),
        utilisation=statistics.median(busy) if busy else None,
        p50_us=p50,
        p50_ci_low_us=p50_low,
        p50_ci_high_us=p50_high,
        p99_us=p99,
        p99_ci_low_us=p99_low,
        p99_ci_high_us=p99_high,
        p50_service_us=statistics.median(pooled_quantile([r], 0.5) for r in service),
        p99_service_us=statistics.median(pooled_quantile([r], 0.99) for r in service),
        mean_us=statistics.fmean(_mean(r) for r in response),
        late_fraction=late,
        schedule_kept=late <= run.model.thresholds.max_late_share,
        errors=sum(c.error_count for c in cells),
        driver=" and ".join(drivers),
        driver_reason=cells[-1].driver_reason,
        repeats=len(response),
        requests=sum(c.requests for c in cells),
    )


def curve_rows(run: Run) -> list[CurvePoint]:
    """Every server of the curve at every rate it ran, in the curve's order of servers, rates
    ascending; [] without a curve. A point whose cells kept no latency file is left out."""
    asked = spec(run)
    if asked is None:
        return []
    data = curve_data(run)
    by: dict[tuple[str, float], list[CurveCell]] = {}
    for cell in loads.curve_cells(run):
        by.setdefault((cell.label, cell.rate), []).append(cell)
    order = {label: i for i, label in enumerate(asked.servers)}
    return [
        _point(run, label, rate, by[(label, rate)], data)
        for label, rate in sorted(by, key=lambda k: (order.get(k[0], len(order)), k[1]))
        if any(r["response"] for r in data.get((label, rate), {}).values())
    ]


def _late_checks(cells: list[CurveCell], a: str, b: str, rate: float, most: float) -> list[str]:
    failed = []
    for cell in sorted(cells, key=lambda c: (c.repeat, c.label)):
        share = cell.late_starts / cell.requests if cell.requests else 0.0
        if cell.label in (a, b) and cell.rate == rate and share > most:
            failed.append(
                f"repeat {cell.repeat}: the client started {share:.0%} of {cell.label}'s "
                "requests late"
            )
    return failed


def gap_rows(run: Run, quantile: float | None = None) -> list[PairVerdict]:
    """Each pair of the curve (a − b, the margin a share of b's value) at every rate both ran,
    per quantile (p50, p99, and p99.9 with enough requests; `quantile` keeps one): response
    time, a t interval over the per-repeat differences (paired by repeat), the one rule. The
    servers ran in turn, not at once, so there is no drift check by the second."""
    asked = spec(run)
    if asked is None:
        return []
    data, cells, t = curve_data(run), loads.curve_cells(run), run.model.thresholds
    fraction = {c.rate: c.load_fraction for c in cells}
    rows = []
    for a, b in asked.pairs:
        for rate in sorted({r for label, r in data if label == a and (b, r) in data}):
            both = sorted(set(data[(a, rate)]) & set(data[(b, rate)]))
            arm_a = [data[(a, rate)][n]["response"] for n in both]
            arm_b = [data[(b, rate)][n]["response"] for n in both]
            if not both or not all(arm_a) or not all(arm_b):
                continue
            quantiles = quantiles_for(arm_a, arm_b)
            checks = _late_checks(cells, a, b, rate, t.max_late_share)
            for estimate in paired_estimates(arm_a, arm_b, quantiles, t.confidence):
                if quantile is not None and estimate.quantile != quantile:
                    continue
                margin = round(asked.margin_fraction * estimate.b_us, 1)
                verdict, reason = rule(estimate, margin, t, checks)
                rows.append(
                    PairVerdict(
                        group=GROUP,
                        question=GROUP,
                        rate=rate,
                        a=a,
                        b=b,
                        latency="response",
                        quantile=estimate.quantile,
                        margin_us=margin,
                        verdict=verdict,
                        a_a=False,
                        reason=reason,
                        arrivals=asked.arrivals,
                        load_fraction=fraction.get(rate),
                        repeat_numbers=tuple(both),
                        checks=tuple(checks),
                        confidence=t.confidence,
                        samples=len(both),
                        **estimated(estimate),
                    )
                )
    return rows


@dataclass(frozen=True)
class Knee:
    """Where a server's median response time reached twice its value at the curve's lowest
    load (queueing.knee), with the load fraction and the measured utilisation there."""

    server: str
    rate: float | None  # None: not reached up to top_rate
    load_fraction: float | None
    utilisation: float | None
    low_p50_us: float
    top_rate: float
    top_fraction: float


def _between(xs: Sequence[float], ys: Sequence[float | None], x: float) -> float | None:
    """ys linearly interpolated at x (xs ascending); None where a neighbour is missing."""
    for (x1, y1), (x2, y2) in itertools.pairwise(zip(xs, ys, strict=True)):
        if x1 <= x <= x2:
            if y1 is None or y2 is None:
                return None
            return y1 if x2 == x1 else y1 + (y2 - y1) * (x - x1) / (x2 - x1)
    return ys[0] if xs and x == xs[0] else None


def knees(run: Run) -> list[Knee]:
    """Each curve server's knee, in the curve's order of servers."""
    found = []
    points = curve_rows(run)
    for server in dict.fromkeys(p.server for p in points):
        mine = [p for p in points if p.server == server]
        rates = [p.rate for p in mine]
        rate = knee(rates, [p.p50_us for p in mine])
        per_rate = mine[-1].load_fraction / mine[-1].rate
        found.append(
            Knee(
                server=server,
                rate=rate,
                load_fraction=rate * per_rate if rate is not None else None,
                utilisation=_between(rates, [p.utilisation for p in mine], rate)
                if rate is not None
                else None,
                low_p50_us=mine[0].p50_us,
                top_rate=mine[-1].rate,
                top_fraction=mine[-1].load_fraction,
            )
        )
    return found


def model_rows(run: Run) -> list[dict[str, Any]]:
    """Each queueing model (M/M/1, M/D/1) over each server's measured curve: the service demand
    S from its closed loop (loads.capacities), R0 from its lowest point, the predicted mean
    response and utilisation against the measured ones, and the error. A server whose demand
    was not measured (a lower-bound capacity) has no model."""
    capacity = loads.capacities(run)
    rows = []
    points = curve_rows(run)
    for server in dict.fromkeys(p.server for p in points):
        known = capacity.get(server)
        if known is None or known.service_us is None or known.lower_bound:
            continue
        mine = [p for p in points if p.server == server]
        for model in MODELS:
            predicted = model_curve(
                model,
                [p.rate for p in mine],
                [p.mean_us for p in mine],
                known.service_us,
                known.cores,
                [p.utilisation for p in mine],
            )
            for point, p in zip(mine, predicted, strict=True):
                rows.append(
                    {
                        "server": server,
                        "model": model,
                        "rate": p.rate,
                        "load_fraction": point.load_fraction,
                        "service_us": known.service_us,
                        "cores": known.cores,
                        "measured_mean_us": p.measured_mean_us,
                        "predicted_mean_us": p.predicted_mean_us,
                        "error": p.error if math.isfinite(p.predicted_mean_us) else math.inf,
                        "holds": p.holds,
                        "predicted_utilisation": p.predicted_utilisation,
                        "measured_utilisation": p.measured_utilisation,
                    }
                )
    return rows


def interference_rows(run: Run) -> list[dict[str, Any]]:
    """What running the arms at once does to the gap: each pair of a paired group asking
    "interference" at each total rate, beside the curve's gap of the same pair alone at the
    same rate per arm (total / arms), at p50 and p99. The difference (at once − alone) gets a
    t interval over the repeats both ran (paired by repeat), judged against the alone row's
    margin by the one rule."""
    alone = {(r.a, r.b, r.rate, r.quantile): r for r in gap_rows(run)}
    rows = []
    for group in run.model.groups_for("interference"):
        for together in paired_verdicts(run, group=group.name, quantile=None):
            if together.a_a or together.rate is None or together.quantile > 0.99:
                continue
            per_arm = together.rate / len(group.arms)
            key = next(
                (
                    k
                    for k in alone
                    if k[:2] == (together.a, together.b)
                    and k[3] == together.quantile
                    and math.isclose(k[2], per_arm, rel_tol=0.01)
                ),
                None,
            )
            if key is not None:
                rows.append(_interference(run, together, alone[key], per_arm))
    return rows


def _interference(run: Run, together: PairVerdict, alone: PairVerdict, per_arm: float):
    mine = dict(zip(together.repeat_numbers, together.per_repeat_us, strict=True))
    theirs = dict(zip(alone.repeat_numbers, alone.per_repeat_us, strict=True))
    shared = sorted(set(mine) & set(theirs))
    differences = [mine[n] - theirs[n] for n in shared]
    mean, low, high = (
        t_interval(differences, run.model.thresholds.confidence)
        if differences
        else (math.nan, math.nan, math.nan)
    )
    enough = len(shared) >= run.model.thresholds.min_repeats
    return {
        "a": together.a,
        "b": together.b,
        "quantile": together.quantile,
        "p": together.p,
        "rate_per_arm": per_arm,
        "total_rate": together.rate,
        "load_fraction": alone.load_fraction,
        "together_us": together.delta_us,
        "together_ci_low_us": together.ci_low_us,
        "together_ci_high_us": together.ci_high_us,
        "alone_us": alone.delta_us,
        "alone_ci_low_us": alone.ci_low_us,
        "alone_ci_high_us": alone.ci_high_us,
        "difference_us": round(mean, 1),
        "ci_low_us": round(low, 1),
        "ci_high_us": round(high, 1),
        "margin_us": alone.margin_us,
        "verdict": decide(low, high, alone.margin_us) if enough else "inconclusive",
        "repeats": len(shared),
    }


def utilisation_rows(run: Run) -> list[dict[str, Any]]:
    """How busy the servers' core was measured against what the service demand predicts
    (ρ = λS / cores): at each point of the curve for the pair's first server, else at each rate
    of the claim group (its arms together: the predicted share is the load fraction). The CPU
    per request the measurement implies is beside it."""
    capacity = loads.capacities(run)
    chosen = pair(run)
    cores = loads.servers_cores(run)
    rows = []
    if spec(run) is not None and chosen is not None and chosen[0] in capacity:
        demand = capacity[chosen[0]]
        for p in curve_rows(run):
            if p.server == chosen[0] and p.utilisation is not None and demand.service_us:
                predicted = p.rate * demand.service_us / (demand.cores * 1e6)
                rows.append(_busy(p.server, p.rate, predicted, p.utilisation, demand.cores))
        return rows
    for r in paired_verdicts(run, group=run.model.claim.name if run.model.claim else ""):
        if (r.a, r.b) == chosen and r.rate and r.load_fraction and r.cores_busy is not None:
            rows.append(_busy("all arms", r.rate, r.load_fraction, r.cores_busy, cores))
    return rows


def _busy(who: str, rate: float, predicted: float, measured: float, cores: int) -> dict:
    return {
        "server": who,
        "rate": rate,
        "predicted": predicted,
        "measured": measured,
        "cpu_per_request_us": measured * cores * 1e6 / rate,
    }
