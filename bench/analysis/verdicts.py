"""The one verdict rule of the paired design, the estimates it decides on, and its words.

The arms of a comparison ran at once, each request going to an arm drawn at random, and every
arm's latencies were recorded per wall-clock second; bench.analysis.intervals turns each pair
into an estimate with a 95% interval (Student's t over the per-repeat differences).

What is judged: at a fixed rate the *response time* (from each request's intended start: what a
user waits, the queueing included); unloaded, where there is no intended start, the *service
time* (from the moment a request left). Each row says which (`latency`), and at which quantile
(`quantile`): one row per quantile, p50 and p99, and p99.9 where every repeat of both arms has
at least 10,000 requests.

One rule decides, with a margin (at each quantile 10% of the baseline arm's value there, unless
the scenario sets another):
- `holds`: the whole interval lies above +margin (a is slower than b by more than the margin);
- `no_difference`: the whole interval lies within -margin .. +margin;
- `reversed`: the whole interval lies below -margin (b is the slower one);
- `inconclusive`: anything else (the interval straddles a margin): run longer.
Fewer than two repeats, too few requests in a repeat, a repeat whose difference drifted by more
than the margin within its window, or a repeat where the client could not keep its schedule, is
`inconclusive` whatever the interval says, with the reason given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.analysis import loads
from bench.analysis.intervals import (
    CONFIDENCE,
    METHOD,
    Estimate,
    Seconds,
    drift,
    paired_estimates,
    pooled_quantile,
    requests,
)
from bench.analysis.latency_files import paired_data, paired_latency, per_second_medians
from bench.analysis.model import Group, Pair, RunModel, Thresholds
from bench.analysis.runs import Run
from bench.analysis.verdict_lines import signed
from bench.results.cell_records import PairedCell

VERDICTS = ("holds", "no_difference", "reversed", "inconclusive")


def decide(ci_low: float, ci_high: float, margin: float) -> str:
    """The verdict for an interval of a minus b against +/- margin (see the module's text)."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return "inconclusive"
    if ci_low > margin:
        return "holds"
    if ci_high < -margin:
        return "reversed"
    if -margin <= ci_low and ci_high <= margin:
        return "no_difference"
    return "inconclusive"


@dataclass(frozen=True)
class PairVerdict:
    """One row of `bench verdict`: a pair at one rate (None: the unloaded mode), at one quantile
    of one latency ("response": from each request's intended start; "service": from the moment
    it left, the unloaded mode's only kind)."""

    group: str
    question: str
    rate: float | None
    a: str
    b: str
    latency: str
    quantile: float
    a_us: float  # a's value at the quantile, over every request of every repeat
    b_us: float
    delta_us: float  # the mean of the per-repeat differences at the quantile
    ci_low_us: float
    ci_high_us: float
    margin_us: float
    verdict: str
    a_a: bool
    repeats: int
    a_requests: int  # the samples: requests over every repeat
    b_requests: int
    fewest_requests: int  # the fewest either arm had in one repeat
    reason: str = ""
    arrivals: str | None = None
    load_fraction: float | None = None  # the total rate as a fraction of the group's capacity
    cores_busy: float | None = None  # the servers' cores, measured (median over the repeats)
    cpu_out_of_view: bool = False  # an arm is external: the servers' CPU not measured
    per_repeat_us: tuple[float, ...] = ()
    repeat_numbers: tuple[int, ...] = ()  # which repeat each per-repeat difference is
    checks: tuple[str, ...] = field(default=())  # what failed: drift, schedule
    kind: str = "latency"
    method: str = METHOD
    confidence: float = CONFIDENCE
    seed: None = None  # the t interval draws nothing at random
    samples: int = 0  # the independent samples the interval rests on: the repeats

    @property
    def p(self) -> str:
        """ "p50", "p99", "p99.9"."""
        return quantile_name(self.quantile)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json(self) -> dict[str, Any]:
        """The row as `authbench verdict --json` gives it: the keys of JSON_KEYS, in order."""
        found = self.as_dict()
        return {k: found[k] for k in JSON_KEYS}


# What `authbench verdict --json` gives of a latency verdict, in this order: a stable format for
# scripts, whatever PairVerdict gains (cpu_ratios.JSON_KEYS: the same for a CPU ratio).
JSON_KEYS = (
    "kind",
    "group",
    "question",
    "rate",
    "load_fraction",
    "cores_busy",
    "arrivals",
    "a",
    "b",
    "latency",
    "quantile",
    "a_us",
    "b_us",
    "delta_us",
    "ci_low_us",
    "ci_high_us",
    "margin_us",
    "verdict",
    "a_a",
    "repeats",
    "a_requests",
    "b_requests",
    "fewest_requests",
    "reason",
    "method",
    "confidence",
    "seed",
    "samples",
)
QUANTILES = (0.5, 0.99)  # judged in every row of a pair
TAIL = 0.999  # judged too where every repeat of both arms has TAIL_SAMPLES requests or more
TAIL_SAMPLES = 10_000


def quantile_name(q: float) -> str:
    return f"p{q * 100:g}"


def quantiles_for(a: Sequence[Seconds], b: Sequence[Seconds]) -> tuple[float, ...]:
    """The quantiles a pair's repeats can speak for: p50 and p99, and p99.9 when every repeat
    of both arms has at least TAIL_SAMPLES requests (ten beyond it)."""
    enough = all(requests(r) >= TAIL_SAMPLES for r in (*a, *b))
    return (*QUANTILES, TAIL) if enough and a and b else QUANTILES


def paired_verdicts(
    run: Run,
    group: str | None = None,
    question: str | None = None,
    quantile: float | None = 0.5,
) -> list[PairVerdict]:
    """Every pair of every paired group (and its A/A pair) at every rate, unloaded first, at
    `quantile` (the median by default; None: every quantile judged, in order); `group` keeps
    one group (by name), `question` the groups that answer it."""
    path = Path(run.path) / "run.json"
    if path.is_file():
        key = (str(path.resolve()), path.stat().st_mtime_ns)
        if key not in _CACHE:
            if len(_CACHE) > 8:
                _CACHE.clear()
            _CACHE[key] = _compute(run)
        rows = _CACHE[key]
    else:  # a run built in memory: nothing to key a cache on
        rows = _compute(run)
    return [
        r
        for r in rows
        if (group is None or r.group == group)
        and (question is None or r.question == question)
        and (quantile is None or r.quantile == quantile)
    ]


_CACHE: dict[tuple[str, int], list[PairVerdict]] = {}


def _compute(run: Run) -> list[PairVerdict]:
    data, kinds = paired_data(run), paired_latency(run)
    late = _late_shares(run)
    rows = []
    for group in run.model.groups:
        rates = sorted(
            (r for g, r in data if g == group.name), key=lambda r: -1 if r is None else r
        )
        for rate in rates:
            cells = data[(group.name, rate)]
            numbers = sorted(cells)
            at = Load(
                rate,
                kinds[(group.name, rate)],
                loads.load_fraction(run, group, rate),
                loads.cores_busy(run, group.name, rate),
            )
            repeats = [cells[k] for k in numbers]
            lates = [late.get((group.name, rate, k), {}) for k in numbers]
            for pair in group.pairs:
                rows += _judge(
                    run.model, group, pair, at, list(zip(numbers, repeats, lates, strict=True))
                )
    return rows


@dataclass(frozen=True)
class Load:
    """Where a paired cell's rows were measured: its rate and what was judged there."""

    rate: float | None
    latency: str
    fraction: float | None
    busy: float | None


def _late_shares(run: Run) -> dict[tuple, dict[str, float]]:
    """Per (group, rate, repeat): each arm's share of requests that started late."""
    found = {}
    for cell in run.cells:
        if isinstance(cell, PairedCell):
            found[(cell.group, cell.rate, cell.repeat)] = {
                label: arm.late_starts / arm.requests
                for label, arm in cell.arms.items()
                if arm.requests
            }
    return found


def margin_at(group: Group, baseline: Sequence[Seconds], q: float, fallback: float) -> float:
    """The margin at quantile q: the group's margin_us, else its margin fraction of the
    baseline arm's value at q (over every repeat it ran in)."""
    if group.margin_us is not None:
        return group.margin_us
    base = pooled_quantile(baseline, q) if baseline else fallback
    return round(group.margin_fraction * base, 1)


def rule(
    estimate: Estimate, margin: float, thresholds: Thresholds, checks: Sequence[str]
) -> tuple[str, str]:
    """(verdict, reason): the one rule on an estimate, and what overrides it."""
    if estimate.repeats < thresholds.min_repeats:
        return "inconclusive", "one repeat: run-to-run noise not measured"
    if estimate.fewest_requests < thresholds.min_requests_per_arm:
        return (
            "inconclusive",
            f"under {thresholds.min_requests_per_arm} requests per arm in a repeat",
        )
    if checks:
        return "inconclusive", "; ".join(checks)
    return decide(estimate.ci_low_us, estimate.ci_high_us, margin), ""


def _judge(
    model: RunModel, group: Group, pair: Pair, at: Load, repeats: list[tuple]
) -> list[PairVerdict]:
    """One row per quantile the pair's repeats can speak for. The checks (drift, schedule) are
    of a repeat, whatever the quantile: they are made once, on the median."""
    a, b = pair.a, pair.b
    usable = [(n, r, late) for n, r, late in repeats if a in r and b in r]
    if not usable:
        return []
    t = model.thresholds
    arm_a, arm_b = [r[a] for _, r, _ in usable], [r[b] for _, r, _ in usable]
    quantiles = quantiles_for(arm_a, arm_b)
    estimates = paired_estimates(arm_a, arm_b, quantiles, confidence=t.confidence)
    baseline = [r[group.baseline] for _, r, _ in usable if group.baseline in r]
    margins = [margin_at(group, baseline, e.quantile, e.b_us) for e in estimates]
    checks = _checks(
        [(r, late) for _, r, late in usable], a, b, margins[0], t.max_late_share, t.confidence
    )
    rows = []
    for estimate, margin in zip(estimates, margins, strict=True):
        verdict, reason = rule(estimate, margin, t, checks)
        rows.append(
            PairVerdict(
                group=group.name,
                question=group.question,
                rate=at.rate,
                a=a,
                b=b,
                latency=at.latency,
                quantile=estimate.quantile,
                margin_us=margin,
                verdict=verdict,
                a_a=pair.is_a_a,
                reason=reason,
                arrivals=group.arrivals if at.rate else None,
                load_fraction=at.fraction,
                cores_busy=at.busy,
                cpu_out_of_view=model.server(a).external or model.server(b).external,
                repeat_numbers=tuple(n for n, _, _ in usable),
                checks=tuple(checks),
                confidence=t.confidence,
                samples=len(usable),
                **estimated(estimate),
            )
        )
    return rows


def estimated(estimate: Estimate) -> dict[str, Any]:
    """A PairVerdict's figures from an Estimate."""
    return {
        "a_us": estimate.a_us,
        "b_us": estimate.b_us,
        "delta_us": estimate.delta_us,
        "ci_low_us": estimate.ci_low_us,
        "ci_high_us": estimate.ci_high_us,
        "repeats": estimate.repeats,
        "a_requests": estimate.a_requests,
        "b_requests": estimate.b_requests,
        "fewest_requests": estimate.fewest_requests,
        "per_repeat_us": estimate.per_repeat_us,
    }


def _checks(
    usable, a: str, b: str, margin: float, max_late: float, level: float = CONFIDENCE
) -> list[str]:
    """What makes a repeat unfit to average in. Drift: the difference of medians, second by
    second, moved within the window by surely more than the margin (the 95% interval of its
    Theil-Sen drift lies wholly beyond it) and by more than DRIFT_SHARE of the repeat's own
    difference (a drift that could change what the repeat says). Every repeat of a row is
    tested, so each test is at 1 - 0.05 / repeats (Bonferroni): the chance that any repeat of
    a steady row is flagged stays at 5% (at 95% each, 10 of 60 loaded rows of five default runs
    on the 2-core build machine were flagged; with the correction, 1). Schedule: the client started more than `max_late` of an arm's requests late."""
    failed = []
    confidence = 1 - (1 - level) / max(len(usable), 1)
    for number, (repeat, late) in enumerate(usable, 1):
        series = per_second_medians(repeat[a], repeat[b])
        moved, low, high = drift(series, confidence)
        own = abs(sorted(series)[len(series) // 2]) if series else 0.0
        if (low > margin or high < -margin) and abs(moved) > DRIFT_SHARE * own:
            failed.append(
                f"repeat {number}: {a} - {b} drifted by {signed(moved)} µs within its window"
            )
        worst = max((late.get(arm, 0.0) for arm in (a, b)), default=0.0)
        if worst > max_late:
            failed.append(f"repeat {number}: the client started {worst:.0%} of requests late")
    return failed


DRIFT_SHARE = 0.25


def verdict_rows(run: Run) -> list[dict[str, Any]]:
    """`bench verdict` as rows: per paired rate, pair and quantile, estimate, interval, margin,
    verdict."""
    return [row.as_dict() for row in paired_verdicts(run, quantile=None)]


def pair_rows(run: Run, question: str) -> list[dict[str, Any]]:
    """Every pair of the groups answering `question` (A/A pairs left out), at each rate, on the
    median (response time at a fixed rate, service time unloaded: `latency` says which)."""
    return [
        {
            "group": r.group,
            "rate": r.rate,
            "a": r.a,
            "b": r.b,
            "latency": r.latency,
            "a_p50_us": r.a_us,
            "b_p50_us": r.b_us,
            "delta_p50_us": r.delta_us,
            "ci_low_us": r.ci_low_us,
            "ci_high_us": r.ci_high_us,
            "margin_us": r.margin_us,
            "verdict": r.verdict,
            "reason": r.reason,
        }
        for r in paired_verdicts(run, question=question)
        if not r.a_a
    ]
