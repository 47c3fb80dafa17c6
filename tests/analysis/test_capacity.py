"""The capacity model of notebook 08: figures traced to measurements, and sentences that follow."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import analysis
from bench.run.scenario import ServerSpec
from tests.support import synthetic

SERVERS = (
    ServerSpec("jwt_auth", "jwt_auth"),
    ServerSpec("session", "session"),
    ServerSpec("session_redis", "session", {"AUTHBENCH_SESSION_STORE": "redis"}),
    ServerSpec("session_2_workers", "session", workers=2),
)
LAYOUT = {"load_generator": [0], "servers": [1]}


def closed(
    label: str,
    ok_rps: float,
    server_us: float,
    postgres_us: float = 0.0,
    redis_us: float | None = None,
    generator_us: float = 50.0,
) -> dict:
    cpu = {"server": server_us, "postgres": postgres_us, "load_generator": generator_us}
    if redis_us is not None:
        cpu["redis"] = redis_us
    spec = next(s for s in SERVERS if s.label == label)
    cell = synthetic.closed_cell(label, spec.server, 1, server_us, postgres_us, rps=ok_rps)
    cell.update(
        id=f"{label}-closed",
        server_workers=spec.workers,
        requests=10_000,
        latency_us={"p50": 500.0},
        cpu_us_per_request=cpu,
        server_cores_busy=None,
    )
    return cell


def make_run(session_2_workers_rps: float, generator_us: float = 50.0) -> analysis.Run:
    cells = [
        closed("jwt_auth", 10_000, server_us=70, generator_us=generator_us),
        closed("session", 9_000, server_us=75, postgres_us=25, generator_us=generator_us),
        closed("session_redis", 9_500, server_us=80, redis_us=8, generator_us=generator_us),
        closed("session_2_workers", session_2_workers_rps, 80, 25, generator_us=generator_us),
    ]
    sc = synthetic.scenario(servers=SERVERS)
    record = synthetic.record(sc, cells, settings={"cpu_layout": LAYOUT, "pinned": True})
    return analysis.Run(Path("/nonexistent/synthetic"), record)


def test_cores_and_nodes_follow_cpu_per_request():
    rows = {(r["scheme"], r["rate"]): r for r in analysis.capacity_rows(make_run(9_000))}
    session = rows[("sessions in PostgreSQL", 1_000_000)]
    assert session["app_cores"] == pytest.approx(75) and session["postgres_cores"] == pytest.approx(
        25
    )
    assert session["postgres_nodes"] == 2  # 25 cores of lookups on 16-core nodes
    redis = rows[("sessions in Redis", 100_000)]
    assert redis["redis_cores"] == pytest.approx(0.8) and redis["redis_nodes"] == 1
    assert rows[("sessions in Redis", 1_000_000)]["redis_nodes"] == 8  # 125,000 per node
    assert rows[("JWT", 10_000)]["postgres_nodes"] == 0


def test_saturation_of_one_node():
    rows = {r["store"]: r for r in analysis.saturation_rows(make_run(9_000), pg_node_cores=8)}
    assert rows["one PostgreSQL primary, 8 cores"]["saturates_at_rps"] == pytest.approx(320_000)
    assert rows["one Redis node (one command thread)"]["saturates_at_rps"] == pytest.approx(125_000)


def test_model_check_predicts_from_the_one_worker_twin():
    (row,) = analysis.model_check_rows(make_run(9_000))
    assert row["from"] == "session" and row["workers"] == 2
    assert row["predicted_rps"] == pytest.approx(10_000)  # 1 core / 100 µs; Locust: 20,000
    assert row["bottleneck"] == "servers' cores"
    assert row["error_fraction"] == pytest.approx(-0.10)


def test_model_check_names_the_load_generator_when_it_runs_out_first():
    (row,) = analysis.model_check_rows(make_run(7_000, generator_us=125))
    assert row["bottleneck"] == "load generator" and row["predicted_rps"] == pytest.approx(8_000)


def test_model_check_without_pinning_shares_every_core():
    run = make_run(8_000)
    run.record.settings.cpu_layout = None
    run.record.environment.cpu_count = 2
    (row,) = analysis.model_check_rows(run)
    assert row["predicted_rps"] == pytest.approx(2e6 / 150)  # 100 µs serving + 50 µs sending
    assert row["bottleneck"] == "machine's cores, shared"


@pytest.mark.parametrize(
    ("measured", "words", "not_words"),
    [
        (9_800, "within 10% of the prediction (-2%)", "optimistic"),
        (6_000, "40% below the prediction: the model is optimistic", "within"),
        (13_000, "30% above the prediction: the model is pessimistic", "within"),
    ],
)
def test_model_check_sentence_follows_the_miss(measured, words, not_words):
    said = analysis.model_check_sentence(make_run(measured))
    assert words in said and not_words not in said
    assert "limited by the servers' cores" in said


def test_model_check_sentence_says_when_the_cost_per_request_moved():
    dearer = make_run(7_000)
    dearer.cells[3].cpu_us_per_request.update(server=110, postgres=30)  # 140 µs
    said = analysis.model_check_sentence(dearer)
    assert "140 µs of server and store CPU with 2 workers against 100 µs with one: 40% more" in said
    steady = make_run(9_500)
    steady.cells[3].cpu_us_per_request.update(server=75, postgres=25)
    assert "which the model assumes constant" not in analysis.model_check_sentence(steady)


def test_bill_sentence_says_more_or_fewer_cores_than_jwt():
    said = analysis.bill_sentence(make_run(9_000))
    assert "Sessions in PostgreSQL need 30 more cores in all than JWT (1.43x)" in said
    cheap = make_run(9_000)
    cheap.cells[1].cpu_us_per_request.update(server=30, postgres=10)
    said = analysis.bill_sentence(cheap)
    assert "need 30 fewer cores" in said and "more cores" not in said


def test_revocation_window_by_design():
    rows = {r["scheme"]: r["window"] for r in analysis.revocation_window_rows(make_run(9_000))}
    assert rows["JWT"] == "the token's lifetime"
    assert rows["sessions in Redis"] == "none: refused on the next request"
    assert "replication lag" in rows["sessions on read replicas"]
