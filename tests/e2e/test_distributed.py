"""Locust's distributed mode across hosts, without other machines: distinct loopback addresses
stand for the hosts (the master bound on 127.0.0.4, a `python -m bench worker` process
connecting to it; the servers stay on 127.0.0.1).

The load plan, the handshake's rules and the window arithmetic are checked in-process; the
`load` tests run real runs, short, and check that nothing is left running.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.load.handshake import MasterSide
from bench.load.load_plan import LoadPlan, mismatch, versions
from bench.load.remote_workers import (
    RemoteWorkers,
    RemoteWorkersError,
    check_workers,
    cpu_at,
    parse_address,
    remote_cpu,
)
from bench.system.ports import free_port
from tests.support.processes import bench_argv

MASTER_HOST = "127.0.0.4"
SCENARIO = """
description = "test: one paired cell and each server alone, every Locust cell on a remote worker"
warmup_s = 1
duration_s = 2
micro = "off"
repeats = 1

[paired]
arms = ["session", "jwt_auth"]
pairs = [["session", "jwt_auth"]]
rates = [300]
users = 4
unloaded = false
warmup_s = 1
duration_s = 2

[load]
closed_users = [2]

[[servers]]
server = "session"

[[servers]]
server = "jwt_auth"
"""


# ----------------------------------------------------------------- the plan and the rules


def test_the_load_plan_survives_json_and_rejects_unknown_fields(tmp_path, monkeypatch):
    plan = LoadPlan(
        rate=400.0,
        processes=3,
        arms={"a": ["http://127.0.0.1:1", "/me"]},
        tokens={"a": ["t1", "t2"]},
        cell="001-x",
        run_ends=True,
    )
    assert LoadPlan.from_json(plan.to_json()) == plan
    monkeypatch.setenv("AUTHBENCH_PLAN", str(plan.write(tmp_path / "plan.json")))
    assert LoadPlan.from_environment() == plan
    monkeypatch.delenv("AUTHBENCH_PLAN")
    assert LoadPlan.from_environment() == LoadPlan()  # `make watch`: a closed loop on /me
    with pytest.raises(ValueError, match="no field bogus"):
        LoadPlan.from_dict({**plan.to_dict(), "bogus": 1})


def test_addresses_and_options_are_checked_in_one_line():
    assert parse_address("127.0.0.4") == ("127.0.0.4", 5557)
    assert parse_address("127.0.0.4:6000") == ("127.0.0.4", 6000)
    assert parse_address("[::1]:6000") == ("::1", 6000)
    for bad in ("127.0.0.4:0", "127.0.0.4:x", ":5557", "127.0.0.4:99999"):
        with pytest.raises(RemoteWorkersError, match="is not ADDR or ADDR:PORT"):
            parse_address(bad)
    assert RemoteWorkers.from_options(0, None) is None
    remote = RemoteWorkers.from_options(2, "127.0.0.4:6000", 10)
    assert remote.as_dict() == {"count": 2, "master": "127.0.0.4:6000", "wait_s": 10}
    assert "python -m bench worker --master 127.0.0.4:6000" in remote.waiting_line()
    with pytest.raises(RemoteWorkersError, match="needs --master-bind"):
        RemoteWorkers.from_options(1, None)
    with pytest.raises(RemoteWorkersError, match="needs --remote-workers"):
        RemoteWorkers.from_options(0, "127.0.0.4")


class FakeRunner:
    def __init__(self):
        self.worker_indexes, self.sent, self.handlers = {}, [], {}

    def register_message(self, kind, handler):
        self.handlers[kind] = handler

    def send_message(self, kind, data, client_id=None):
        self.sent.append((client_id, kind, data))


def hello(master: MasterSide, node: str, pid: int, said_versions=None):
    runner = master.environment.runner
    runner.worker_indexes[node] = len(runner.worker_indexes)
    data = {"host": "h", "pid": pid, "versions": said_versions or versions(), "cpu": [1.0, 0.5]}
    master.on_hello(master.environment, SimpleNamespace(node_id=node, data=data))
    return runner.sent[-1][2]


def test_the_master_hands_out_shares_and_refuses_other_versions_and_extra_workers(tmp_path):
    events = SimpleNamespace(worker_report=SimpleNamespace(add_listener=lambda f: None))
    environment = SimpleNamespace(runner=FakeRunner(), events=events)
    master = MasterSide(environment, LoadPlan(processes=2, cell="c1"), tmp_path)
    other = {**versions(), "load_code": "0" * 12}
    refused = hello(master, "w-old", 10, other)
    assert "load_code 000000000000 on the worker" in refused["refused"] and not refused["retry"]
    first, second = hello(master, "w-a", 11), hello(master, "w-b", 12)
    assert (first["share"], second["share"]) == (0, 1)  # the refused one took no share
    assert LoadPlan.from_dict(first["plan"]).cell == "c1"
    extra = hello(master, "w-c", 13)
    assert extra["retry"] and "has its 2 worker processes already" in extra["refused"]
    assert {first["master"], extra["master"]} == {master.id}
    master.on_report("w-a", {"authbench": {"seconds": {"5": {"statuses": {"200": 7}}}}})
    record = json.loads((tmp_path / "locust-workers.json").read_text())
    assert [w["pid"] for w in record["workers"]] == [11, 12]
    assert [w["pid"] for w in record["refused"]] == [10, 13]
    assert master.record()["workers"][0]["requests"] == 7


def test_mismatch_names_what_differs():
    ours = {"authbench": "1", "locust": "2", "load_code": "abc"}
    assert mismatch(dict(ours), ours) is None
    assert "locust 3 on the worker, 2 on the master" in mismatch({**ours, "locust": "3"}, ours)


def test_remote_cpu_is_interpolated_over_the_window_or_the_cell_fails():
    samples = [[99.0, 1.0], [100.0, 1.5], [101.0, 2.5], [102.4, 3.9]]
    assert cpu_at(samples, 100.5) == pytest.approx(2.0)
    worker = {"host": "elsewhere", "pid": 5, "cpu": samples, "share": 0}
    record = {"expected": 1, "workers": [worker], "refused": []}
    assert remote_cpu(record, set(), 100, 102) == {"elsewhere:5": pytest.approx(3.5 - 1.5)}
    assert check_workers(record, 102) is None
    assert "sent no report after the window" in check_workers(record, 103)
    with pytest.raises(RemoteWorkersError, match="no CPU around the window"):
        remote_cpu(record, set(), 98, 102)
    assert "0 of 1 Locust workers took part" in check_workers({**record, "workers": []}, 102)


# ----------------------------------------------------------------- real runs on loopback


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


def running_with(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (a port: ours, nothing else's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in line:
                found.append(line)
    return found


@pytest.mark.load
def test_a_run_with_one_remote_worker_completes_and_records_its_requests(tmp_path):
    port = free_port(MASTER_HOST)
    address = f"{MASTER_HOST}:{port}"
    scenario = tmp_path / "remote.toml"
    scenario.write_text(SCENARIO)
    worker = subprocess.Popen(
        bench_argv("worker", "--master", address, "--wait", "120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    try:
        run = subprocess.run(
            bench_argv(
                "run",
                "--scenario",
                str(scenario),
                "--results",
                str(tmp_path),
                "--no-plots",
                "--remote-workers",
                "1",
                "--master-bind",
                address,
            ),
            capture_output=True,
            text=True,
            timeout=300,
            env=clean_env(),
        )
        said = worker.communicate(timeout=60)[0]  # the worker leaves when the run ends
    finally:
        worker.kill()
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"python -m bench worker --master {address}" in run.stdout
    assert worker.returncode == 0, said
    assert "run over: 3 cells" in said.splitlines()[-1]
    (run_file,) = tmp_path.glob("*/run.json")
    record = json.loads(run_file.read_text())
    assert record["status"] == "complete"
    assert record["settings"]["remote_workers"]["master"] == address
    for cell in record["cells"]:
        (taking_part,) = cell["load_generators"]["workers"]
        assert taking_part["remote"] and taking_part["host"] and taking_part["reports"] >= 2
        assert taking_part["requests"] == cell["recorded_requests_total"] > cell["requests"] > 0
        figures = next(iter(cell["arms"].values())) if "arms" in cell else cell
        assert figures["cpu_seconds"]["load_generator"] >= taking_part["cpu_seconds"] > 0
    assert not running_with(str(port))


@pytest.mark.load
def test_without_its_worker_a_run_gives_up_in_one_line_within_its_wait(tmp_path):
    port = free_port(MASTER_HOST)
    scenario = tmp_path / "remote.toml"
    scenario.write_text(SCENARIO)
    started = time.monotonic()
    run = subprocess.run(
        bench_argv(
            "run",
            "--scenario",
            str(scenario),
            "--results",
            str(tmp_path),
            "--remote-workers",
            "1",
            "--master-bind",
            f"{MASTER_HOST}:{port}",
            "--remote-wait",
            "3",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert time.monotonic() - started < 60
    assert run.returncode == 2
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith("authbench: error: 0 of 1 remote workers connected")
    assert "after 3 s: giving up" in error and "Traceback" not in run.stderr
    (run_file,) = tmp_path.glob("*/run.json")
    record = json.loads(run_file.read_text())
    assert record["status"] == "failed" and "giving up" in record["error"]
    assert not running_with(str(port))


@pytest.mark.load
def test_a_worker_without_a_master_leaves_in_one_line():
    port = free_port(MASTER_HOST)
    worker = subprocess.run(
        bench_argv("worker", "--master", f"{MASTER_HOST}:{port}", "--wait", "2"),
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert worker.returncode == 2
    assert (
        worker.stderr.strip() == f"authbench: error: no master at {MASTER_HOST}:{port} within 2 s"
    )
    assert not running_with(str(port))


@pytest.mark.load
def test_local_and_remote_workers_share_a_cell(tmp_path):
    port = free_port(MASTER_HOST)
    address = f"{MASTER_HOST}:{port}"
    scenario = tmp_path / "mixed.toml"
    scenario.write_text(
        'warmup_s = 1\nduration_s = 2\nmicro = "off"\n'
        '[load]\nclosed_users = [4]\n[[servers]]\nserver = "control"\n'
    )
    worker = subprocess.Popen(
        bench_argv("worker", "--master", address, "--wait", "120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    try:
        run = subprocess.run(
            bench_argv(
                "run",
                "--scenario",
                str(scenario),
                "--results",
                str(tmp_path),
                "--no-plots",
                "--locust-workers",
                "1",
                "--remote-workers",
                "1",
                "--master-bind",
                address,
            ),
            capture_output=True,
            text=True,
            timeout=300,
            env=clean_env(),
        )
        said = worker.communicate(timeout=60)[0]
    finally:
        worker.kill()
    assert run.returncode == 0, run.stderr[-3000:]
    assert worker.returncode == 0 and "run over: 1 cells" in said, said
    (run_file,) = tmp_path.glob("*/run.json")
    (cell,) = json.loads(run_file.read_text())["cells"]
    workers = {w["remote"]: w for w in cell["load_generators"]["workers"]}
    assert sorted(w["share"] for w in workers.values()) == [0, 1]
    assert workers[True]["cpu_seconds"] > 0 and workers[False]["cpu_seconds"] is None
    assert min(w["requests"] for w in workers.values()) > 0
    assert sum(w["requests"] for w in workers.values()) == cell["recorded_requests_total"]
    assert cell["cpu_processes"]["load_generator"] >= 3  # master, local worker, remote worker
    assert not running_with(str(port))
