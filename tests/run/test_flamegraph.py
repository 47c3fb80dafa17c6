"""`make flamegraph`: a real server under real Locust load, sampled by py-spy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.run.flamegraph import top_functions

pytestmark = pytest.mark.load


def test_top_functions_counts_where_samples_ended():
    raw = (
        "<module> (a.py:1);serve (b.py:2);decode (jwt.py:10) 30\n"
        "<module> (a.py:1);serve (b.py:2);send (h.py:5) 10\n"
        "<module> (a.py:1);decode (jwt.py:10) 10\n"
    )
    rows = top_functions(raw)
    assert rows[0] == {"function": "decode (jwt.py:10)", "samples": 40, "share": 0.8}
    assert rows[1]["function"] == "send (h.py:5)" and rows[1]["share"] == 0.2


def test_flamegraph_writes_a_flame_graph_and_names_pyjwt(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "flamegraph",
            "--server",
            "jwt_auth",
            "--seconds",
            "3",
            "--results",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    svg = done.stdout.strip().splitlines()[-1].removeprefix("flame graph: ")
    (folder,) = tmp_path.glob("*-flamegraph-jwt_auth")
    assert svg == str(folder / "flamegraph.svg")
    assert (folder / "flamegraph.svg").read_text().lstrip().startswith("<?xml")
    top = json.loads((folder / "top.json").read_text())["top"]
    assert sum(row["samples"] for row in top) > 50
    stacks = (folder / "stacks.txt").read_text()
    assert "jwt" in stacks and "decode" in stacks  # the auth step shows up under load
