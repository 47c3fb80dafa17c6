"""The bench end to end: real PostgreSQL, real servers, real Locust, through the CLI.

Short by default (a couple of seconds per cell); AUTHBENCH_LONG_LOAD_TESTS=1 measures longer.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.system.processes import tree
from tests.support.processes import alive, bench_argv, command_name

pytestmark = pytest.mark.load

LONG = os.environ.get("AUTHBENCH_LONG_LOAD_TESTS") == "1"
DURATION_S = 6 if LONG else 2

TINY = f"""
description = "test: the three servers paired at one rate (plus an A/A copy), each alone closed"
warmup_s = 1
duration_s = {DURATION_S}
micro = "quick"
repeats = 1
reference_rate = 400

[paired]
arms = ["session", "jwt_auth", "control"]
a_a = "jwt_auth"
rates = [400]
users = 8
unloaded = false
warmup_s = 1
duration_s = {DURATION_S + 1}

[load]
closed_users = [4]

[[servers]]
server = "control"

[[servers]]
server = "session"

[[servers]]
server = "jwt_auth"
"""


def bench(
    *args: str, timeout: float = 300, database_url: str | None = None
) -> subprocess.CompletedProcess:
    """`python -m bench ARGS`; the embedded PostgreSQL unless `database_url` is given."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        bench_argv(*args), capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    scenario = root / "tiny.toml"
    scenario.write_text(TINY)
    result = bench("run", "--scenario", str(scenario), "--results", str(root), "--label", "tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = root.glob("*-tiny")
    return run_dir, result.stdout, json.loads((run_dir / "run.json").read_text())


def test_run_completes_with_every_cell_plots_and_metadata(tiny_run):
    run_dir, _, run = tiny_run
    assert run["status"] == "complete" and run["finished_at"]
    assert len(run["cells"]) == run["planned_cells"] == 4
    env = run["environment"]
    for key in (
        "cpu_model",
        "cpu_count",
        "os_release",
        "python_version",
        "postgres_version",
        "package_locust",
        "package_pyjwt",
        "package_asyncpg",
        "git_commit",
        "git_dirty",
    ):
        assert key in env, key
    for plot in (
        "latency_vs_throughput",
        "percentile_spectrum",
        "cpu_per_request",
        "micro_benchmarks",
    ):
        assert (run_dir / "plots" / f"{plot}.png").stat().st_size > 10_000
    for cell in run["cells"]:
        cell_dir = run_dir / "cells" / cell["id"]
        logs = [f"server-{arm}.log" for arm in cell["arms"]] if "arms" in cell else ["server.log"]
        for name in ("latency.json", "locust_stats.csv", "locust.log", *logs):
            assert (cell_dir / name).exists(), (cell["id"], name)


def test_every_request_is_counted_once(tiny_run):
    _, _, run = tiny_run
    for cell in run["cells"]:
        assert cell["counts_agree"], cell["id"]
        assert (
            cell["recorded_requests_total"] == cell["locust_requests_total"] > cell["requests"] > 0
        )
        for figures in cell["arms"].values() if "arms" in cell else [cell]:
            assert figures["error_count"] == 0, figures["statuses"]
            assert figures["latency_us"]["count"] == figures["requests"] > 0
        if "arms" in cell:
            assert sum(arm["requests"] for arm in cell["arms"].values()) == cell["requests"]


def test_numbers_are_plausible(tiny_run):
    _, _, run = tiny_run
    closed = {c["label"]: c for c in run["cells"] if c["model"] == "closed"}
    cpu = {label: c["cpu_us_per_request"] for label, c in closed.items()}
    assert cpu["control"]["server"] < cpu["jwt_auth"]["server"]  # verifying costs something
    assert cpu["session"]["postgres"] > 10 * cpu["jwt_auth"]["postgres"]  # only session asks PG
    auth = {label: c["auth_us"]["p50"] for label, c in closed.items()}
    assert auth["control"] < 20 < auth["jwt_auth"]  # Server-Timing: no auth step vs PyJWT


def test_paired_arms_share_the_rate_at_random_and_split_database_cpu(tiny_run):
    _, _, run = tiny_run
    (cell,) = [c for c in run["cells"] if "arms" in c]
    assert set(cell["arms"]) == {"session", "jwt_auth", "control", "jwt_auth_aa"}
    assert cell["seed"] is not None
    total = sum(arm["ok_rps"] for arm in cell["arms"].values())
    assert abs(total - 400) < 40, total  # the total rate was held
    for label, arm in cell["arms"].items():
        assert abs(arm["requests"] / cell["requests"] - 0.25) < 0.06, label  # equal shares
        assert arm["corrected_latency_us"]["p50"] >= arm["latency_us"]["p50"]
    # Each arm's PostgreSQL backends were found by application name: only session's did work.
    postgres = {label: arm["cpu_us_per_request"]["postgres"] for label, arm in cell["arms"].items()}
    assert postgres["session"] > 10 * max(postgres["jwt_auth"], postgres["control"], 0.5)
    assert cell["arms"]["session"]["cpu_processes"]["postgres"] >= 1


def test_load_generator_and_servers_are_pinned_apart(tiny_run):
    _, _, run = tiny_run
    layout = run["settings"]["cpu_layout"]
    if os.cpu_count() < 2:
        assert layout is None
        return
    assert set(layout["load_generator"]).isdisjoint(layout["servers"])
    (cell,) = [c for c in run["cells"] if "arms" in c]
    seen = cell["cpu_affinity"]  # read from the live processes during the cell
    assert seen["load_generator"] == layout["load_generator"]
    assert seen["servers"] == layout["servers"] and seen["postgres"] == layout["servers"]


def test_summary_on_stdout_names_every_server_and_the_difference(tiny_run):
    _, stdout, _ = tiny_run
    assert "[  4/4]" in stdout and "left)" in stdout  # progress
    for label in ("control", "session", "jwt_auth"):
        assert label in stdout
    assert "req/s per core" in stdout
    verdicts = stdout[stdout.index("Paired verdicts") :]
    assert "at 400 req/s" in verdicts and "p50 response time  session - jwt_auth:" in verdicts
    assert "jwt_auth_aa - jwt_auth" in verdicts and "[A/A check]" in verdicts
    assert "one repeat: run-to-run noise not measured" in verdicts  # repeats = 1: no verdict


def test_list_and_compare_read_the_run(tiny_run):
    run_dir, _, _ = tiny_run
    listing = bench("list", "--results", str(run_dir.parent))
    assert run_dir.name in listing.stdout and "complete" in listing.stdout
    verdict = bench("verdict", str(run_dir), "--json")
    rows = json.loads(verdict.stdout)
    assert {(r["a"], r["b"]) for r in rows} >= {
        ("session", "jwt_auth"),
        ("jwt_auth_aa", "jwt_auth"),
    }


def test_summary_and_plot_commands_read_the_run_again(tiny_run, tmp_path):
    run_dir, _, _ = tiny_run
    summary = bench("summary", str(run_dir))
    assert summary.returncode == 0
    assert "Paired verdicts" in summary.stdout and "req/s per core" in summary.stdout
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("plots"))
    drawn = bench("plot", str(copy))
    assert drawn.returncode == 0, drawn.stderr
    paths = [line.removeprefix("plot: ") for line in drawn.stdout.splitlines()]
    assert paths and all(Path(p).stat().st_size > 10_000 for p in paths)
    broken = bench("summary", str(tmp_path / "missing"))
    assert broken.returncode == 2 and "Traceback" not in broken.stderr


