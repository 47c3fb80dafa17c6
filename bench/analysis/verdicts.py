"""The one verdict rule of the paired design, and the estimates it decides on.

The arms of a comparison ran at once, each request going to an arm drawn at random, and every
arm's latencies were recorded per wall-clock second; bench.analysis.bootstrap turns them into an
estimate with an interval.

One rule decides, with a margin (10% of the baseline arm's median unless the scenario sets
another):
- `holds`: the whole interval lies above +margin (a is slower than b by more than the margin);
- `no_difference`: the whole interval lies within -margin .. +margin;
- `reversed`: the whole interval lies below -margin (b is the slower one);
- `inconclusive`: anything else (the interval straddles a margin): run longer.
Fewer than two repeats, or too few requests, is `inconclusive` whatever the interval says:
nothing then measures run-to-run noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.analysis.bootstrap import Seconds, bootstrap_pair, pooled_quantile, ratio_interval
from bench.analysis.latency_files import paired_data
from bench.analysis.runs import Run, cell_rows, median

VERDICTS = ("holds", "no_difference", "reversed", "inconclusive")
MIN_REPEATS = 2
MIN_REQUESTS_PER_ARM = 200  # per repeat: fewer, and a median says little


def decide(ci_low: float, ci_high: float, margin: float) -> str:
    """The verdict for an interval of a minus b against +/- margin (see the module's text)."""
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_verdicts(run, group: str | None = None) -> list[PairVerdict]:
    """Every pair of every paired group (and its A/A pair) at every rate, unloaded first.

    `group` keeps one group's rows only (the default scenario has one, called main). The
    bootstraps run once per run folder and version of its run.json (they take seconds)."""
    path = Path(run.path) / "run.json"
    if path.is_file():
        rows = _all_verdicts(str(path.resolve()), path.stat().st_mtime_ns, run)
    else:  # a run built in memory: nothing to key a cache on
        rows = _compute_verdicts(run)
    return [r for r in rows if group is None or r.group == group]


_VERDICT_CACHE: dict[tuple[str, int], list[PairVerdict]] = {}


def _all_verdicts(key_path: str, stamp: int, run) -> list[PairVerdict]:
    key = (key_path, stamp)
    if key not in _VERDICT_CACHE:
        if len(_VERDICT_CACHE) > 8:
            _VERDICT_CACHE.clear()
        _VERDICT_CACHE[key] = _compute_verdicts(run)
    return _VERDICT_CACHE[key]


def _compute_verdicts(run) -> list[PairVerdict]:
    groups = run.meta["scenario"].get("paired") or []
    groups = [groups] if isinstance(groups, dict) else groups
    data = paired_data(run)
    rows = []
    for spec in groups:
        name = spec.get("name", "main")
        rates = sorted((r for g, r in data if g == name), key=lambda r: -1 if r is None else r)
        for rate in rates:
            cells = data[(name, rate)]
            rows += _group_verdicts(spec, name, rate, [cells[k] for k in sorted(cells)])
    return rows


def _group_verdicts(
    spec: dict[str, Any], name: str, rate: float | None, repeats: list[dict[str, Seconds]]
) -> list[PairVerdict]:
    pairs = [tuple(p) for p in spec["pairs"]]
    a_a = f"{spec['a_a']}_aa" if spec.get("a_a") else None
    if a_a:
        pairs.append((a_a, spec["a_a"]))
    baseline = spec.get("baseline") or spec["arms"][-1]
    rows = []
    for a, b in pairs:
        usable = [r for r in repeats if a in r and b in r]
        if not usable:
            continue
        p50, p99 = bootstrap_pair([r[a] for r in usable], [r[b] for r in usable])
        with_base = [r[baseline] for r in usable if baseline in r]
        base = pooled_quantile(with_base, 0.5) if with_base else p50.b_us
        margin = spec.get("margin_us")
        margin = round(spec.get("margin_fraction", 0.10) * base, 1) if margin is None else margin
        verdict = decide(p50.ci_low_us, p50.ci_high_us, margin)
        reason = ""
        fewest = min(p50.a_requests, p50.b_requests) / len(usable)
        if len(usable) < MIN_REPEATS:
            verdict, reason = "inconclusive", "one repeat: run-to-run noise not measured"
        elif fewest < MIN_REQUESTS_PER_ARM:
            verdict = "inconclusive"
            reason = f"under {MIN_REQUESTS_PER_ARM} requests per arm and repeat"
        rows.append(
            PairVerdict(
                group=name, rate=rate, a=a, b=b, delta_p50_us=p50.delta_us,
                ci_low_us=p50.ci_low_us, ci_high_us=p50.ci_high_us, margin_us=margin,
                verdict=verdict, a_a=a == a_a, a_p50_us=p50.a_us, b_p50_us=p50.b_us,
                delta_p99_us=p99.delta_us, p99_ci_low_us=p99.ci_low_us,
                p99_ci_high_us=p99.ci_high_us, repeats=len(usable),
                a_requests=p50.a_requests, b_requests=p50.b_requests, reason=reason,
            )
        )  # fmt: skip
    return rows


# --------------------------------------------------------------------------------------------
# Words


def signed(us: float) -> str:
    """+12 or -3, never -0: a rounded figure keeps the sign only when it is not zero."""
    whole = round(us)
    return f"{whole:+,d}" if whole else "0"


def where(rate: float | None) -> str:
    return "unloaded (one request at a time)" if rate is None else f"at {rate:g} req/s"


def verdict_line(row: PairVerdict) -> str:
    """`bench verdict`'s line for one pair: estimate, interval, margin, verdict."""
    tag = "  [A/A check]" if row.a_a else ""
    if row.group != "main":
        tag += f"  [{row.group}]"
    reason = f" ({row.reason})" if row.reason else ""
    return (
        f"{where(row.rate):>34}  {row.a} - {row.b}: {signed(row.delta_p50_us)} µs "
        f"[{signed(row.ci_low_us)}, {signed(row.ci_high_us)}]  margin ±{row.margin_us:,.0f} µs  "
        f"{row.verdict}{reason}{tag}"
    )


def verdict_sentence(row: PairVerdict) -> str:
    """One sentence for one pair, its words chosen by the verdict and the sign of the estimate."""
    where_ = where(row.rate)
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
    return f"{where_.capitalize()}, {row.a} minus {row.b}: {interval}: {judgement}."


def a_a_warning(rows: Sequence[PairVerdict]) -> str | None:
    """Loud, when two copies of one server did not come out alike: the machine was too noisy."""
    failed = [r for r in rows if r.a_a and r.verdict != "no_difference"]
    if not failed:
        return None
    where_ = ", ".join(where(r.rate) for r in failed)
    return (
        f"WARNING: the A/A check failed ({where_}): two copies of the same server did not come "
        "out within the margin, so this machine was too noisy for this run's verdicts to be "
        "trusted. Close other work and run again, or run longer."
    )


# --------------------------------------------------------------------------------------------
# The claim, in rows and sentences


def verdict_rows(run: Run) -> list[dict[str, Any]]:
    """`bench verdict` as rows: per paired rate and pair, estimate, interval, margin, verdict."""
    return [row.as_dict() for row in paired_verdicts(run)]


def closed_cpu_ratio(run: Run, a: str = "session", b: str = "jwt_auth") -> dict[str, Any] | None:
    """Closed loop, most users: server plus database CPU per request, a over b, with a 95%
    interval from resampling the repeats (each repeat's a and b ran back to back)."""
    rows = [r for r in cell_rows(run) if r["model"] == "closed" and not r["paired"]]
    if not rows:
        return None
    users = max(r["users"] for r in rows)
    by_repeat: dict[int, dict[str, float]] = {}
    for r in rows:
        if r["users"] == users and r["label"] in (a, b) and r["cpu_service_us"] is not None:
            by_repeat.setdefault(r["repeat"], {})[r["label"]] = r["cpu_service_us"]
    both = [v for _, v in sorted(by_repeat.items()) if a in v and b in v]
    found = ratio_interval([v[a] for v in both], [v[b] for v in both])
    if found is None:
        return None
    ratio, low, high = found
    return {
        "a": a,
        "b": b,
        "users": users,
        "a_us": round(median(v[a] for v in both), 1),
        "b_us": round(median(v[b] for v in both), 1),
        "ratio": ratio,
        "ci_low": low,
        "ci_high": high,
        "repeats": len(both),
    }


def cpu_ratio_sentence(run: Run, a: str = "session", b: str = "jwt_auth") -> str:
    found = closed_cpu_ratio(run, a, b)
    if found is None:
        return (
            f"This run has no closed-loop cells for both {a} and {b}: CPU per request not measured."
        )
    more = "more" if found["ratio"] >= 1 else "less"
    interval = (
        f"95% interval {found['ci_low']:.2f}x to {found['ci_high']:.2f}x over {found['repeats']} repeats"
        if found["repeats"] > 1
        else "one repeat: no interval"
    )
    return (
        f"CPU per request (closed loop, {found['users']} users, server plus database): {a} used "
        f"{found['a_us']:.0f} µs and {b} {found['b_us']:.0f} µs, {found['ratio']:.2f}x ({interval}): "
        f"{a} costs {more} CPU per request than {b}."
    )


def headline(run: Run, a: str = "session", b: str = "jwt_auth") -> str:
    """The answer in one paragraph: the paired verdict at every rate, unloaded first, and
    whether the machine passed its A/A check. From the first paired group that compares the
    two (the main one); other groups that pair them again answer other questions."""
    verdicts = paired_verdicts(run)
    rows = [r for r in verdicts if r.a == a and r.b == b]
    if not rows:
        return f"This run has no paired cells comparing {a} with {b}: no verdict."
    verdicts = [r for r in verdicts if r.group == rows[0].group]
    rows = [r for r in rows if r.group == rows[0].group]
    text = " ".join(verdict_sentence(r) for r in rows)
    held = [r for r in rows if r.verdict == "holds"]
    text += (
        f" The claim that the lookup makes responses significantly slower held in {len(held)} of "
        f"{len(rows)} conditions ('holds': the interval lies above the margin)."
    )
    warning = a_a_warning(verdicts)
    a_a = [r for r in verdicts if r.a_a]
    if warning:
        text += " " + warning
    elif a_a:
        text += " The A/A check passed: two copies of one server came out within the margin."
    return text


def verdict_words(verdict: str, slower: str, faster: str) -> str:
    """The words for a verdict: `slower` for holds, `faster` for reversed."""
    return {
        "holds": slower,
        "reversed": faster,
        "no_difference": "no difference beyond the margin",
    }.get(verdict, "undecided: run longer")


def pair_rows(run: Run, group: str) -> list[dict[str, Any]]:
    """Every pair of a paired group (A/A pairs left out), unloaded and at each rate."""
    return [
        {
            "rate": r.rate,
            "a": r.a,
            "b": r.b,
            "a_p50_us": r.a_p50_us,
            "b_p50_us": r.b_p50_us,
            "delta_p50_us": r.delta_p50_us,
            "ci_low_us": r.ci_low_us,
            "ci_high_us": r.ci_high_us,
            "margin_us": r.margin_us,
            "verdict": r.verdict,
        }
        for r in paired_verdicts(run, group=group)
        if not r.a_a
    ]
