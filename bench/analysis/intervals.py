"""The statistics of the paired design: quantiles of recorded latencies, and an interval around a
difference that is as wide as the run-to-run truth.

Method, in words. A repeat is the unit that is independent: every repeat starts the servers
afresh and runs at another moment of the machine's life. For a pair (a, b) each repeat gives
one difference, a's median minus b's over that repeat's measured seconds (or p99 minus p99).
The estimate is the mean of those per-repeat differences, and its 95% interval is Student's t
interval over them (scipy.stats.ttest_1samp): mean ± t(0.975, n-1) × SD / √n. Everything that
moves a result from one repeat to the next (which second the machine was busy, where the
servers landed in memory, the noise between requests) is inside the SD, and the t quantile pays
for estimating that SD from few repeats. A CPU ratio gets the same interval on the logarithm of
its per-repeat ratios.

Why not the hierarchical bootstrap this project used until 2026-11-30 (draw repeats, then
seconds within them; percentile interval): with three repeats it has ten distinct first-level
draws and no small-sample correction, and measured here its 95% intervals held the truth far
less often than 95% of the time (docs/coverage.md, `python -m bench coverage`). It is kept
below, named, so that the coverage command can show both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bench.results.run_settings import CONFIDENCE  # the default; a run's verdicts use its own

METHOD = "t interval over per-repeat differences (scipy.stats.ttest_1samp)"
RATIO_METHOD = "t interval over per-repeat log ratios (scipy.stats.ttest_1samp), exponentiated"

# One repeat of one arm: per measured second, the recorded values (µs) and their counts.
Seconds = dict[int, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Estimate:
    """a minus b at one quantile: the estimate and its interval, in microseconds."""

    quantile: float
    a_us: float  # a's quantile over every request of every repeat
    b_us: float
    delta_us: float  # the mean of the per-repeat differences
    ci_low_us: float
    ci_high_us: float
    repeats: int
    a_requests: int
    b_requests: int
    fewest_requests: int  # the fewest requests either arm had in one repeat
    per_repeat_us: tuple[float, ...]


def weighted_quantile(counts: np.ndarray, grid: np.ndarray, q: float) -> np.ndarray:
    """Per row of `counts` (histograms over `grid`), the smallest value at or above quantile q:
    the HdrHistogram convention, the value below which at least q of the requests fall."""
    cumulative = np.cumsum(counts, axis=1)
    target = np.maximum(1.0, np.ceil(q * cumulative[:, -1]))
    return grid[(cumulative >= target[:, None]).argmax(axis=1)]


def _flatten(repeats: Sequence[Seconds]) -> tuple[np.ndarray, np.ndarray]:
    values = [v for rep in repeats for v, _ in rep.values()]
    counts = [c for rep in repeats for _, c in rep.values()]
    if not values:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(values), np.concatenate(counts)


def pooled_quantile(repeats: Sequence[Seconds], q: float) -> float:
    """One arm's quantile over every second of every repeat given."""
    values, counts = _flatten(repeats)
    if not values.size:
        return float("nan")
    order = np.argsort(values)
    return float(weighted_quantile(counts[order][None, :], values[order], q)[0])


def requests(repeat: Seconds) -> int:
    return int(sum(float(c.sum()) for _, c in repeat.values()))


