"""`bench xcheck`'s stopping rule: an interval resolves its estimate when its half-width is at
most 20% of the estimate's size, and the check says whether every one did (no process)."""

from __future__ import annotations

from bench.run.xcheck import resolution, resolves


def row(client: str, arrivals: str, delta: float, low: float | None, high: float | None) -> dict:
    return {
        "client": client,
        "arrivals": arrivals,
        "delta_p50_us": delta,
        "ci_low_us": low,
        "ci_high_us": high,
        "repeats": 4,
    }


def test_an_interval_resolves_when_its_half_width_is_within_a_fifth_of_the_estimate():
    assert resolves(row("locust", "poisson", 100.0, 80.0, 120.0))
    assert resolves(row("locust", "poisson", -100.0, -120.0, -80.0))  # the size, either sign
    assert not resolves(row("locust", "poisson", 100.0, 79.0, 121.0))
    assert not resolves(row("locust", "poisson", 0.0, -1.0, 1.0))  # nothing to resolve
    assert not resolves(row("locust", "poisson", 100.0, None, None))  # one repeat: no interval


def test_the_check_says_whether_every_interval_resolved_and_else_the_widest():
    good = [
        row("locust", "uniform", 100.0, 90.0, 110.0),
        row("independent", "uniform", 90, 80, 100),
    ]
    assert resolution(good) == (
        "every interval resolves 20% of its estimate (half-width at most 20% of it) after 4 repeats"
    )
    wide = [*good, row("independent", "poisson", 100.0, 40.0, 160.0)]
    assert resolution(wide) == (
        "could not resolve 20% in 4 repeats (the bound): the widest, independent with poisson "
        "arrivals, ±60% of its estimate"
    )