def test_locust_workers_merge_exactly_into_the_master(tmp_path):
    scenario = tmp_path / "workers.toml"
    scenario.write_text(
        f'warmup_s = 1\nduration_s = {DURATION_S}\nmicro = "off"\n'
        '[load]\nclosed_users = [4]\n[[servers]]\nserver = "control"\n'
    )
    result = bench(
        "run",
        "--scenario",
        str(scenario),
        "--results",
        str(tmp_path),
        "--locust-workers",
        "2",
        "--no-plots",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_file,) = tmp_path.glob("*/run.json")
    (cell,) = json.loads(run_file.read_text())["cells"]
    assert cell["distributed"] and cell["locust_workers"] == 2
    assert cell["recorded_requests_total"] == cell["locust_requests_total"] > 0
    assert cell["cpu_processes"]["load_generator"] >= 3  # the master and two workers were measured


def test_ctrl_c_keeps_finished_cells_and_leaves_nothing_running(tmp_path):
    scenario = tmp_path / "long.toml"
    scenario.write_text(
        'warmup_s = 1\nduration_s = 2\nrepeats = 10\nmicro = "off"\n'
        '[load]\nclosed_users = [2]\n[[servers]]\nserver = "session"\n[[servers]]\nserver = "jwt_auth"\n'
    )
    argv = bench_argv("run", "--scenario", str(scenario), "--results", str(tmp_path))
    with subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as run:
        run_file = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = list(tmp_path.glob("*/run.json"))
            if found and len(json.loads(found[0].read_text())["cells"]) >= 1:
                run_file = found[0]
                break
            time.sleep(0.2)
        assert run_file is not None, "no cell finished in time"
        time.sleep(1.5)  # now inside the next cell: server, Locust and PostgreSQL all running
        started = tree(run.pid)
        assert len(started) >= 4
        run.send_signal(signal.SIGINT)
        stderr = run.communicate(timeout=60)[1]
    assert run.returncode == 130
    assert "keeps its" in stderr and "interrupted" in stderr
    saved = json.loads(Path(run_file).read_text())
    assert saved["status"] == "interrupted" and saved["finished_at"]
    assert 1 <= len(saved["cells"]) < saved["planned_cells"]
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started):
        assert time.monotonic() < deadline, [p for p in started if alive(p)]
        time.sleep(0.1)


