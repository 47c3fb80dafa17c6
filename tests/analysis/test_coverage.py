"""`bench coverage`: the measures follow the runs. Runs whose A/A copy truly differs lose A/A
coverage; runs whose headline estimates disagree lose their overlap; the command reads only the
runs of the scenario it is asked about and says so in one line when there are too few."""

from __future__ import annotations

import subprocess
import sys

from bench.analysis.coverage import coverage
from tests.support import synthetic

SHIFT = (0, 30, -30, 15, -15, 0)  # every arm alike, per repeat


def runs(tmp_path, sessions: list[float], copy_offset: float = 0.0, seed0: int = 1):
    """One synthetic default-like run per session median; the A/A copy `copy_offset` µs slower."""
    found = []
    for i, session in enumerate(sessions):
        sc = synthetic.scenario(groups=(synthetic.claim_group(unloaded=True),), repeats=6)
        table = {
            "session": session,
            "jwt_auth": 800,
            "control": 400,
            "jwt_auth_aa": 800 + copy_offset,
        }

        def medians(arm, repeat, rate, table=table):
            return table[arm] * (0.3 if rate is None else 1.0) + SHIFT[repeat - 1]

        path = tmp_path / f"2026010{i}T000000Z-default"
        cells = synthetic.paired_cells(path, sc, medians, seed=seed0 + i)
        found.append(synthetic.write(path, sc, cells))
    return found


def test_a_copy_that_differs_loses_a_a_coverage(tmp_path):
    honest = coverage(runs(tmp_path / "same", [1_000, 1_000, 1_000]))[0]
    biased = coverage(runs(tmp_path / "differs", [1_000, 1_000, 1_000], copy_offset=60))[0]
    assert honest["a_a_rows"] == biased["a_a_rows"] == 6  # unloaded and one rate, three runs
    assert honest["a_a_contain_zero"] >= 0.8
    assert biased["a_a_contain_zero"] == 0.0


def test_runs_that_disagree_lose_their_overlap(tmp_path):
    agree = coverage(runs(tmp_path / "agree", [1_000, 1_000, 1_000]))[0]
    disagree = coverage(runs(tmp_path / "disagree", [1_000, 1_600, 1_000]))[0]
    assert agree["latency_pairs"] == disagree["latency_pairs"] == 4
    assert agree["latency_overlap"] == 1.0
    assert disagree["latency_overlap"] == 0.0
    assert disagree["spread_over_width"] > agree["spread_over_width"]


def test_the_command_reads_only_the_scenario_asked_for(tmp_path):
    runs(tmp_path, [1_000, 1_000])
    reads = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "coverage",
            "--from",
            str(tmp_path),
            "--scenario",
            "synthetic",
        ],
        capture_output=True,
        text=True,
    )
    assert reads.returncode == 0, reads.stderr
    assert "t over repeats (in use)" in reads.stdout
    refuses = subprocess.run(
        [sys.executable, "-m", "bench", "coverage", "--from", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert refuses.returncode == 2
    assert refuses.stderr.strip() == (
        "authbench: error: coverage needs at least two complete runs of the default scenario, "
        "found 0"
    )
