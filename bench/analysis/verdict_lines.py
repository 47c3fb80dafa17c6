"""The words of the paired verdicts: a figure with its sign, where a row was measured, the
line `bench verdict` prints, the sentence a notebook shows, and what the A/A check says."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.analysis.verdicts import PairVerdict


def signed(us: float) -> str:
    """+12 or -3, never -0: a rounded figure keeps the sign only when it is not zero."""
    if math.isnan(us):
        return "n/a"
    whole = round(us)
    return f"{whole:+,d}" if whole else "0"


def where(rate: float | None) -> str:
    return "unloaded (one request at a time)" if rate is None else f"at {rate:,.0f} req/s"


def busy_phrase(cores_busy: float | None, out_of_view: bool) -> str | None:
    """The servers' core in a phrase: "the servers' core measured 23% busy", "the servers' CPU
    not measured" (an external arm's is out of view), or None (not measured, no reason to say)."""
    if cores_busy is not None:
        return f"the servers' core measured {cores_busy:.0%} busy"
    return "the servers' CPU not measured" if out_of_view else None


def load_of(row: PairVerdict) -> str:
    """Where a row was measured, in full: "at 1,000 req/s in total (7% of capacity, the
    servers' core measured 23% busy)", or "unloaded (one request at a time)"."""
    if row.rate is None:
        return where(None)
    extra = [f"{row.load_fraction:.0%} of capacity"] if row.load_fraction is not None else []
    busy = busy_phrase(row.cores_busy, row.cpu_out_of_view)
    if busy:
        extra.append(busy)
    return f"at {row.rate:,.0f} req/s in total" + (f" ({', '.join(extra)})" if extra else "")


def what_of(row: PairVerdict) -> str:
    """ "p50 response time", "p99 service time"."""
    return f"{row.p} {row.latency} time"


def verdict_line(row: PairVerdict) -> str:
    """`bench verdict`'s line for one pair at one quantile: where (the rate, and its share of
    capacity when known), what was judged, estimate, interval, margin, verdict, the requests it
    rests on."""
    tag = "  [A/A check]" if row.a_a else ""
    if row.question != "claim":
        tag += f"  [{row.group}]"
    reason = f" ({row.reason})" if row.reason else ""
    load = where(row.rate)
    if row.load_fraction is not None:
        load += f" ({row.load_fraction:.0%} of capacity)"
    return (
        f"{load:>34}  {what_of(row):>21}  {row.a} - {row.b}: "
        f"{signed(row.delta_us)} µs [{signed(row.ci_low_us)}, {signed(row.ci_high_us)}]  "
        f"margin ±{row.margin_us:,.0f} µs  {row.verdict}{reason}{tag}  "
        f"(n = {row.a_requests:,} and {row.b_requests:,})"
    )


def verdict_sentence(row: PairVerdict) -> str:
    """One sentence for one pair, its words chosen by the verdict and the sign of the estimate."""
    interval = (
        f"{signed(row.delta_us)} µs at {what_of(row)} (95% interval {signed(row.ci_low_us)} to "
        f"{signed(row.ci_high_us)} µs, margin ±{row.margin_us:,.0f} µs, {row.repeats} repeats, "
        f"{row.a_requests:,} and {row.b_requests:,} requests)"
    )
    if row.verdict == "holds":
        judgement = f"{row.a} is slower than {row.b} by more than the margin"
    elif row.verdict == "reversed":
        judgement = f"{row.b} is slower than {row.a} by more than the margin"
    elif row.verdict == "no_difference":
        judgement = f"{row.a} and {row.b} are within the margin of each other"
    else:
        why = row.reason or "the interval crosses the margin"
        judgement = f"inconclusive ({why}): run longer or on a quieter machine"
    load = load_of(row)  # capitalize() would lower the rest ("CPU")
    return f"{load[:1].upper()}{load[1:]}, {row.a} minus {row.b}: {interval}: {judgement}."


def a_a_warning(rows: Sequence[PairVerdict]) -> str | None:
    """What the A/A check says: loud when two copies of one server came out conclusively
    different (at the median: every verdict of the run is in doubt; only in the tail: its
    verdicts at that quantile); a plain note when it could not decide at the median (one
    repeat, too little data), which is not evidence of noise. A tail the check cannot decide
    is not said: the tails' own rows say so."""
    checks = [r for r in rows if r.a_a]
    failed = [r for r in checks if r.verdict in ("holds", "reversed")]
    median = [r for r in failed if r.quantile == 0.5]
    if median:
        where_ = ", ".join(where(r.rate) for r in median)
        return (
            f"WARNING: the A/A check failed ({where_}): two copies of the same server came out "
            "different by more than the margin, so this machine was too noisy for this run's "
            "verdicts to be trusted. Close other work and run again, or run longer."
        )
    if failed:
        tails = sorted({r.p for r in failed}, key=lambda p: float(p[1:]))
        where_ = ", ".join(f"{r.p} {where(r.rate)}" for r in failed)
        return (
            f"WARNING: the A/A check failed in the tail ({where_}): two copies of the same "
            f"server differed there by more than the margin, so this run's verdicts at "
            f"{' and '.join(tails)} are not to be trusted on this machine; at the median the "
            "copies agreed."
        )
    unsure = [r for r in checks if r.verdict == "inconclusive" and r.quantile == 0.5]
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
    }.get(verdict, "inconclusive: run longer")
