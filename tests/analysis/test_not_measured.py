"""A run whose arms were external (deployments reached at their URL, started by no one here):
what the harness cannot see from outside, their CPU and their stores', their servers' busy
cores, Server-Timing they did not send, is "not measured" wherever a figure of it would be
shown, never 0 or a dash; the paired verdicts and the A/A check are there as for any run."""

from __future__ import annotations

from pathlib import Path

from bench import analysis
from bench.analysis.plots import plot_cpu_per_request
from bench.results.load_records import CapacityRecord
from bench.run.scenario import ServerSpec
from tests.support import synthetic

SESSION_URL, JWT_URL = "http://127.0.0.2:8001", "https://api.example.com/auth"
SERVERS = (
    ServerSpec("session", "session", runtime="external", url=SESSION_URL),
    ServerSpec("jwt_auth", "jwt_auth", runtime="external", url=JWT_URL),
)
OUT_OF_VIEW = {
    "cpu_seconds": {"load_generator": 0.9},
    "cpu_us_per_request": {"load_generator": 90.0, "total": None},
    "cpu_cores_busy": {"load_generator": 0.09},
    "cpu_processes": {"load_generator": 1},
}


def closed(label: str, kind: str, repeat: int) -> dict:
    cell = synthetic.closed_cell(label, kind, repeat, 0.0, rps=2_000.0)
    timing = {"auth_us": None} if kind == "jwt_auth" else {}
    return {**cell, **OUT_OF_VIEW, **timing, "server_cores_busy": None}


def external_run(tmp: Path, untimed: bool = False, scenario_changes=None) -> analysis.Run:
    """The claim pair, both external, with an A/A copy of the JWT arm; the JWT deployment sends
    no Server-Timing (nor the session one, if `untimed`)."""
    group = synthetic.claim_group(arms=("session", "jwt_auth"), pairs=(("session", "jwt_auth"),))
    sc = synthetic.scenario(servers=SERVERS, groups=(group,), closed_users=(16,))

    def out_of_view(cell, label: str) -> dict:
        timing = {"auth_us": None} if untimed or label.startswith("jwt_auth") else {}
        return {**OUT_OF_VIEW, **timing}

    medians = {"session": 1_200.0, "jwt_auth": 800.0, "jwt_auth_aa": 800.0}
    cells = synthetic.paired_cells(
        tmp, sc, lambda arm, repeat, rate: medians[arm], extra=out_of_view
    )
    for cell in cells:
        cell["server_cores_busy"] = None
    cells += [closed(s.label, s.server, r) for r in (1, 2, 3) for s in SERVERS]
    if untimed:
        cells = [cell if "arms" in cell else {**cell, "auth_us": None} for cell in cells]
    capacity = {
        s.label: CapacityRecord(
            label=s.label,
            cell=f"{s.label}-closed-1",
            service_us=None,
            cores=1,
            capacity_rps=2_000.0,
            closed_rps=2_000.0,
            cores_busy=None,
            lower_bound=True,
        )
        for s in SERVERS
    }
    return synthetic.write(tmp, sc, cells, capacity=capacity, scenario_changes=scenario_changes)


def test_the_summary_says_not_measured_where_cpu_would_be(tmp_path):
    run = external_run(tmp_path)
    table = analysis.summary_table(run)
    for row in table.rows:
        for column in ("rps_per_core", "cpu_server_us", "cpu_postgres_us", "cpu_redis_us"):
            assert row[column] == "not measured", (row["server"], column)
        assert row["cpu_load_generator_us"] == 90.0  # Locust's, on this machine, is measured
    text = analysis.summary_text(run)
    assert text.startswith(
        f"From this machine (synthetic, 2 cores) to external arms (session at {SESSION_URL}, "
        f"jwt_auth at {JWT_URL}), GET /me, at 1,000 requests per second in total, 333 to each "
        "of its 3 servers, poisson arrivals; the servers' CPU not measured: "
    )
    assert "Not measured: the CPU per request of session and jwt_auth and of their stores" in text
    assert "the auth time of jwt_auth (their answers carried no Server-Timing)" in text
    assert "server µs/req" in text and " 0.0 " not in text


