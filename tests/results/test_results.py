"""Results on disk: written atomically through the types, read back checked, older formats
upgraded in one place, and corrupt folders named in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.results import (
    FORMAT_VERSION,
    ResultsError,
    RunRecord,
    list_runs,
    load_run,
    new_run_dir,
    write_run,
)
from bench.results.run_settings import Environment
from bench.results.upgrade import upgrade
from tests.support import synthetic

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_RUNS = ("results/reference", "results/reference-runtimes")
FORMAT_1_RUN = Path(__file__).parent / "data" / "format-1-run"


def good() -> dict:
    """A finished run with one closed-loop cell, as the harness writes it."""
    record = RunRecord(
        label="t",
        status="complete",
        started_at="2026-12-01T00:00:00+00:00",
        finished_at="2026-12-01T00:01:00+00:00",
        scenario=synthetic.scenario().record(),
        settings={
            "late_after_ms": 2.0,
            "locust_workers": 0,
            "seed_kdf": "scrypt",
            "pinned": False,
            "cpu_layout": None,
        },
        environment={"cpu_model": "synthetic", "package_pyjwt": "2.15.1"},
        planned_cells=1,
        cells=[synthetic.closed_cell("control", "control", 1, 30.0)],
    )
    return record.model_dump(mode="json")


def test_round_trip_and_folder_naming(tmp_path):
    run_dir = new_run_dir(tmp_path, "my-label")
    assert run_dir.name.endswith("Z-my-label") and (run_dir / "cells").is_dir()
    write_run(run_dir, RunRecord.model_validate(good()))
    run = load_run(run_dir)
    assert run.cells[0].id == "control-closed-1" and run.format == FORMAT_VERSION
    assert run.environment.package("pyjwt") == "2.15.1"
    assert not list(run_dir.glob("*.tmp"))
    assert new_run_dir(tmp_path, "my-label") != run_dir  # same second: a new folder, never a clash


def test_labels_cannot_escape_the_results_folder(tmp_path):
    with pytest.raises(ResultsError, match="label"):
        new_run_dir(tmp_path, "../elsewhere")


def changed(change) -> str:
    run = good()
    change(run)
    return json.dumps(run)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is corrupt: "),
        ("[]", "not a JSON object"),
        (changed(lambda r: r.update(cells="x")), "cells: Input should be a valid list"),
        (changed(lambda r: r.pop("scenario")), "scenario: Field required"),
        (changed(lambda r: r.update(status="exploded")), "status: Input should be 'running'"),
        (changed(lambda r: r.update(cells=[{"id": 1}])), "cells.0: Unable to extract tag"),
        (changed(lambda r: r.update(format=9)), "written in format 9 by a newer authbench"),
        (
            changed(lambda r: r["cells"][0].update(requests="many")),
            "cells.0.requests: Input should be a valid integer",
        ),
        (changed(lambda r: r["cells"][0].update(reqests=3)), "cells.0.reqests: Extra inputs"),
        (
            changed(lambda r: r["environment"].update(cpu_modle="x")),
            "environment: Value error, unknown key 'cpu_modle'",
        ),
    ],
)
def test_corrupt_run_json_is_named_in_one_line(tmp_path, content, problem):
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(ResultsError) as caught:
        load_run(tmp_path)
    assert problem in str(caught.value)
    assert str(tmp_path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_field_deep_in_a_paired_cell_is_named_by_its_place(tmp_path):
    """The location says where the mistake is, without the kind tag pydantic puts in it."""
    sc = synthetic.scenario(groups=(synthetic.claim_group(),))
    cells = synthetic.paired_cells(tmp_path, sc, lambda *_: 900)
    synthetic.write(tmp_path, sc, cells)
    raw = json.loads((tmp_path / "run.json").read_text())
    raw["cells"][2]["arms"]["session"]["requests"] = "many"
    (tmp_path / "run.json").write_text(json.dumps(raw))
    with pytest.raises(ResultsError) as caught:
        load_run(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'run.json'} is corrupt: cells.2.arms.session.requests: Input should be a "
        "valid integer, unable to parse string as an integer"
    )


def test_missing_folder_and_missing_run_json(tmp_path):
    with pytest.raises(ResultsError, match="no such directory"):
        load_run(tmp_path / "nope")
    with pytest.raises(ResultsError, match=r"has no run\.json"):
        load_run(tmp_path)


def test_list_shows_unreadable_runs_with_their_problem(tmp_path):
    good_dir, bad = tmp_path / "20260101T000000Z-a", tmp_path / "20260102T000000Z-b"
    good_dir.mkdir()
    bad.mkdir()
    write_run(good_dir, RunRecord.model_validate(good()))
    (bad / "run.json").write_text("{")
    rows = list_runs(tmp_path)
    assert [r["status"] for r in rows] == ["unreadable", "complete"]
    assert "corrupt" in rows[0]["problem"]
    assert rows[1]["scenario"] == "synthetic" and rows[1]["cells"] == 1


@pytest.mark.parametrize("folder", REFERENCE_RUNS)
def test_the_reference_runs_go_through_the_types_unchanged(folder):
    """Format 4 (the committed reference runs, made again on 2026-12-02): every key and every
    value, int or float, comes back out of the types as it went in, once upgraded."""
    raw = json.loads((ROOT / folder / "run.json").read_text())
    assert raw["format"] == 4 and "roles" in raw["scenario"]["paired"][0]
    record = load_run(ROOT / folder)
    upgraded = upgrade(raw)
    assert upgraded["settings"]["confidence"] == 0.95 and upgraded["format"] == FORMAT_VERSION
    dumped = record.model_dump(mode="json", exclude_unset=True)
    assert json.dumps(dumped, sort_keys=True) == json.dumps(upgraded, sort_keys=True)


def test_a_format_1_run_reads_as_the_current_format():
    """A run from before facts and roles (a cut of the reference run of 2026-11-29): its
    servers' facts, its groups' questions and roles and its thresholds derived; what it did not
    measure stays None."""
    run = load_run(FORMAT_1_RUN)
    assert run.format == FORMAT_VERSION
    claim = run.scenario.paired[0]
    assert (claim.name, claim.question, claim.roles.headline) == (
        "main",
        "claim",
        ("session", "jwt_auth"),
    )
    assert claim.roles.a_a == ("jwt_auth_aa", "jwt_auth") and claim.arrivals is None
    servers = {s.label: s for s in run.scenario.servers}
    assert servers["session"].store == "postgres" and servers["session"].revocable
    assert servers["jwt_auth"].algorithm == "HS256" and not servers["jwt_auth"].revocable
    assert run.settings.saturated_core_fraction == 0.9 and run.settings.min_repeats == 2
    paired = next(c for c in run.cells if c.model == "paired")
    assert paired.arm_order is None and paired.arms["session"].cache_hits is None


def test_the_environment_takes_packages_as_extra_keys():
    env = Environment.model_validate({"cpu_count": 2, "package_numpy": "2.4.6"})
    assert env.package("numpy") == "2.4.6" and env.package("scipy") is None
    with pytest.raises(ValueError, match="unknown key 'numpy'"):
        Environment.model_validate({"numpy": "2.4.6"})
