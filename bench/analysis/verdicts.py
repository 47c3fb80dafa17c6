"""The one verdict rule of the paired design, the estimates it decides on, and its words.

The arms of a comparison ran at once, each request going to an arm drawn at random, and every
arm's latencies were recorded per wall-clock second; bench.analysis.intervals turns each pair
into an estimate with a 95% interval (Student's t over the per-repeat differences).

One rule decides, with a margin (10% of the baseline arm's median unless the scenario sets
another):
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

from bench.analysis.intervals import CONFIDENCE, METHOD, drift, paired_estimates, pooled_quantile
from bench.analysis.latency_files import paired_data, per_second_medians
from bench.analysis.model import Group, Pair, RunModel
from bench.analysis.runs import Run
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
    """One row of `bench verdict`: a pair at one rate (None: the unloaded mode)."""

    group: str
    question: str
    rate: float | None
    a: str
    b: str
    delta_p50_us: float
    ci_low_us: float
    ci_high_us: float
    margin_us: float
    verdict: str
    a_a: bool
    a_p50_us: float
    b_p50_us: float
    delta_p99_us: float
    p99_ci_low_us: float
    p99_ci_high_us: float
    repeats: int
    a_requests: int
    b_requests: int
    reason: str = ""
    arrivals: str | None = None
    per_repeat_us: tuple[float, ...] = ()
    checks: tuple[str, ...] = field(default=())  # what failed: drift, schedule
    kind: str = "latency"
    method: str = METHOD
    confidence: float = CONFIDENCE
    seed: None = None  # the t interval draws nothing at random
    samples: int = 0  # the independent samples the interval rests on: the repeats

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
    "arrivals",
    "a",
    "b",
    "delta_p50_us",
    "ci_low_us",
    "ci_high_us",
    "margin_us",
    "verdict",
    "a_a",
    "delta_p99_us",
    "p99_ci_low_us",
    "p99_ci_high_us",
    "repeats",
    "reason",
    "method",
    "confidence",
    "seed",
    "samples",
)


def paired_verdicts(
    run: Run, group: str | None = None, question: str | None = None
) -> list[PairVerdict]:
    """Every pair of every paired group (and its A/A pair) at every rate, unloaded first;
    `group` keeps one group (by name), `question` the groups that answer it."""
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
        if (group is None or r.group == group) and (question is None or r.question == question)
    ]


_CACHE: dict[tuple[str, int], list[PairVerdict]] = {}


def _compute(run: Run) -> list[PairVerdict]:
    data = paired_data(run)
    late = _late_shares(run)
    rows = []
    for group in run.model.groups:
        rates = sorted(
            (r for g, r in data if g == group.name), key=lambda r: -1 if r is None else r
        )
        for rate in rates:
            cells = data[(group.name, rate)]
            repeats = [cells[k] for k in sorted(cells)]
            lates = [late.get((group.name, rate, k), {}) for k in sorted(cells)]
            for pair in group.pairs:
                row = _judge(run.model, group, pair, rate, repeats, lates)
                if row is not None:
                    rows.append(row)
    return rows


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


def _judge(
    model: RunModel,
    group: Group,
    pair: Pair,
    rate: float | None,
    repeats: list[dict],
    lates: list[dict[str, float]],
) -> PairVerdict | None:
    a, b = pair.a, pair.b
    usable = [(r, late) for r, late in zip(repeats, lates, strict=True) if a in r and b in r]
    if not usable:
        return None
    t = model.thresholds
    p50, p99 = paired_estimates(
        [r[a] for r, _ in usable], [r[b] for r, _ in usable], confidence=t.confidence
    )
    with_base = [r[group.baseline] for r, _ in usable if group.baseline in r]
    base = pooled_quantile(with_base, 0.5) if with_base else p50.b_us
    margin = group.margin_us
    margin = round(group.margin_fraction * base, 1) if margin is None else margin
    verdict, reason = decide(p50.ci_low_us, p50.ci_high_us, margin), ""
    checks = _checks(usable, a, b, margin, t.max_late_share, t.confidence)
    if len(usable) < t.min_repeats:
        verdict, reason = "inconclusive", "one repeat: run-to-run noise not measured"
    elif p50.fewest_requests < t.min_requests_per_arm:
        verdict, reason = (
            "inconclusive",
            f"under {t.min_requests_per_arm} requests per arm in a repeat",
        )
    elif checks:
        verdict, reason = "inconclusive", "; ".join(checks)
    return PairVerdict(
        group=group.name,
        question=group.question,
        rate=rate,
        a=a,
        b=b,
        delta_p50_us=p50.delta_us,
        ci_low_us=p50.ci_low_us,
        ci_high_us=p50.ci_high_us,
        margin_us=margin,
        verdict=verdict,
        a_a=pair.is_a_a,
        a_p50_us=p50.a_us,
        b_p50_us=p50.b_us,
        delta_p99_us=p99.delta_us,
        p99_ci_low_us=p99.ci_low_us,
        p99_ci_high_us=p99.ci_high_us,
        repeats=len(usable),
        a_requests=p50.a_requests,
        b_requests=p50.b_requests,
        reason=reason,
        arrivals=group.arrivals if rate else None,
        per_repeat_us=p50.per_repeat_us,
        checks=tuple(checks),
        confidence=t.confidence,
        samples=len(usable),
    )


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


# --------------------------------------------------------------------------------------------
# Words


def signed(us: float) -> str:
    """+12 or -3, never -0: a rounded figure keeps the sign only when it is not zero."""
    if math.isnan(us):
        return "n/a"
    whole = round(us)
    return f"{whole:+,d}" if whole else "0"


def where(rate: float | None) -> str:
    return "unloaded (one request at a time)" if rate is None else f"at {rate:g} req/s"


def verdict_line(row: PairVerdict) -> str:
    """`bench verdict`'s line for one pair: estimate, interval, margin, verdict."""
    tag = "  [A/A check]" if row.a_a else ""
    if row.question != "claim":
        tag += f"  [{row.group}]"
    reason = f" ({row.reason})" if row.reason else ""
    return (
        f"{where(row.rate):>34}  {row.a} - {row.b}: {signed(row.delta_p50_us)} µs "
        f"[{signed(row.ci_low_us)}, {signed(row.ci_high_us)}]  margin ±{row.margin_us:,.0f} µs  "
        f"{row.verdict}{reason}{tag}"
    )


