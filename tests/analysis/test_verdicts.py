"""The verdict of the paired design, on synthetic runs whose truth is known: the rule, the
interval, the checks that refuse a repeat, and what the A/A check and the CLI say."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench import analysis
from bench.analysis import verdict_lines, verdicts
from tests.support import synthetic


def run_with(tmp_path, medians, repeats=3, settings=None, **changes):
    sc = synthetic.scenario(groups=(synthetic.claim_group(),), repeats=repeats)
    cells = synthetic.paired_cells(tmp_path, sc, medians, **changes)
    return synthetic.write(tmp_path, sc, cells, settings=settings)


def head(run, a="session", b="jwt_auth") -> verdicts.PairVerdict:
    (found,) = [r for r in verdicts.paired_verdicts(run) if (r.a, r.b) == (a, b)]
    return found


def levels(session, jwt=800, control=400, repeat_shift=(0, 40, -40, 20, -20, 0)):
    """Medians per arm; each repeat moves every arm alike (the machine's state)."""
    table = {"session": session, "jwt_auth": jwt, "jwt_auth_aa": jwt, "control": control}
    return lambda arm, repeat, rate: table[arm] + repeat_shift[repeat - 1]


def test_a_known_difference_is_recovered_inside_its_interval(tmp_path):
    found = head(run_with(tmp_path, levels(1_000)))
    assert found.ci_low_us < 200 < found.ci_high_us and abs(found.delta_us - 200) < 30
    assert found.margin_us == pytest.approx(80, rel=0.05)  # 10% of JWT's median
    assert found.verdict == "holds" and found.method == verdicts.METHOD
    assert len(found.per_repeat_us) == 3 and found.seed is None and found.samples == 3


def test_the_interval_is_at_the_confidence_the_run_recorded(tmp_path):
    """A run judged at 99% gets the wider interval it asked for, and says so on its rows."""
    usual = head(run_with(tmp_path / "a", levels(1_000)))
    strict = head(run_with(tmp_path / "b", levels(1_000), settings={"confidence": 0.99}))
    assert (usual.confidence, strict.confidence) == (0.95, 0.99)
    assert strict.delta_us == usual.delta_us
    assert strict.ci_low_us < usual.ci_low_us and strict.ci_high_us > usual.ci_high_us


def test_identical_arms_give_no_difference_and_the_a_a_check_passes(tmp_path):
    run = run_with(tmp_path, levels(800))
    assert head(run).verdict == "no_difference"
    (a_a,) = [r for r in verdicts.paired_verdicts(run) if r.a_a]
    assert a_a.a == "jwt_auth_aa" and a_a.verdict == "no_difference"
    assert verdict_lines.a_a_warning(verdicts.paired_verdicts(run)) is None


def test_the_opposite_world_gives_the_opposite_verdict_and_sentence(tmp_path):
    slower = head(run_with(tmp_path / "a", levels(1_000)))
    faster = head(run_with(tmp_path / "b", levels(600)))
    assert slower.verdict == "holds" and faster.verdict == "reversed"
    assert "session is slower than jwt_auth" in verdict_lines.verdict_sentence(slower)
    assert "jwt_auth is slower than session" in verdict_lines.verdict_sentence(faster)


def test_too_little_data_is_inconclusive(tmp_path):
    found = head(run_with(tmp_path, levels(1_000), seconds=2, per_second=20))
    assert found.verdict == "inconclusive" and "requests per arm" in found.reason
    assert "inconclusive" in verdict_lines.verdict_sentence(found)


def test_one_repeat_is_inconclusive_whatever_its_estimate_and_does_not_cry_noise(tmp_path):
    run = run_with(tmp_path, levels(1_000), repeats=1)
    found = head(run)
    assert found.verdict == "inconclusive" and "one repeat" in found.reason
    said = verdict_lines.a_a_warning(verdicts.paired_verdicts(run))
    assert said is not None and "WARNING" not in said and "noisy" not in said
    assert "cannot say" in said


def test_run_to_run_spread_widens_the_interval(tmp_path):
    quiet = head(run_with(tmp_path / "q", levels(900)))
    wobbly = lambda arm, repeat, rate: {"session": 900 + (150, -150, 60)[repeat - 1]}.get(  # noqa: E731
        arm, levels(900)(arm, repeat, rate)
    )
    noisy = head(run_with(tmp_path / "n", wobbly))
    assert noisy.ci_high_us - noisy.ci_low_us > 3 * (quiet.ci_high_us - quiet.ci_low_us)


def test_a_conclusive_a_a_difference_warns_loudly(tmp_path):
    copies_differ = lambda arm, repeat, rate: {"jwt_auth_aa": 1_000}.get(  # noqa: E731
        arm, levels(900)(arm, repeat, rate)
    )
    rows = verdicts.paired_verdicts(run_with(tmp_path, copies_differ))
    assert "WARNING: the A/A check failed" in verdict_lines.a_a_warning(rows)


def test_a_repeat_that_drifts_within_its_window_is_refused(tmp_path):
    sc = synthetic.scenario(groups=(synthetic.claim_group(),))
    cells = synthetic.paired_cells(tmp_path, sc, levels(1_000))
    # Repeat 2's session arm: its second half 600 µs slower than its first.
    from bench.load.recorder import Recorder

    cell = next(c for c in cells if c["repeat"] == 2 and c["rate"] == 1000.0)
    path = tmp_path / cell["latency_file"]
    latency = json.loads(path.read_text())
    drifting = Recorder()
    for second in range(synthetic.START, synthetic.START + 10):
        for _ in range(100):
            value = 1000 + 120 * (second - synthetic.START)
            drifting.record(second, value, 200, corrected_us=value)
    latency["arms"]["session"] = drifting.encode()
    path.write_text(json.dumps(latency))
    found = head(synthetic.write(tmp_path, sc, cells))
    assert (
        found.verdict == "inconclusive" and "drifted" in found.reason and "repeat 2" in found.reason
    )


def test_a_client_that_fell_behind_is_refused(tmp_path):
    late = lambda cell, arm: {"late": 150} if cell.repeat == 3 else {}  # noqa: E731
    found = head(run_with(tmp_path, levels(1_000), extra=late))
    assert found.verdict == "inconclusive" and "late" in found.reason


def test_verdict_json_has_every_decided_comparison(tmp_path):
    sc = synthetic.scenario(groups=(synthetic.claim_group(),))
    cells = synthetic.paired_cells(tmp_path, sc, levels(1_000))
    cells += [
        synthetic.closed_cell(label, label, r, us, pg)
        for r in (1, 2, 3)
        for label, us, pg in (("session", 80 + r, 20), ("jwt_auth", 75, 0))
    ]
    synthetic.write(tmp_path, sc, cells)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "verdict", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(done.stdout)
    latency = [r for r in rows if r["kind"] == "latency"]
    cpu = [r for r in rows if r["kind"] == "cpu_ratio"]
    keys = {
        "rate",
        "a",
        "b",
        "latency",
        "quantile",
        "delta_us",
        "ci_low_us",
        "ci_high_us",
        "margin_us",
        "verdict",
        "a_a",
        "repeats",
        "seed",
        "samples",
        "method",
    }
    assert latency and all(keys <= set(r) for r in latency)
    assert {(r["latency"], r["quantile"]) for r in latency} == {
        ("response", 0.5),
        ("response", 0.99),
    }
    assert {r["what"] for r in cpu} == {"server process", "server plus its store"}
    for r in cpu:
        assert {"a", "b", "ratio", "ci_low", "ci_high", "margin", "verdict"} <= set(r)
        assert r["verdict"] in ("more", "less", "no_difference", "inconclusive")


def test_verdict_command_on_a_run_without_paired_cells_says_so(tmp_path):
    synthetic.write(tmp_path, synthetic.scenario(), [])
    done = subprocess.run(
        [sys.executable, "-m", "bench", "verdict", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("has no paired cells: no verdict to give")
    assert "Traceback" not in done.stderr


def test_every_direction_sentence_says_inconclusive_for_an_interval_across_the_margin(tmp_path):
    """Feed the rule an interval that crosses the margin: every sentence stating a direction
    must say its equivalent of inconclusive."""
    wobbly = lambda arm, repeat, rate: {"session": 880 + (300, -250, 40)[repeat - 1]}.get(  # noqa: E731
        arm, levels(800, repeat_shift=(0, 0, 0))(arm, repeat, rate)
    )
    run = run_with(tmp_path, wobbly)
    found = head(run)
    assert found.verdict == "inconclusive"
    assert "inconclusive" in verdict_lines.verdict_sentence(found)
    assert "inconclusive" in analysis.answer_sentence(run)
    assert "holds" not in analysis.answer_sentence(run)


def test_a_fixed_rate_verdict_judges_response_time_not_service_time(tmp_path):
    """Both servers' service times alike, the session server's requests waiting 400 µs more
    from their intended start: the verdict sees the wait (what a user waits), and says that it
    judged response time; the same servers unloaded judge service time and say so."""
    waits = lambda arm, repeat, rate: 400.0 if arm == "session" else 0.0  # noqa: E731
    sc = synthetic.scenario(groups=(synthetic.claim_group(unloaded=True),))
    cells = synthetic.paired_cells(tmp_path, sc, levels(800), waits=waits)
    run = synthetic.write(tmp_path, sc, cells)
    loaded, unloaded = (
        [
            r
            for r in verdicts.paired_verdicts(run)
            if (r.a, r.b, r.rate) == ("session", "jwt_auth", rate)
        ]
        for rate in (1000.0, None)
    )
    assert [(r.latency, r.verdict) for r in loaded] == [("response", "holds")]
    assert abs(loaded[0].delta_us - 400) < 60
    assert [(r.latency, r.verdict) for r in unloaded] == [("service", "no_difference")]
    assert "p50 response time" in verdict_lines.verdict_line(loaded[0])
    assert "p50 service time" in verdict_lines.verdict_sentence(unloaded[0])


def test_one_row_per_quantile_each_with_its_own_margin_and_the_tail_only_with_enough_samples(
    tmp_path,
):
    """p50 and p99 always; p99.9 only where every repeat of both arms has 10,000 requests. Each
    margin is 10% of the baseline's value at that quantile, and the requests are counted."""
    few = run_with(tmp_path / "few", levels(1_000))
    many = run_with(tmp_path / "many", levels(1_000), per_second=1_000)
    rows = {
        name: [
            r
            for r in verdicts.paired_verdicts(run, quantile=None)
            if (r.a, r.b) == ("session", "jwt_auth")
        ]
        for name, run in (("few", few), ("many", many))
    }
    assert [r.quantile for r in rows["few"]] == [0.5, 0.99]
    assert [r.quantile for r in rows["many"]] == [0.5, 0.99, 0.999]
    for r in rows["many"]:
        assert r.margin_us == pytest.approx(0.1 * r.b_us, rel=0.01)
        assert r.fewest_requests == 10_000 and r.a_requests == 30_000
    p50, p99, p999 = rows["many"]
    assert p50.margin_us < p99.margin_us < p999.margin_us
    assert verdicts.paired_verdicts(many) == [
        r for r in verdicts.paired_verdicts(many, quantile=None) if r.quantile == 0.5
    ]
    assert "(n = 30,000 and 30,000)" in verdict_lines.verdict_line(p999)


def test_an_a_a_check_failed_in_the_tail_only_says_which_verdicts_it_doubts(tmp_path):
    """The copy's median agrees, its p99 does not: the warning names the tail, not the run."""
    from bench.load.recorder import Recorder

    sc = synthetic.scenario(groups=(synthetic.claim_group(),))
    cells = synthetic.paired_cells(tmp_path, sc, levels(900))
    rng = np.random.default_rng(3)
    for cell in cells:
        median = levels(900)("jwt_auth", cell["repeat"], cell["rate"])
        path = tmp_path / cell["latency_file"]
        latency = json.loads(path.read_text())
        copy = Recorder()
        for second in range(synthetic.START, synthetic.START + 10):
            values = rng.lognormal(np.log(median), 0.25, 100)
            values[:3] *= 6  # a slow tail of its own: 3% of requests six times slower
            for value in values:
                copy.record(second, value, 200, corrected_us=value)
        latency["arms"]["jwt_auth_aa"] = copy.encode()
        path.write_text(json.dumps(latency))
    rows = verdicts.paired_verdicts(synthetic.write(tmp_path, sc, cells), quantile=None)
    said = verdict_lines.a_a_warning(rows)
    assert said is not None and "failed in the tail" in said and "p99" in said, said
    assert "at the median the copies agreed" in said
    assert verdict_lines.a_a_warning([r for r in rows if r.quantile == 0.5]) is None


def test_a_load_is_stated_as_a_share_of_capacity_as_a_rate_and_as_measured_utilisation(
    tmp_path,
):
    """A run without recorded capacities (an older format) derives them from its closed-loop
    cells by the same definitions: each server's capacity is a core over its CPU per request
    (server plus store), the claim group's n_arms over the sum (the A/A copy as its original).
    The headline says all three: the fraction, the rate and how busy the core was measured."""
    sc = synthetic.scenario(groups=(synthetic.claim_group(),))
    cells = synthetic.paired_cells(tmp_path, sc, levels(1_000))
    for r in (1, 2, 3):
        cells += [
            synthetic.closed_cell("session", "session", r, 80, 20),
            synthetic.closed_cell("jwt_auth", "jwt_auth", r, 75),
            synthetic.closed_cell("control", "control", r, 25),
        ]
    layout = {"cpu_layout": {"servers": [1], "load_generator": [0]}, "pinned": True}
    run = synthetic.write(tmp_path, sc, cells, settings=layout)
    capacity = analysis.capacities(run)
    assert capacity["session"].capacity_rps == pytest.approx(1e6 / 100)
    assert not capacity["session"].recorded
    row = head(run)
    assert row.load_fraction == pytest.approx(1_000 / (4e6 / (100 + 75 + 75 + 25)))
    assert row.cores_busy == 0.5
    said = analysis.answer_sentence(run)
    assert (
        f"at {row.load_fraction:.0%} of capacity (1,000 requests per second in total, poisson "
        "arrivals; the servers' core measured 50% busy)"
    ) in said
    assert "response time (from each request's intended start)" in said
    p99 = [r for r in verdicts.paired_verdicts(run, quantile=0.99) if (r.a, r.b) == (row.a, row.b)]
    assert f"At p99 the difference was {verdict_lines.signed(p99[0].delta_us)} µs" in said
    assert verdict_lines.load_of(row) == (
        f"at 1,000 req/s in total ({row.load_fraction:.0%} of capacity, the servers' core "
        "measured 50% busy)"
    )
    assert verdict_lines.verdict_sentence(row).startswith(verdict_lines.load_of(row).capitalize())
