"""The queueing models against their textbook values, and the knee against curves whose knee
is known."""

from __future__ import annotations

import math

import pytest

from bench.analysis.queueing import knee, littles_law, model_curve, queue_wait_us, utilisation


def test_textbook_waits_at_half_load():
    # S = 100 µs at 5,000 req/s on one core: busy half the time.
    assert utilisation(5000, 100) == pytest.approx(0.5)
    assert queue_wait_us("M/M/1", 5000, 100) == pytest.approx(100.0)
    assert queue_wait_us("M/D/1", 5000, 100) == pytest.approx(50.0)
    assert queue_wait_us("M/M/1", 5000, 100, cores=2) == pytest.approx(100 * 0.25 / 0.75)


def test_saturation_is_infinite_not_negative():
    assert math.isinf(queue_wait_us("M/M/1", 10_000, 100))
    assert math.isinf(queue_wait_us("M/D/1", 12_000, 100))
    with pytest.raises(ValueError, match="unknown model"):
        queue_wait_us("G/G/1", 1000, 100)


def test_littles_law():
    assert littles_law(9000, 1200) == pytest.approx(10.8)


def test_model_starts_from_the_measured_lowest_point_and_flags_where_it_fails():
    rates = [2000, 1000, 8000]  # unsorted on purpose
    measured = [330.0, 305.0, 3000.0]
    points = model_curve("M/M/1", rates, measured, service_us=100)
    assert [p.rate for p in points] == [1000, 2000, 8000]
    assert points[0].predicted_mean_us == pytest.approx(305.0)  # R0 + Wq(lowest) = measured
    # R0 = 305 - 100*0.1/0.9; at 2,000 req/s: R0 + 100*0.2/0.8
    assert points[1].predicted_mean_us == pytest.approx(305 - 100 / 9 + 25)
    assert points[1].holds
    assert not points[2].holds  # 8,000 req/s: the model says ~700 µs, the run 3,000
    assert points[2].error < -0.5


def test_knee_is_interpolated_between_the_points_around_it():
    rates = [1000, 2000, 4000, 8000]
    medians = [300.0, 320.0, 450.0, 1200.0]
    found = knee(rates, medians)
    # twice 300 µs = 600 µs lies between 450 (4,000) and 1,200 (8,000), log-linearly
    share = (math.log(600) - math.log(450)) / (math.log(1200) - math.log(450))
    assert found == pytest.approx(4000 + share * 4000)


def test_no_knee_when_the_curve_stays_flat_and_the_first_point_when_it_starts_high():
    assert knee([1000, 2000, 4000], [300.0, 310.0, 500.0]) is None
    assert knee([1000], [300.0]) is None
    assert knee([1000, 2000], [300.0, 900.0]) == pytest.approx(
        1000 + (math.log(600) - math.log(300)) / (math.log(900) - math.log(300)) * 1000
    )