def test_the_paired_verdicts_and_the_a_a_check_are_there(tmp_path):
    run = external_run(tmp_path)
    rows = analysis.paired_verdicts(run, quantile=0.5)
    assert {(r.a, r.b, r.a_a) for r in rows} == {
        ("session", "jwt_auth", False),
        ("jwt_auth_aa", "jwt_auth", True),
    }
    claim = next(r for r in rows if not r.a_a)
    assert claim.verdict == "holds" and claim.cores_busy is None
    text = analysis.verdict_text(run)
    assert "session - jwt_auth" in text and "[A/A check]" in text
    assert text.splitlines()[-1].startswith("Not measured: the CPU per request of session")


def test_no_cpu_ratio_no_capacity_model_no_bill_only_words(tmp_path):
    run = external_run(tmp_path)
    assert analysis.cpu_ratio_rows(run) == []
    assert analysis.cost_rows(run) == []
    assert analysis.bill_sentence(run) == (
        "The bill needs CPU per request, not measured for the external arms (session, "
        "jwt_auth): their servers run out of the harness's view."
    )
    capacity = analysis.capacities(run)
    assert all(c.lower_bound and c.service_us is None for c in capacity.values())
    assert analysis.saturation_sentence(run) == (
        "This run has no closed-loop cells with their CPU measured."
    )


def test_the_cpu_figure_says_not_measured_instead_of_drawing_zero(tmp_path):
    figure = plot_cpu_per_request(external_run(tmp_path))
    assert figure is not None
    (axis,) = figure.axes
    said = [t.get_text() for t in axis.texts]
    assert said and all(t == "not measured\n(external arm)" for t in said)
    assert not axis.patches  # no bar at all, not a bar of height 0


def test_every_row_helper_and_sentence_reads_an_all_external_run(tmp_path):
    """No figure of the servers' CPU anywhere, and (the second run) no Server-Timing from any
    arm: every helper still answers, with None or words, never a KeyError."""
    helpers = {**synthetic.read_side("_rows"), **synthetic.run_sentences()}
    assert {"fixed_rate_rows", "auth_share_sentence", "tail_sentence"} <= set(helpers)
    for untimed in (False, True):
        run = external_run(tmp_path / str(untimed), untimed=untimed)
        for helper in helpers.values():
            helper(run)
        rows = analysis.fixed_rate_rows(run)
        assert rows and all(r["cpu_server_us"] is None for r in rows)
        if untimed:
            assert all(r["auth_p50_us"] is None for r in rows)
            assert analysis.auth_share_sentence(run) == (
                "This run has no Server-Timing figures at a fixed rate."
            )


def test_the_verdict_sentence_says_the_cpu_not_measured_as_the_answer_does(tmp_path):
    """One phrase, in `bench verdict`'s sentence and in the answer's condition alike."""
    run = external_run(tmp_path)
    claim = next(r for r in analysis.paired_verdicts(run, quantile=0.5) if not r.a_a)
    assert claim.cpu_out_of_view and claim.cores_busy is None
    assert analysis.load_of(claim) == ("at 1,000 req/s in total (the servers' CPU not measured)")
    assert "(the servers' CPU not measured)" in analysis.verdict_sentence(claim)
    assert "; the servers' CPU not measured" in analysis.summary_text(run)


def test_a_bar_with_nothing_measured_is_not_drawn_as_zero(tmp_path):
    """A pair of an external arm and a server started here, as a run could record it before such
    pairs were refused, the started one's CPU missing at its loads: no bar and no "0" for it."""

    def jwt_started_here(record):
        servers = [
            s.model_copy(update={"url": None, "runtime": "python"}) if s.label == "jwt_auth" else s
            for s in record.servers
        ]
        return record.model_copy(update={"servers": servers})

    run = external_run(tmp_path, scenario_changes=jwt_started_here)
    assert not run.model.server("jwt_auth").external
    (axis,) = plot_cpu_per_request(run).axes
    said = [t.get_text() for t in axis.texts]
    assert said and "0" not in said and not axis.patches
    assert all(t == "not measured\n(external arm)" for t in said)


def test_an_external_arm_is_never_the_plain_server_of_its_kind(tmp_path):
    """Drawn apart (its own hatch) from a started server of the same kind, never as it."""
    run = external_run(tmp_path)
    assert not any(s.plain for s in run.model.servers.values())
