"""The latency recorder: microsecond resolution, exact merges, windows, round trips."""

from __future__ import annotations

import json
import random

from bench.load.recorder import Recorder, parse_server_timing, percentiles


def fill(recorder: Recorder, values_us, second: int = 100, status: int = 200) -> None:
    for value in values_us:
        recorder.record(second, value, status, auth_us=value / 10)


def test_microsecond_resolution_below_a_millisecond():
    recorder = Recorder()
    fill(recorder, [123] * 50 + [124] * 50)
    window = recorder.window(100, 101)
    assert window.service.get_value_at_percentile(25) == 123
    assert window.service.get_value_at_percentile(75) == 124  # Locust would say 0 ms for both


def test_percentiles_of_a_known_distribution():
    recorder = Recorder()
    fill(recorder, range(1, 10_001))
    spectrum = percentiles(recorder.window(100, 101).service)
    assert spectrum["count"] == 10_000
    assert abs(spectrum["p50"] - 5_000) <= 5  # HdrHistogram: 3 significant digits
    assert abs(spectrum["p99"] - 9_900) <= 10
    assert abs(spectrum["max"] - 10_000) <= 10


def test_merging_drained_workers_equals_one_recorder_that_saw_everything():
    rng = random.Random(7)
    values = [rng.lognormvariate(6, 1) for _ in range(30_000)]
    seconds = [100 + i % 5 for i in range(len(values))]
    whole, master = Recorder(), Recorder()
    workers = [Recorder(), Recorder(), Recorder()]
    for i, (value, second) in enumerate(zip(values, seconds, strict=True)):
        status = 503 if i % 97 == 0 else 200
        whole.record(second, value, status)
        workers[i % 3].record(second, value, status)
        if i % 5000 == 4999:  # workers report periodically, as Locust's stats reports do
            for worker in workers:
                master.merge(json.loads(json.dumps(worker.drain())))
    for worker in workers:
        master.merge(json.loads(json.dumps(worker.drain())))
    assert master.total == whole.total == len(values)
    a, b = master.window(100, 105), whole.window(100, 105)
    assert a.statuses == b.statuses
    for p in (50, 90, 99, 99.9, 100):
        assert a.service.get_value_at_percentile(p) == b.service.get_value_at_percentile(p)
    assert all(not w.seconds for w in workers)  # drained


def test_window_takes_whole_seconds_start_inclusive_end_exclusive():
    recorder = Recorder()
    for second in range(10, 20):
        fill(recorder, [100] * second, second=second)
    assert recorder.window(12, 15).count == 12 + 13 + 14
    assert recorder.window(0, 5).count == 0


def test_corrected_latency_and_late_starts_are_kept_apart():
    recorder = Recorder()
    recorder.record(5, 300, 200, corrected_us=300)
    recorder.record(5, 300, 200, corrected_us=40_300, late=True)  # waited 40 ms for its turn
    window = recorder.window(5, 6)
    assert window.late == 1
    assert window.service.get_max_value() < 301
    assert window.corrected.get_max_value() > 40_000


def test_timeline_has_one_row_per_second_with_statuses():
    recorder = Recorder()
    fill(recorder, [100, 200], second=1)
    fill(recorder, [100], second=2, status=503)
    rows = recorder.timeline()
    assert [r["second"] for r in rows] == [1, 2]
    assert rows[1]["statuses"] == {"503": 1}


def test_server_timing_parsing():
    assert parse_server_timing("auth;dur=0.123") == 123.0
    assert parse_server_timing("auth;dur=12.5") == 12_500.0
    assert parse_server_timing(None) is None
    assert parse_server_timing("db;dur=1") is None
    assert parse_server_timing("auth;dur=x") is None
