"""Two lessons about the intervals, computed from the run's own verdicts: how many a run makes
and what 95% means across all of them (multiple comparisons), and how many repeats a given
precision would take (from the run's own spread between repeats).

Neither changes a verdict: the rule stays one interval at the run's confidence per row.

- Multiple comparisons. A 95% interval misses the truth one time in twenty. A run that states
  k verdicts should expect about 0.05k of them to be wrong by chance alone, and cannot say which.
  Bonferroni's correction is the simple guard: ask each row for 1 - 0.05/k confidence, so that
  the chance of any miss among the k stays under 5%. `comparisons` re-judges every conclusive
  latency row that way and counts which would stand.
- Repeats needed. An interval's half-width is h = t(n-1) * s / sqrt(n), with s the standard
  deviation of the per-repeat differences. For a wanted h, `repeats_needed` searches for the
  smallest n >= 2 whose half-width is at most h. (Iterating n = (t * s / h)^2 with t taken at
  the last n need not settle: it can bounce between two values, so it is not used.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bench.analysis.cpu_ratios import cpu_ratio_rows
from bench.analysis.intervals import t_interval
from bench.analysis.runs import Run
from bench.analysis.verdict_lines import where
from bench.analysis.verdicts import PairVerdict, decide, paired_verdicts

CONCLUSIVE = ("holds", "no_difference", "reversed")


def repeats_needed(
    per_repeat: Sequence[float], half_width: float, confidence: float = 0.95, most: int = 10_000
) -> int | None:
    """The repeats an interval of +/- `half_width` would take, from the spread of `per_repeat`
    (its sample standard deviation taken as the truth): the smallest n with
    t(n-1) * s / sqrt(n) <= half_width. None without a spread to go on (fewer than two values)
    or a half-width that is not positive; `most` when even that many would not do."""
    values = np.asarray(per_repeat, dtype=float)
    if values.size < 2 or not half_width > 0:
        return None
    s = float(values.std(ddof=1))
    if s == 0.0:
        return 2
    n = np.arange(2, most + 1)  # a search, every candidate at once: h(n) falls as n grows
    widths = stats.t.ppf(1 - (1 - confidence) / 2, n - 1) * s / np.sqrt(n)
    narrow = np.flatnonzero(widths <= half_width)
    return int(n[narrow[0]]) if narrow.size else most


@dataclass(frozen=True)
class Comparisons:
    latency: int  # latency verdict rows (every pair, rate and quantile, A/A checks included)
    cpu: int  # CPU-ratio verdict rows
    confidence: float  # the run's confidence per row
    conclusive: int  # latency rows that decided (holds, no_difference, reversed)
    standing: int  # of those, the ones still conclusive, and the same, at Bonferroni's level
    changed: tuple[PairVerdict, ...]  # the ones that would not stand

    @property
    def total(self) -> int:
        return self.latency + self.cpu

    @property
    def expected_misses(self) -> float:
        return self.total * (1 - self.confidence)

    @property
    def bonferroni(self) -> float:
        return 1 - (1 - self.confidence) / max(self.total, 1)


def comparisons(run: Run) -> Comparisons:
    """Every verdict the run states, and which conclusive latency rows would stand if each row
    were asked for Bonferroni's confidence instead of the run's own."""
    rows = paired_verdicts(run, quantile=None)
    cpu = [r for r in cpu_ratio_rows(run) if r.verdict]
    confidence = rows[0].confidence if rows else 0.95
    total = len(rows) + len(cpu)
    level = 1 - (1 - confidence) / max(total, 1)
    conclusive = [r for r in rows if r.verdict in CONCLUSIVE]
    changed = []
    for row in conclusive:
        _, low, high = t_interval(row.per_repeat_us, level)
        if decide(low, high, row.margin_us) != row.verdict:
            changed.append(row)
    return Comparisons(
        latency=len(rows),
        cpu=len(cpu),
        confidence=confidence,
        conclusive=len(conclusive),
        standing=len(conclusive) - len(changed),
        changed=tuple(changed),
    )


def comparisons_sentence(run: Run) -> str:
    """How many verdicts this run states, how many of them 95% leaves to chance, and what
    Bonferroni's correction would keep."""
    found = comparisons(run)
    if found.total == 0:
        return "This run states no verdict with an interval: nothing to count."
    said = (
        f"This run states {found.total:,} verdicts ({found.latency:,} latency rows, A/A checks "
        f"included, and {found.cpu:,} CPU ratios), each on a {found.confidence:.0%} interval. "
        f"If they were independent, about {found.expected_misses:.1f} of them would miss the "
        "truth by chance alone, and nothing in the run says which (rows of one cell at p50 and "
        "p99 are not independent, so read it as an order of magnitude). "
        f"Bonferroni's correction asks each row for {found.bonferroni:.2%} confidence instead, "
        "so that the chance of any miss among them stays under "
        f"{1 - found.confidence:.0%}: "
    )
    if found.conclusive == 0:
        return said + "no latency row of this run decided, so there is nothing it could undo."
    if not found.changed:
        return said + (
            f"all {found.conclusive} conclusive latency verdicts would stand at that level."
        )
    examples = "; ".join(
        f"{r.a} − {r.b} {where(r.rate)} at {r.p} ({r.verdict})" for r in found.changed[:3]
    )
    return said + (
        f"{len(found.changed)} of the {found.conclusive} conclusive latency verdicts would become "
        f"inconclusive at that level (for example {examples}). A surprising row among many is a "
        "candidate to measure again, not yet a finding."
    )


