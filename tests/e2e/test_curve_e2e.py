"""The load curve end to end: real PostgreSQL, real servers on loopback, real Locust and the
independent open-loop client; a tiny curve (two servers, two fractions, one-second windows).

Every process a run starts is a child of the process that runs it, so "nothing left running"
is checked on the children: after a run that succeeded, one that failed in a block, and one
stopped by Ctrl-C in a block.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.load.locust_driver import CellFailed
from bench.results import load_latency, load_run
from bench.results.cell_records import CurveCell, PairedCell
from bench.run import curve_blocks, curve_driver
from bench.run.runner import Runner
from bench.run.scenario_toml import parse
from bench.system.processes import children, tree
from tests.support import processes
from tests.support.processes import alive, bench_argv

pytestmark = pytest.mark.load

TINY = {
    "description": "test: a tiny load curve",
    "warmup_s": 1,
    "duration_s": 1,
    "micro": "off",
    "seeded_users": 100,
    "seeded_sessions": 100,
    "load": {"closed_users": [4]},
    "curve": {
        "servers": ["session", "jwt_auth"],
        "fractions": [0.03, 0.06],
        "warmup_s": 0.5,
        "duration_s": 1,
        "users": 8,
        "connections": 8,
        "concurrent": [0.03],
    },
    "servers": [{"server": "session"}, {"server": "jwt_auth"}],
}


def ours() -> set[int]:
    return set(children(os.getpid()))


def left_running(before: set[int]) -> list[int]:
    return processes.left_running(before, ours)


@pytest.fixture(scope="module")
def tiny_curve(tmp_path_factory):
    """A tiny curve run in this process, Locust at the lower fraction and (its core share set
    near zero) the independent client at the higher one."""
    root = tmp_path_factory.mktemp("curve")
    scenario = parse(TINY, root / "tiny.toml")
    said: list[str] = []
    before = ours()
    share, curve_driver.LOCUST_CORE_SHARE = curve_driver.LOCUST_CORE_SHARE, 1e-9
    try:
        run_dir = Runner(scenario, root, "tiny", out=said.append).run()
    finally:
        curve_driver.LOCUST_CORE_SHARE = share
    return run_dir, load_run(run_dir), "\n".join(said), left_running(before)


def test_the_curve_runs_each_server_alone_at_the_resolved_rates(tiny_curve):
    run_dir, run, said, _ = tiny_curve
    assert run.status == "complete" and len(run.cells) == run.planned_cells == 7
    session = run.capacity["session"]
    assert not session.lower_bound and session.service_us > 0
    rates = [round(f * session.capacity_rps) for f in (0.03, 0.06)]
    assert run.scenario.curve.rates == rates
    blocks = [c for c in run.cells if isinstance(c, CurveCell)]
    assert [c.block for c in blocks] == [1, 2, 3, 4]
    assert [(c.load_fraction, c.rate) for c in blocks] == [
        (0.03, rates[0]),
        (0.03, rates[0]),
        (0.06, rates[1]),
        (0.06, rates[1]),
    ]
    assert {c.label for c in blocks[:2]} == {c.label for c in blocks[2:]} == {"session", "jwt_auth"}
    for cell in blocks:
        assert cell.ok > 0 and cell.error_count == 0, cell.statuses
        assert cell.corrected_latency_us["p50"] >= cell.latency_us["p50"]
        assert cell.server_cores_busy > 0 and cell.cpu_us_per_request["load_generator"] > 0
        assert cell.arrivals.process == "poisson" and cell.driver_reason
        arms = load_latency(run_dir, cell)["arms"]
        assert list(arms) == [cell.label]
    assert f"3% of session's capacity: {rates[0]:,} req/s" in said
    assert "capacity of the servers'" in said


def test_locust_drives_the_lowest_rate_and_the_independent_client_the_one_above(tiny_curve):
    run_dir, run, said, _ = tiny_curve
    blocks = [c for c in run.cells if isinstance(c, CurveCell)]
    assert [c.driver for c in blocks] == ["locust", "locust", "open_loop", "open_loop"]
    assert [c.users for c in blocks] == [8, 8, 8, 8]  # Locust's users, the client's connections
    assert "the independent client drives this point" in blocks[2].driver_reason
    assert blocks[2].driver_reason in said  # said once, when decided
    assert (run_dir / "cells" / blocks[2].id / "client.log").exists()
    assert (run_dir / "cells" / blocks[0].id / "locust.log").exists()


def test_the_concurrent_cell_runs_both_arms_at_the_curves_rate_each(tiny_curve):
    _, run, _, _ = tiny_curve
    (cell,) = [c for c in run.cells if isinstance(c, PairedCell)]
    per_arm = run.scenario.curve.rates[0]
    assert (cell.group, cell.rate) == ("curve_concurrent", 2 * per_arm)
    assert set(cell.arms) == {"session", "jwt_auth"}
    group = next(g for g in run.scenario.paired if g.name == "curve_concurrent")
    assert group.question == "interference" and group.rates == [2 * per_arm]


def test_nothing_is_left_running_after_the_curve(tiny_curve):
    *_, left = tiny_curve
    assert not left


def test_a_failing_block_stops_every_server_and_says_the_servers_log(tmp_path, monkeypatch):
    data = {**TINY, "curve": {**TINY["curve"], "driver": "open_loop", "concurrent": []}}
    scenario = parse(data, tmp_path / "failing.toml")

    def fails(*args, **kwargs):
        raise CellFailed("the independent client exited with 3", "client: boom")

    monkeypatch.setattr(curve_blocks, "run_independent", fails)
    before = ours()
    runner = Runner(scenario, tmp_path, "failing", out=lambda _: None)
    with pytest.raises(CellFailed) as caught:
        runner.run()
    assert str(caught.value.args[0]).startswith("curve block ")
    assert "client: boom" in caught.value.log
    assert "the jwt_auth server's log ends" in caught.value.log or "the session server's" in (
        caught.value.log
    )
    assert runner.record.status == "failed" and runner.record.error.startswith("curve block")
    assert not left_running(before)


def test_ctrl_c_in_a_curve_block_leaves_nothing_running(tmp_path):
    scenario = tmp_path / "ctrl_c.toml"
    scenario.write_text(
        'warmup_s = 1\nduration_s = 1\nmicro = "off"\nseeded_users = 100\nseeded_sessions = 100\n'
        "[load]\nclosed_users = [4]\n"
        '[curve]\nservers = ["session", "jwt_auth"]\nfractions = [0.03]\nduration_s = 5\n'
        '[[servers]]\nserver = "session"\n[[servers]]\nserver = "jwt_auth"\n'
    )
    argv = bench_argv("run", "--scenario", str(scenario), "--results", str(tmp_path))
    with subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as run:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("*/cells/*-curve-*/locust.log")):
            assert time.monotonic() < deadline and run.poll() is None, "no curve block started"
            time.sleep(0.2)
        time.sleep(1.0)  # inside the block: both servers, Locust and PostgreSQL running
        started = tree(run.pid)
        assert len(started) >= 5
        run.send_signal(signal.SIGINT)
        stderr = run.communicate(timeout=60)[1]
    assert run.returncode == 130, stderr[-2000:]
    (run_file,) = tmp_path.glob("*/run.json")
    saved = json.loads(Path(run_file).read_text())
    assert saved["status"] == "interrupted"
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started):
        assert time.monotonic() < deadline, [p for p in started if alive(p)]
        time.sleep(0.1)
