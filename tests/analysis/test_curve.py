"""The load curve's read side on synthetic curves whose truth is known: its rows, the gap at
every load by the one rule, the knees, the queueing model, what pairing at once changes, the
answer's other cases (the claim biting from a load on, no knee, a knee for JWT first), and
`bench verdict --json`."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys

import pytest

from bench import analysis
from bench.analysis import curve_words, queueing
from bench.analysis.verdict_lines import signed
from tests.support import curve_runs, synthetic
from tests.support.synthetic import claim_run, write


@pytest.fixture(scope="module")
def everywhere(tmp_path_factory):
    return curve_runs.run(tmp_path_factory.mktemp("curve"), curve_runs.queued(curve_runs.BASE))


def test_curve_rows_fold_the_repeats_and_say_what_they_measured(everywhere):
    rows = analysis.curve_rows(everywhere)
    assert [r.server for r in rows] == ["session"] * 5 + ["jwt_auth"] * 5 + ["control"] * 5
    fractions = [r.load_fraction for r in rows if r.server == "session"]
    assert fractions == list(synthetic.CURVE_FRACTIONS)
    for r in rows:
        assert r.kind == "curve" and r.repeats == 3 and r.requests == 3 * 1_000
        assert r.p50_ci_low_us <= r.p50_us <= r.p50_ci_high_us
        assert r.p99_ci_low_us <= r.p99_us <= r.p99_ci_high_us
        assert r.p50_us < r.p99_us and r.schedule_kept and r.late_fraction == 0
        assert r.driver == ("locust" if r.load_fraction < 0.5 else "open_loop")
    session = [r for r in rows if r.server == "session"]
    assert session[-1].p50_us > 3 * session[0].p50_us  # it queues near capacity
    assert session[-1].utilisation == pytest.approx(0.95, abs=0.01)


def test_the_gap_at_every_load_is_judged_by_the_one_rule_on_response_time(everywhere):
    rows = analysis.gap_rows(everywhere)
    assert {(r.group, r.latency, r.a, r.b) for r in rows} == {
        ("curve", "response", "session", "jwt_auth")
    }
    assert [r.quantile for r in rows[:2]] == [0.5, 0.99]  # 1,000 requests a repeat: no p99.9
    for r in rows:
        assert r.verdict == "holds" and r.repeats == 3 and r.repeat_numbers == (1, 2, 3)
        assert r.margin_us == pytest.approx(0.1 * r.b_us, rel=0.01)
    p50 = [r for r in rows if r.quantile == 0.5]
    assert p50[-1].delta_us > 5 * p50[0].delta_us  # the same extra work costs more near the knee


def test_a_point_whose_client_fell_behind_is_marked_and_inconclusive(tmp_path):
    late = lambda server, rate, repeat: 300 if rate > 9_000 and repeat == 2 else 0  # noqa: E731
    run = curve_runs.run(tmp_path, curve_runs.queued(curve_runs.BASE), late=late)
    top = [r for r in analysis.curve_rows(run) if r.rate > 9_000]
    assert all(not r.schedule_kept and r.late_fraction == pytest.approx(0.3) for r in top)
    gaps = [r for r in analysis.gap_rows(run) if r.rate > 9_000]
    assert all(r.verdict == "inconclusive" and "repeat 2" in r.reason for r in gaps)
    assert "(schedule not kept)" in str(analysis.tables.curve_table(run))


def test_knees_are_where_the_median_doubles(everywhere):
    rows = analysis.curve_rows(everywhere)
    knees = {k.server: k for k in analysis.knees(everywhere)}
    session = [r for r in rows if r.server == "session"]
    expected = queueing.knee([r.rate for r in session], [r.p50_us for r in session])
    assert knees["session"].rate == pytest.approx(expected)
    assert knees["session"].load_fraction == pytest.approx(expected / session[-1].rate * 0.95)
    assert 0.7 < knees["session"].utilisation < 0.95
    assert knees["control"].rate is None and knees["control"].top_fraction == 0.95


def test_the_model_is_built_from_the_recorded_service_demand(everywhere):
    rows = [r for r in analysis.model_rows(everywhere) if r["model"] == "M/M/1"]
    session = [r for r in rows if r["server"] == "session"]
    assert {r["service_us"] for r in session} == {synthetic.SERVICE_US["session"]}
    assert session[0]["error"] == 0  # R0 is the lowest point's own
    assert all(r["holds"] for r in session)  # the synthetic medians queue as M/M/1 does
    low_bound = everywhere.record.model_copy(deep=True)
    low_bound.capacity["session"].lower_bound = True
    from bench.results import write_run

    write_run(everywhere.path, low_bound)
    said = analysis.model_rows(analysis.load(everywhere.path))
    assert "session" not in {r["server"] for r in said}  # no demand measured: no model
    write_run(everywhere.path, everywhere.record)


def test_interference_is_at_once_minus_alone_paired_by_repeat(tmp_path):
    same, worse = curve_runs.together_and_alone(tmp_path)
    (row,) = [r for r in analysis.interference_rows(worse) if r["quantile"] == 0.5]
    assert row["rate_per_arm"] == pytest.approx(row["total_rate"] / 2)
    assert row["difference_us"] == pytest.approx(row["together_us"] - row["alone_us"], abs=1)
    assert 450 < row["difference_us"] < 750 and row["verdict"] == "holds"
    (level,) = [r for r in analysis.interference_rows(same) if r["quantile"] == 0.5]
    assert level["verdict"] == "no_difference"


def test_the_claim_biting_from_a_load_on_says_where_and_what_it_cost_below(tmp_path):
    run = curve_runs.bites_from_a_load(tmp_path)
    p50 = analysis.gap_rows(run, quantile=0.5)
    start = next(i for i in range(len(p50)) if all(r.verdict == "holds" for r in p50[i:]))
    assert 0 < start < len(p50)
    said = analysis.curve_sentence(run)
    first = p50[start]
    assert f"below {first.rate:,.0f} req/s ({first.load_fraction:.0%} of session's" in said
    below = statistics.median(r.delta_us for r in p50[:start])
    assert f"the lookup cost about {signed(below)} µs at the median" in said
    assert "from there on session was slower than jwt_auth by more than the margin" in said


def test_no_knee_and_a_knee_for_jwt_first(tmp_path):
    flat, jwt_first = curve_runs.no_knee_and_jwt_first(tmp_path)
    said_flat, said_jwt = analysis.curve_sentence(flat), analysis.curve_sentence(jwt_first)
    assert "no knee reached" in said_flat and "reaches its knee first" not in said_flat
    assert "jwt_auth reaches its knee first" in said_jwt and "no knee reached" not in said_jwt
    assert "session not up to" in said_jwt


def test_the_numbers_said_are_the_rows(everywhere):
    said = analysis.curve_sentence(everywhere)
    rows = {(r.rate, r.quantile): r for r in analysis.gap_rows(everywhere)}
    near = min(
        (r for r in rows.values() if r.quantile == 0.5), key=lambda r: abs(r.load_fraction - 0.8)
    )
    assert f"At {near.load_fraction:.0%} of capacity ({near.rate:,.0f} req/s" in said
    assert (
        f"{signed(near.delta_us)} µs ({signed(near.ci_low_us)} to {signed(near.ci_high_us)})"
        in said
    )
    p99 = rows[(near.rate, 0.99)]
    assert (
        f"{signed(p99.delta_us)} µs ({signed(p99.ci_low_us)} to {signed(p99.ci_high_us)}) at p99"
        in said
    )
    top = max(analysis.curve_rows(everywhere), key=lambda r: (r.rate, r.p99_us / r.p99_service_us))
    assert f"{top.p99_us:,.0f} µs from the intended start" in analysis.service_time_sentence(
        everywhere
    )


def test_a_run_without_a_curve_says_so_and_its_headline_is_unchanged(tmp_path):
    run = write(tmp_path, *claim_run(tmp_path, 1_100))
    assert not analysis.curve_rows(run) and not analysis.gap_rows(run)
    assert not analysis.knees(run) and not analysis.model_rows(run)
    assert not analysis.interference_rows(run)
    for sentence in (
        analysis.curve_sentence,
        analysis.curve_model_sentence,
        analysis.service_time_sentence,
    ):
        assert sentence(run) == curve_words.NO_CURVE
    assert "did not pair the arms at once" in analysis.interference_sentence(run)
    assert "Alone on the servers' core" not in analysis.headline(run)
    assert analysis.headline(run).startswith(analysis.answer_sentence(run))


def test_a_curve_run_answers_from_its_curve(everywhere):
    said = analysis.headline(everywhere)
    assert said.startswith(analysis.curve_sentence(everywhere))
    assert "no paired comparison" not in said


def test_verdict_json_gives_curve_rows_and_gap_rows(everywhere):
    done = subprocess.run(
        [sys.executable, "-m", "bench", "verdict", str(everywhere.path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(done.stdout)
    points = [r for r in rows if r["kind"] == "curve"]
    gaps = [r for r in rows if r["kind"] == "latency" and r["group"] == "curve"]
    keys = {
        "server",
        "rate",
        "load_fraction",
        "achieved_rps",
        "utilisation",
        "p50_us",
        "p99_us",
        "p50_service_us",
        "p99_service_us",
        "late_fraction",
        "errors",
        "driver",
        "repeats",
    }
    assert len(points) == 15 and all(keys <= set(r) for r in points)
    assert len(gaps) == 10 and {r["latency"] for r in gaps} == {"response"}
    assert {r["quantile"] for r in gaps} == {0.5, 0.99}
    assert all(math.isfinite(r["ci_low_us"]) for r in gaps)
    text = subprocess.run(
        [sys.executable, "-m", "bench", "verdict", str(everywhere.path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Load curve (each server alone" in text and analysis.curve_sentence(everywhere) in text


CURVE_FIGURES = {
    "curve_latency.png",
    "curve_gap.png",
    "curve_utilisation.png",
    "coordinated_omission.png",
    "interference.png",
}


def test_a_curve_run_draws_its_figures_and_a_run_without_one_does_not(tmp_path):
    from bench.analysis.plots import draw_all

    _, together = curve_runs.together_and_alone(tmp_path / "curve")
    said = []
    written = {p.name for p in draw_all(together, tmp_path / "plots", warn=said.append)}
    assert not said and written >= CURVE_FIGURES
    claim = write(tmp_path / "claim", *claim_run(tmp_path / "claim", 1_100))
    written = {p.name for p in draw_all(claim, tmp_path / "claim_plots", warn=said.append)}
    assert not said and not CURVE_FIGURES & written


def test_every_load_is_said_only_for_the_quantile_it_holds_at(everywhere, monkeypatch):
    """The median holding at every load while p99 is inconclusive at one: "every load" is said
    for the median alone, and p99 names the exception with its verdict."""
    from dataclasses import replace

    from bench.analysis import curve

    rows = curve.gap_rows(everywhere)
    assert "at p99 at every load too" in analysis.curve_sentence(everywhere)
    odd = next(r for r in rows if r.quantile == 0.99 and r.load_fraction > 0.3)
    changed = [replace(r, verdict="inconclusive") if r is odd else r for r in rows]
    monkeypatch.setattr(curve, "gap_rows", lambda run, quantile=None: changed)
    said = analysis.curve_sentence(everywhere)
    assert "by more than the margin at the median at every load of the curve;" in said, said
    assert f"at p99 at every load but {odd.load_fraction:.0%} (inconclusive)" in said, said
    assert "at p99 at every load too" not in said