def verdict_sentence(row: PairVerdict) -> str:
    """One sentence for one pair, its words chosen by the verdict and the sign of the estimate."""
    interval = (
        f"{signed(row.delta_p50_us)} µs on the median (95% interval {signed(row.ci_low_us)} to "
        f"{signed(row.ci_high_us)} µs, margin ±{row.margin_us:,.0f} µs, {row.repeats} repeats)"
    )
    if row.verdict == "holds":
        judgement = f"{row.a} is slower than {row.b} by more than the margin"
    elif row.verdict == "reversed":
        judgement = f"{row.b} is slower than {row.a} by more than the margin"
    elif row.verdict == "no_difference":
        judgement = f"{row.a} and {row.b} are within the margin of each other"
    else:
        why = row.reason or "the interval crosses the margin"
        judgement = f"undecided ({why}): run longer or on a quieter machine"
    return f"{where(row.rate).capitalize()}, {row.a} minus {row.b}: {interval}: {judgement}."


def a_a_warning(rows: Sequence[PairVerdict]) -> str | None:
    """What the A/A check says: loud when two copies of one server came out conclusively
    different; a plain note when it could not decide (one repeat, too little data), which is
    not evidence of noise."""
    checks = [r for r in rows if r.a_a]
    failed = [r for r in checks if r.verdict in ("holds", "reversed")]
    if failed:
        where_ = ", ".join(where(r.rate) for r in failed)
        return (
            f"WARNING: the A/A check failed ({where_}): two copies of the same server came out "
            "different by more than the margin, so this machine was too noisy for this run's "
            "verdicts to be trusted. Close other work and run again, or run longer."
        )
    unsure = [r for r in checks if r.verdict == "inconclusive"]
    if unsure:
        where_ = ", ".join(
            f"{where(r.rate)} ({r.reason or 'the interval crosses the margin'})" for r in unsure
        )
        return f"The A/A check cannot say whether the machine was quiet enough {where_}."
    return None


def verdict_words(verdict: str, slower: str, faster: str) -> str:
    """The words for a verdict: `slower` for holds, `faster` for reversed."""
    return {
        "holds": slower,
        "reversed": faster,
        "no_difference": "no difference beyond the margin",
    }.get(verdict, "undecided: run longer")


def verdict_rows(run: Run) -> list[dict[str, Any]]:
    """`bench verdict` as rows: per paired rate and pair, estimate, interval, margin, verdict."""
    return [row.as_dict() for row in paired_verdicts(run)]


def pair_rows(run: Run, question: str) -> list[dict[str, Any]]:
    """Every pair of the groups answering `question` (A/A pairs left out), at each rate."""
    keys = (
        "group",
        "rate",
        "a",
        "b",
        "a_p50_us",
        "b_p50_us",
        "delta_p50_us",
        "ci_low_us",
        "ci_high_us",
        "margin_us",
        "verdict",
        "reason",
    )
    return [
        {k: getattr(r, k) for k in keys}
        for r in paired_verdicts(run, question=question)
        if not r.a_a
    ]