def test_database_url_runs_the_bench_against_an_existing_server(pg, tmp_path):
    """DATABASE_URL switches everything to that server: nothing embedded is started."""
    scenario = tmp_path / "external.toml"
    scenario.write_text(
        'warmup_s = 1\nduration_s = 2\nmicro = "quick"\n'
        '[load]\nfixed_rates = [100]\n[[servers]]\nserver = "session"\n'
    )
    result = bench(
        "run",
        "--scenario",
        str(scenario),
        "--results",
        str(tmp_path),
        "--no-plots",
        database_url=pg.url,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_file,) = tmp_path.glob("*/run.json")
    run = json.loads(run_file.read_text())
    assert run["environment"]["postgres_source"] == "DATABASE_URL"
    assert run["environment"]["postgres_version"].startswith(pg.version)
    (cell,) = run["cells"]
    assert cell["ok"] > 0 and cell["counts_agree"]
    assert cell["cpu_processes"]["postgres"] == 0  # not ours to measure
    assert "session_lookup_tcp" in {t["name"] for t in run["micro"]["timings"]}


def test_unreachable_database_url_is_one_line(tmp_path):
    url = "postgresql://bench:secret@127.0.0.1:1/bench"
    result = bench(
        "run", "--scenario", "quick", "--results", str(tmp_path), timeout=60, database_url=url
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "authbench: error: cannot reach PostgreSQL at postgresql://bench:***@127.0.0.1:1"
    )
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())  # no run folder for a run that could not start


def test_unreachable_redis_url_is_one_line(tmp_path):
    """A scenario with the Redis store and a REDIS_URL nobody answers: one line, no run folder."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["REDIS_URL"] = "redis://:secret@127.0.0.1:1/0"
    result = subprocess.run(
        bench_argv("run", "--scenario", "full", "--results", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "authbench: error: cannot reach the session store at redis://:***@127.0.0.1:1"
    )
    assert "secret" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_micro_command_times_the_auth_step_over_its_own_stores():
    """`bench micro`: PostgreSQL and Valkey up and seeded for it, every lookup timed over both
    transports (it once passed its arguments to run_micro in the wrong order)."""
    result = bench("micro", "--level", "quick")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (
        "jwt_verify_HS256",
        "session_lookup_unix_socket",
        "session_lookup_tcp",
        "redis_session_lookup_unix_socket",
    ):
        assert name in result.stdout


def test_a_profile_and_redis_scenario_runs_end_to_end(tmp_path):
    """Server entries with path = "/profile" and a session server on the Redis store: paired,
    verified, measured, judged; the Redis arm's store CPU is its own; a closed-loop cell too."""
    scenario = tmp_path / "profile.toml"
    scenario.write_text(
        'warmup_s = 1\nduration_s = 1\nmicro = "off"\n'
        '[paired]\narms = ["session_profile", "jwt_profile", "control_profile", "session_redis"]\n'
        f"rates = [300]\nusers = 8\nunloaded = false\nwarmup_s = 1\nduration_s = {DURATION_S}\n"
        "[load]\nclosed_users = [4]\n"
        '[[servers]]\nlabel = "session_profile"\nserver = "session"\npath = "/profile"\n'
        "closed_users = []\n"
        '[[servers]]\nlabel = "jwt_profile"\nserver = "jwt_auth"\npath = "/profile"\n'
        "closed_users = []\n"
        '[[servers]]\nlabel = "control_profile"\nserver = "control"\npath = "/profile"\n'
        "closed_users = []\n"
        '[[servers]]\nlabel = "session_redis"\nserver = "session"\n'
        'settings = { AUTHBENCH_SESSION_STORE = "redis" }\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    argv = bench_argv("run", "--scenario", str(scenario), "--results", str(tmp_path), "--no-plots")
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as run:
        valkeys: set[int] = set()
        while run.poll() is None:  # watch the store come and go
            valkeys |= {pid for pid in tree(run.pid) if command_name(pid) == "valkey-server"}
            time.sleep(0.2)
        stdout, stderr = run.communicate()
    assert run.returncode == 0, stderr[-3000:]
    assert valkeys and not any(alive(pid) for pid in valkeys)  # started, and stopped at the end
    (run_file,) = tmp_path.glob("*/run.json")
    record = json.loads(run_file.read_text())
    assert record["environment"]["redis_version"].startswith("9.")
    closed, paired = record["cells"]  # the closed loop first in every repeat
    assert paired["counts_agree"]
    for label, arm in paired["arms"].items():
        assert arm["error_count"] == 0, label
        assert arm["requests"] > 0 and arm["auth_us"] is not None
    # Every /profile arm reads the database, the control included; the Redis arm's lookups go to
    # Redis, and only it is charged for Redis's CPU.
    for label in ("session_profile", "jwt_profile", "control_profile"):
        arm = paired["arms"][label]
        assert arm["path"] == "/profile" and arm["cpu_us_per_request"]["postgres"] > 5, label
        assert "redis" not in arm["cpu_us_per_request"], label
    redis_arm = paired["arms"]["session_redis"]["cpu_us_per_request"]
    assert redis_arm["redis"] > 1 and redis_arm["postgres"] < 1
    assert closed["label"] == "session_redis" and closed["cpu_us_per_request"]["redis"] > 1
    assert "session_profile - jwt_profile" in stdout