def t_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval for the mean; low and high are nan for one value."""
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if data.size < 2:
        return mean, math.nan, math.nan
    if float(data.std()) == 0.0:
        return mean, mean, mean
    found = stats.ttest_1samp(data, 0.0).confidence_interval(confidence)
    return mean, float(found.low), float(found.high)


def paired_estimates(
    a: Sequence[Seconds],
    b: Sequence[Seconds],
    quantiles: Sequence[float] = (0.5, 0.99),
    confidence: float = CONFIDENCE,
) -> list[Estimate]:
    """a minus b at each quantile, one difference per repeat, with its t interval.

    `a` and `b` hold one entry per repeat; within a repeat both arms shared their seconds."""
    if len(a) != len(b) or not a:
        raise ValueError("a and b need the same number of repeats, at least one")
    fewest = min(min(requests(ra), requests(rb)) for ra, rb in zip(a, b, strict=True))
    found = []
    for q in quantiles:
        per_repeat = [
            pooled_quantile([ra], q) - pooled_quantile([rb], q) for ra, rb in zip(a, b, strict=True)
        ]
        mean, low, high = t_interval(per_repeat, confidence)
        found.append(
            Estimate(
                quantile=q,
                a_us=pooled_quantile(a, q),
                b_us=pooled_quantile(b, q),
                delta_us=round(mean, 1),
                ci_low_us=round(low, 1),
                ci_high_us=round(high, 1),
                repeats=len(a),
                a_requests=sum(map(requests, a)),
                b_requests=sum(map(requests, b)),
                fewest_requests=fewest,
                per_repeat_us=tuple(round(d, 1) for d in per_repeat),
            )
        )
    return found


def ratio_interval(
    a: Sequence[float | None], b: Sequence[float | None], confidence: float = CONFIDENCE
) -> tuple[float, float, float, int] | None:
    """(ratio, low, high, repeats): the geometric mean of per-repeat a/b with the t interval of
    its logarithm, exponentiated. None without a usable repeat."""
    pairs = [(x, y) for x, y in zip(a, b, strict=False) if x and y]
    if not pairs:
        return None
    logs = [math.log(x / y) for x, y in pairs]
    mean, low, high = t_interval(logs, confidence)
    return round(math.exp(mean), 3), round(math.exp(low), 3), round(math.exp(high), 3), len(pairs)


def drift(
    per_second: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """(drift over the window, its low, its high) from the Theil-Sen slope of a per-second
    series (scipy.stats.theilslopes): how much the series moved from its first second to its
    last, robust to single odd seconds."""
    ys = np.asarray(per_second, dtype=float)
    if ys.size < 4:
        return 0.0, -math.inf, math.inf
    found = stats.theilslopes(ys, np.arange(ys.size), alpha=confidence)
    span = ys.size - 1
    return float(found.slope) * span, float(found.low_slope) * span, float(found.high_slope) * span


# --------------------------------------------------------------------------------------------
# The method used until 2026-11-30, kept for the coverage command's comparison.

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20_190_501


def _matrix(repeats: Sequence[Seconds], keys: list[list[int]], grid: np.ndarray) -> np.ndarray:
    rows = []
    for seconds, order in zip(repeats, keys, strict=True):
        for second in order:
            row = np.zeros(grid.size)
            if second in seconds:
                values, counts = seconds[second]
                row[np.searchsorted(grid, values)] = counts
            rows.append(row)
    return np.array(rows, dtype=np.float32)


def hierarchical_bootstrap(
    a: Sequence[Seconds],
    b: Sequence[Seconds],
    q: float = 0.5,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """(a - b pooled, low, high): repeats drawn with replacement, then each drawn repeat's
    seconds (one multinomial), percentile interval. Too narrow with few repeats (see above)."""
    keys = [sorted(set(sa) | set(sb)) for sa, sb in zip(a, b, strict=True)]
    values = [v for arm in (a, b) for rep in arm for v, _ in rep.values()]
    grid = np.unique(np.concatenate(values)) if values else np.array([0.0])
    matrix_a, matrix_b = _matrix(a, keys, grid), _matrix(b, keys, grid)
    offsets = np.cumsum([0] + [len(k) for k in keys])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(keys), (samples, len(keys)))
    weights = np.zeros((samples, offsets[-1]), dtype=np.float32)
    for repeat, order in enumerate(keys):
        if n := len(order):
            times = (picks == repeat).sum(axis=1)
            weights[:, offsets[repeat] : offsets[repeat + 1]] = rng.multinomial(
                times * n, np.full(n, 1.0 / n)
            )
    counts_a, counts_b = weights @ matrix_a, weights @ matrix_b
    present = (counts_a.sum(axis=1) > 0) & (counts_b.sum(axis=1) > 0)
    deltas = weighted_quantile(counts_a[present], grid, q) - weighted_quantile(
        counts_b[present], grid, q
    )
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(deltas, [tail, 100 - tail])
    return pooled_quantile(a, q) - pooled_quantile(b, q), float(low), float(high)


def bootstrap_ratio_of_means(
    a: Sequence[float], b: Sequence[float], samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float, float]:
    """(mean(a) / mean(b), low, high): repeats resampled, percentile interval; the CPU ratio's
    method until 2026-11-30."""
    xs, ys = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, len(xs), (samples, len(xs)))
    ratios = xs[picks].mean(axis=1) / ys[picks].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(xs.mean() / ys.mean()), float(low), float(high)
