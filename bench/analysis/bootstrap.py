"""The statistics of the paired design: quantiles of recorded latencies, and the hierarchical
bootstrap that puts an interval around a difference of quantiles (numpy only).

Method, in words. For a pair (a, b) the estimate is a's median (or p99) minus b's, both taken
over every measured second of every repeat. Its 95% interval comes from a hierarchical
bootstrap: draw the repeats with replacement, then within each drawn repeat draw its seconds
with replacement, recompute both arms' quantiles from the requests of the drawn seconds, take
the difference; 2,000 times; the 2.5th and 97.5th percentiles of those differences bound the
interval. Both arms always get the same drawn seconds (that is the pairing), and drawing whole
repeats first puts run-to-run variation into the interval, not only the noise between seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 20_190_501  # fixed, so that the same data always gives the same interval

# One repeat of one arm: per measured second, the recorded values (us) and their counts.
Seconds = dict[int, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Estimate:
    """a minus b at one quantile: the estimate and its bootstrap interval, in microseconds."""

    quantile: float
    a_us: float
    b_us: float
    delta_us: float
    ci_low_us: float
    ci_high_us: float
    repeats: int
    a_requests: int
    b_requests: int


def _weighted_quantile(counts: np.ndarray, grid: np.ndarray, q: float) -> np.ndarray:
    """Per row of `counts` (histograms over `grid`), the smallest value at or above quantile q.

    The HdrHistogram convention: the value below which at least q of the requests fall."""
    cumulative = np.cumsum(counts, axis=1)
    target = np.maximum(1.0, np.ceil(q * cumulative[:, -1]))
    return grid[(cumulative >= target[:, None]).argmax(axis=1)]


def pooled_quantile(repeats: Sequence[Seconds], q: float) -> float:
    """One arm's quantile over every second of every repeat."""
    values = np.concatenate([v for rep in repeats for v, _ in rep.values()] or [np.zeros(0)])
    counts = np.concatenate([c for rep in repeats for _, c in rep.values()] or [np.zeros(0)])
    if not values.size:
        return float("nan")
    order = np.argsort(values)
    return float(_weighted_quantile(counts[order][None, :], values[order], q)[0])


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


def bootstrap_pair(
    a: Sequence[Seconds],
    b: Sequence[Seconds],
    quantiles: Sequence[float] = (0.5, 0.99),
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> list[Estimate]:
    """Hierarchical bootstrap of a minus b: repeats, then whole seconds within them.

    `a` and `b` hold one entry per repeat; within a repeat both arms share their seconds.
    """
    if len(a) != len(b) or not a:
        raise ValueError("a and b need the same number of repeats, at least one")
    keys = [sorted(set(sa) | set(sb)) for sa, sb in zip(a, b, strict=True)]
    values = [v for arm in (a, b) for rep in arm for v, _ in rep.values()]
    grid = np.unique(np.concatenate(values)) if values else np.array([0.0])
    matrix_a, matrix_b = _matrix(a, keys, grid), _matrix(b, keys, grid)
    offsets = np.cumsum([0] + [len(k) for k in keys])
    rng = np.random.default_rng(seed)
    # Level 1: each resample draws len(keys) repeats with replacement. Level 2: each draw of
    # repeat r draws its n seconds with replacement; drawn `times` times, that is one
    # multinomial of times * n draws over its n seconds (the same distribution, vectorised).
    picks = rng.integers(0, len(keys), (samples, len(keys)))
    weights = np.zeros((samples, offsets[-1]), dtype=np.float32)
    for repeat, order in enumerate(keys):
        n = len(order)
        if n:
            times = (picks == repeat).sum(axis=1)
            weights[:, offsets[repeat] : offsets[repeat + 1]] = rng.multinomial(
                times * n, np.full(n, 1.0 / n)
            )
    full = np.ones((1, offsets[-1]))
    counts_a, counts_b = weights @ matrix_a, weights @ matrix_b
    present = (counts_a.sum(axis=1) > 0) & (counts_b.sum(axis=1) > 0)
    estimates = []
    tail = (1 - CONFIDENCE) / 2 * 100
    for q in quantiles:
        point_a = float(_weighted_quantile(full @ matrix_a, grid, q)[0])
        point_b = float(_weighted_quantile(full @ matrix_b, grid, q)[0])
        deltas = _weighted_quantile(counts_a[present], grid, q) - _weighted_quantile(
            counts_b[present], grid, q
        )
        low, high = np.percentile(deltas, [tail, 100 - tail])
        estimates.append(
            Estimate(
                quantile=q,
                a_us=point_a,
                b_us=point_b,
                delta_us=round(point_a - point_b, 1),
                ci_low_us=round(float(low), 1),
                ci_high_us=round(float(high), 1),
                repeats=len(a),
                a_requests=int(matrix_a.sum()),
                b_requests=int(matrix_b.sum()),
            )
        )
    return estimates


def ratio_interval(
    a: Sequence[float], b: Sequence[float], samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float, float] | None:
    """mean(a) / mean(b) over paired repeats, with a 95% interval from resampling the repeats."""
    pairs = [(x, y) for x, y in zip(a, b, strict=False) if x is not None and y]
    if not pairs:
        return None
    xs, ys = np.array(pairs).T
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, len(xs), (samples, len(xs)))
    ratios = xs[picks].mean(axis=1) / ys[picks].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return round(xs.mean() / ys.mean(), 3), round(float(low), 3), round(float(high), 3)
