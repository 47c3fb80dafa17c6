"""Arrival streams: the stated process, seeded, shared between load-generator processes, and the
realised spread of the gaps recorded."""

from __future__ import annotations

import itertools

import pytest

from bench.load.arrivals import ArrivalStream, GapStats, gap_cv


def take(stream: ArrivalStream, n: int) -> list[float]:
    return [stream.take() for _ in range(n)]


def test_poisson_gaps_vary_as_much_as_they_average():
    stream = ArrivalStream("poisson", 1000, seed=1, clock=lambda: 100.0)
    slots = take(stream, 20_000)
    assert slots == sorted(slots)
    cv = gap_cv(stream.gaps.encode(), 0, 10_000)
    assert cv == pytest.approx(1.0, abs=0.05)
    assert (slots[-1] - slots[0]) == pytest.approx(20.0, rel=0.05)  # 1,000 per second


def test_uniform_gaps_do_not_vary():
    stream = ArrivalStream("uniform", 1000, seed=1, clock=lambda: 100.0)
    take(stream, 5000)
    assert gap_cv(stream.gaps.encode(), 0, 10_000) == pytest.approx(0.0, abs=1e-6)


def test_the_same_seed_gives_the_same_stream_and_another_seed_another():
    a = take(ArrivalStream("poisson", 500, seed=7, clock=lambda: 0.0), 100)
    b = take(ArrivalStream("poisson", 500, seed=7, clock=lambda: 0.0), 100)
    c = take(ArrivalStream("poisson", 500, seed=8, clock=lambda: 0.0), 100)
    assert a == b and a != c


def test_uniform_streams_of_several_processes_interleave_into_one_even_stream():
    parts = [
        ArrivalStream("uniform", 1000, seed=1, share=k, shares=4, clock=lambda: 10.0)
        for k in range(4)
    ]
    merged = sorted(slot for stream in parts for slot in take(stream, 250))
    gaps = [b - a for a, b in itertools.pairwise(merged)]
    assert max(gaps) - min(gaps) < 1e-9 and gaps[0] == pytest.approx(0.001)


def test_gap_statistics_merge_exactly():
    whole, left, right = GapStats(), GapStats(), GapStats()
    for i, gap in enumerate([0.001, 0.003, 0.002, 0.004] * 50):
        whole.add(100 + i / 100, gap)
        (left if i % 2 else right).add(100 + i / 100, gap)
    left.merge(right.encode())
    assert gap_cv(left.encode(), 100, 103) == gap_cv(whole.encode(), 100, 103)


def test_an_unknown_process_is_refused():
    with pytest.raises(ValueError, match="poisson, uniform"):
        ArrivalStream("bursty", 100, seed=1)
