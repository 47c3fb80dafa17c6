"""The verdict of the paired design, on synthetic runs whose truth is known.

Each run is built the way the harness writes one: run.json with paired cells, and per cell a
latency.json holding one HdrHistogram per arm and second. No test here is timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import analysis
from bench.analysis import verdicts as claim
from bench.load.recorder import Recorder

ARMS = ("session", "jwt_auth", "control")
START = 1_000


def write_paired_run(
    path: Path,
    medians_us: dict[str, float],
    repeats: int = 3,
    seconds: int = 10,
    per_second: int = 100,
    repeat_noise_us: float = 0.0,
    seed: int = 7,
    a_a: bool = True,
) -> analysis.Run:
    """A run folder with one paired group at 1000 req/s: each arm's latencies lognormal around
    its median; `repeat_noise_us` shifts a whole repeat, the same for every arm (shared noise)."""
    rng = np.random.default_rng(seed)
    arms = list(medians_us)
    labels = arms + ([f"{arms[1]}_aa"] if a_a else [])
    cells = []
    for repeat in range(1, repeats + 1):
        shift = rng.normal(0, repeat_noise_us)
        recorders = {label: Recorder() for label in labels}
        for second in range(START, START + seconds):
            for label in labels:
                median = medians_us[label.removesuffix("_aa")] + shift
                for value in rng.lognormal(np.log(median), 0.25, per_second):
                    recorders[label].record(second, value, 200)
        cell_id = f"{repeat:03d}-paired-main-r1000-{repeat}"
        (path / "cells" / cell_id).mkdir(parents=True)
        latency = {"arms": {label: r.encode() for label, r in recorders.items()}}
        (path / "cells" / cell_id / "latency.json").write_text(json.dumps(latency))
        cells.append(
            {
                "id": cell_id,
                "model": "paired",
                "group": "main",
                "rate": 1000.0,
                "users": 32,
                "repeat": repeat,
                "requests": per_second * seconds * len(labels),
                "window": {"start": START, "end": START + seconds, "duration_s": seconds},
                "latency_file": f"cells/{cell_id}/latency.json",
                "arms": {},
            }
        )
    paired = {
        "name": "main",
        "arms": arms,
        "pairs": [[arms[0], arms[1]]],
        "a_a": arms[1] if a_a else None,
        "baseline": arms[1],
        "margin_fraction": 0.10,
        "margin_us": None,
    }
    meta = {
        "status": "complete",
        "scenario": {"paired": [paired], "reference_rate": 1000.0},
        "environment": {},
        "cells": cells,
    }
    (path / "run.json").write_text(json.dumps(meta))
    return analysis.load(path)


def row(run: analysis.Run, a: str = "session") -> claim.PairVerdict:
    (found,) = [r for r in claim.paired_verdicts(run) if r.a == a]
    return found


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (60, 90, "holds"),
        (-20, 30, "no_difference"),
        (-90, -60, "reversed"),
        (20, 90, "inconclusive"),
        (-90, 20, "inconclusive"),
        (-80, 80, "inconclusive"),
    ],
)
def test_one_rule_decides_every_interval(low, high, expected):
    assert claim.decide(low, high, margin=50) == expected


def test_a_known_difference_is_recovered_inside_its_interval(tmp_path):
    run = write_paired_run(tmp_path, {"session": 1_000, "jwt_auth": 800}, repeat_noise_us=40)
    found = row(run)
    assert found.ci_low_us < 200 < found.ci_high_us
    assert abs(found.delta_p50_us - 200) < 30
    assert found.margin_us == pytest.approx(80, rel=0.05)  # 10% of JWT's median
    assert found.verdict == "holds"


def test_identical_arms_give_no_difference_and_the_a_a_check_passes(tmp_path):
    run = write_paired_run(tmp_path, {"session": 800, "jwt_auth": 800}, repeat_noise_us=40)
    assert row(run).verdict == "no_difference"
    (a_a,) = [r for r in claim.paired_verdicts(run) if r.a_a]
    assert a_a.a == "jwt_auth_aa" and a_a.verdict == "no_difference"
    assert claim.a_a_warning(claim.paired_verdicts(run)) is None


def test_the_opposite_world_gives_the_opposite_verdict_and_sentence(tmp_path):
    slower = write_paired_run(tmp_path / "a", {"session": 1_000, "jwt_auth": 800})
    faster = write_paired_run(tmp_path / "b", {"session": 600, "jwt_auth": 800})
    assert row(slower).verdict == "holds" and row(faster).verdict == "reversed"
    said_slower = claim.verdict_sentence(row(slower))
    said_faster = claim.verdict_sentence(row(faster))
    assert "session is slower than jwt_auth" in said_slower
    assert "jwt_auth is slower than session" in said_faster
    assert "session is slower" not in said_faster


def test_too_little_data_is_inconclusive(tmp_path):
    run = write_paired_run(tmp_path, {"session": 1_000, "jwt_auth": 800}, seconds=2, per_second=20)
    found = row(run)
    assert found.verdict == "inconclusive"
    assert "requests per arm" in found.reason
    assert "undecided" in claim.verdict_sentence(found)


def test_one_repeat_is_inconclusive_whatever_its_interval(tmp_path):
    run = write_paired_run(tmp_path, {"session": 1_000, "jwt_auth": 800}, repeats=1)
    found = row(run)
    assert found.ci_low_us > found.margin_us  # the interval alone would say holds
    assert found.verdict == "inconclusive" and "one repeat" in found.reason


def test_noise_between_repeats_widens_the_interval(tmp_path):
    """The interval includes run-to-run variation, not only the noise between seconds."""
    quiet = write_paired_run(tmp_path / "q", {"session": 900, "jwt_auth": 800}, seed=3)
    noisy_noise = {"session": 900, "jwt_auth": 800}
    rng = np.random.default_rng(3)
    # Unshared noise: each arm's repeat moves on its own, as when arms are measured apart.
    noisy = write_paired_run(tmp_path / "n", noisy_noise, seed=3, a_a=False)
    for cell in noisy.meta["cells"]:
        latency_path = tmp_path / "n" / cell["latency_file"]
        latency = json.loads(latency_path.read_text())
        shifted = Recorder()
        for second in range(START, START + 10):
            for value in rng.lognormal(np.log(800 + rng.normal(0, 150)), 0.25, 100):
                shifted.record(second, value, 200)
        latency["arms"]["jwt_auth"] = shifted.encode()
        latency_path.write_text(json.dumps(latency))
    (tmp_path / "n" / "run.json").touch()
    noisy = analysis.load(tmp_path / "n")
    quiet_width = row(quiet).ci_high_us - row(quiet).ci_low_us
    noisy_width = row(noisy).ci_high_us - row(noisy).ci_low_us
    assert noisy_width > 2 * quiet_width


def test_the_a_a_check_warns_when_two_copies_differ(tmp_path):
    run = write_paired_run(tmp_path, {"session": 800, "jwt_auth": 800})
    rows = claim.paired_verdicts(run)
    broken = [
        claim.PairVerdict(**{**r.as_dict(), "verdict": "holds"}) if r.a_a else r for r in rows
    ]
    assert claim.a_a_warning(rows) is None
    assert "A/A check failed" in claim.a_a_warning(broken)


def test_the_cpu_ratio_interval_brackets_the_ratio():
    ratio, low, high = claim.ratio_interval([200, 210, 190], [100, 105, 95])
    assert ratio == pytest.approx(2.0) and low <= 2.0 <= high
    ratio, low, high = claim.ratio_interval([90, 110, 100], [100, 100, 100])
    assert low < 1.0 < high


def test_verdict_command_prints_the_promised_json(tmp_path):
    write_paired_run(tmp_path, {"session": 1_000, "jwt_auth": 800})
    done = subprocess.run(
        [sys.executable, "-m", "bench", "verdict", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(done.stdout)
    keys = {"rate", "a", "b", "delta_p50_us", "ci_low_us", "ci_high_us", "margin_us", "verdict"}
    assert all(keys | {"a_a"} <= set(r) for r in rows)
    by_pair = {(r["a"], r["b"]): r for r in rows}
    assert by_pair[("session", "jwt_auth")]["verdict"] == "holds"
    assert by_pair[("jwt_auth_aa", "jwt_auth")]["a_a"] is True
    assert by_pair[("session", "jwt_auth")]["rate"] == 1000.0


def test_verdict_command_on_a_run_without_paired_cells_says_so(tmp_path):
    (tmp_path / "cells").mkdir()
    meta = {"status": "complete", "scenario": {}, "environment": {}, "cells": []}
    (tmp_path / "run.json").write_text(json.dumps(meta))
    done = subprocess.run(
        [sys.executable, "-m", "bench", "verdict", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("has no paired cells: no verdict to give")
    assert "Traceback" not in done.stderr
