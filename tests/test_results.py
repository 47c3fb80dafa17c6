"""Results on disk: written atomically, read back checked, and corrupt folders named."""

from __future__ import annotations

import json

import pytest

from bench.results import ResultsError, list_runs, load_run, new_run_dir, write_run

GOOD = {"status": "complete", "scenario": {"name": "t"}, "environment": {}, "cells": []}


def test_round_trip_and_folder_naming(tmp_path):
    run_dir = new_run_dir(tmp_path, "my-label")
    assert run_dir.name.endswith("Z-my-label") and (run_dir / "cells").is_dir()
    write_run(run_dir, {**GOOD, "cells": [{"id": "001", "server": "control", "model": "closed"}]})
    run = load_run(run_dir)
    assert run["cells"][0]["id"] == "001"
    assert not list(run_dir.glob("*.tmp"))
    assert new_run_dir(tmp_path, "my-label") != run_dir  # same second: a new folder, never a clash


def test_labels_cannot_escape_the_results_folder(tmp_path):
    with pytest.raises(ResultsError, match="label"):
        new_run_dir(tmp_path, "../elsewhere")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is corrupt: "),
        ("[]", "not a JSON object"),
        (json.dumps({**GOOD, "cells": "x"}), "'cells' missing or not a list"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "scenario"}), "'scenario' missing"),
        (json.dumps({**GOOD, "status": "exploded"}), "unknown status 'exploded'"),
        (json.dumps({**GOOD, "cells": [{"id": 1}]}), "cell 1 lacks id or model"),
    ],
)
def test_corrupt_run_json_is_named_in_one_line(tmp_path, content, problem):
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(ResultsError) as caught:
        load_run(tmp_path)
    assert problem in str(caught.value)
    assert str(tmp_path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_folder_and_missing_run_json(tmp_path):
    with pytest.raises(ResultsError, match="no such directory"):
        load_run(tmp_path / "nope")
    with pytest.raises(ResultsError, match=r"has no run\.json"):
        load_run(tmp_path)


def test_list_shows_unreadable_runs_with_their_problem(tmp_path):
    good, bad = tmp_path / "20260101T000000Z-a", tmp_path / "20260102T000000Z-b"
    good.mkdir()
    bad.mkdir()
    write_run(good, GOOD)
    (bad / "run.json").write_text("{")
    rows = list_runs(tmp_path)
    assert [r["status"] for r in rows] == ["unreadable", "complete"]
    assert "corrupt" in rows[0]["problem"]
