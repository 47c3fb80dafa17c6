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


def external_run(tmp: Path) -> analysis.Run:
    """The claim pair, both external, with an A/A copy of the JWT arm; the JWT deployment sends
    no Server-Timing."""
    group = synthetic.claim_group(arms=("session", "jwt_auth"), pairs=(("session", "jwt_auth"),))
    sc = synthetic.scenario(servers=SERVERS, groups=(group,), closed_users=(16,))

    def out_of_view(cell, label: str) -> dict:
        timing = {"auth_us": None} if label.startswith("jwt_auth") else {}
        return {**OUT_OF_VIEW, **timing}

    medians = {"session": 1_200.0, "jwt_auth": 800.0, "jwt_auth_aa": 800.0}
    cells = synthetic.paired_cells(
        tmp, sc, lambda arm, repeat, rate: medians[arm], extra=out_of_view
    )
    for cell in cells:
        cell["server_cores_busy"] = None
    cells += [closed(s.label, s.server, r) for r in (1, 2, 3) for s in SERVERS]
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
    return synthetic.write(tmp, sc, cells, capacity=capacity)


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