def precision_rows(run: Run, half_width_us: float | None = None) -> list[dict]:
    """The claim's headline pair at each rate and quantile: the repeats it had, the spread of
    their differences, its interval's half-width, and the repeats a half-width of
    `half_width_us` would take (by default half the row's margin: an interval that narrow fits
    inside the ±margin band with room to spare)."""
    group = run.model.claim
    if group is None:
        return []
    rows = []
    for r in paired_verdicts(run, group=group.name, quantile=None):
        if (r.a, r.b) != (group.headline.a, group.headline.b) or len(r.per_repeat_us) < 2:
            continue
        wanted = half_width_us if half_width_us is not None else r.margin_us / 2
        rows.append(
            {
                "rate": r.rate,
                "quantile": r.p,
                "repeats": len(r.per_repeat_us),
                "sd_us": round(float(np.std(r.per_repeat_us, ddof=1)), 1),
                "half_width_us": round((r.ci_high_us - r.ci_low_us) / 2, 1),
                "wanted_us": round(wanted, 1),
                "repeats_needed": repeats_needed(r.per_repeat_us, wanted, r.confidence),
            }
        )
    return rows


def repeats_sentence(run: Run) -> str:
    """At the reference rate, the median: how many repeats an interval of half the margin
    would take, from this run's own spread between repeats."""
    rows = [r for r in precision_rows(run) if r["quantile"] == "p50" and r["rate"] is not None]
    if not rows:
        return "This run has no loaded headline pair with two repeats or more: no spread to go on."
    chosen = [r for r in rows if r["rate"] == run.reference_rate] or rows[-1:]
    row = chosen[0]
    head = run.model.claim.headline
    needed, had = row["repeats_needed"], row["repeats"]
    said = (
        f"At {row['rate']:,.0f} req/s the {had} repeats of {head.a} − {head.b} (median) differed "
        f"with a standard deviation of {row['sd_us']:,.0f} µs, which gave an interval of "
        f"±{row['half_width_us']:,.0f} µs. For ±{row['wanted_us']:,.0f} µs (half the margin), "
    )
    if needed is None:
        return said + "this run gives no spread to go on."
    if needed <= had:
        return said + f"the run's {had} repeats were already enough (about {needed} would do)."
    return said + (
        f"about {needed} repeats would be needed, {needed - had} more than this run had, "
        "if the next repeats spread as these did."
    )
