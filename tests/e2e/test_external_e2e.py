"""External arms end to end: a session twin and a JWT twin served as a deployment of one's own
would be (`python -m bench serve`, what `make serve` runs: each with its own PostgreSQL, on
127.0.0.2 and 127.0.0.3), reached by URL only. The paired verdicts, the A/A check and the load
curve run across them, and their CPU is "not measured"; a wrong password or an unreachable URL
is one line before any run folder exists; an https arm is checked with its CA file.

Every process a run starts is a child of the process that runs it; the twins are started
before, so "nothing left running" is checked on the children the run added.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import analysis
from bench.analysis.plots import draw_all
from bench.results import load_run
from bench.results.cell_records import CurveCell, PairedCell, SingleCell
from bench.run import curve_driver
from bench.run.runner import Runner
from bench.run.scenario_toml import parse
from bench.system import external
from bench.system.http_client import Endpoint
from bench.system.ports import free_port
from bench.system.processes import children
from bench.system.server_process import ServerFailed
from servers.store import SEED_PASSWORD
from tests.support import processes
from tests.support.elsewhere import mounted, served
from tests.support.processes import bench_argv
from tests.support.tls_ca import make_ca

pytestmark = pytest.mark.load


def scenario(session_url: str, jwt_url: str, **jwt_entry) -> dict:
    return {
        "description": "test: two twins served elsewhere, as external arms",
        "warmup_s": 1,
        "duration_s": 2,
        "micro": "quick",  # skipped: every arm is external
        "repeats": 2,
        "seeded_users": 100,
        "seeded_sessions": 100,
        "load": {"closed_users": [4]},
        "paired": {
            "arms": ["session", "jwt_auth"],
            "a_a": "jwt_auth",
            "load_fractions": [0.1],
            "users": 8,
            "unloaded": False,
            "warmup_s": 1,
            "duration_s": 2,
        },
        "curve": {
            "servers": ["session", "jwt_auth"],
            "fractions": [0.03, 0.06],
            "warmup_s": 0.5,
            "duration_s": 1,
            "users": 8,
            "connections": 8,
            "repeats": 1,
        },
        "servers": [
            {"server": "session", "url": session_url},
            {"server": "jwt_auth", "url": jwt_url, **jwt_entry},
        ],
    }


TWINS: list[int] = []  # the twins' pids: their trees (PostgreSQL backends come and go) not ours


def ours() -> set[int]:
    theirs = {pid for twin in TWINS for pid in [twin, *children(twin)]}
    return set(children(os.getpid())) - theirs


def left_running(before: set[int]) -> list[int]:
    return processes.left_running(before, ours)


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(the session twin's URL, the JWT twin's URL), served as `make serve` serves them."""
    folder = tmp_path_factory.mktemp("twins")
    session_port, jwt_port = free_port("127.0.0.2"), free_port("127.0.0.3")
    with (
        served("session", "127.0.0.2", session_port, folder / "session.log") as session,
        served("jwt_auth", "127.0.0.3", jwt_port, folder / "jwt.log") as jwt,
    ):
        TWINS[:] = [session, jwt]
        yield f"http://127.0.0.2:{session_port}", f"http://127.0.0.3:{jwt_port}"


@pytest.fixture(scope="module")
def external_run(twins, tmp_path_factory):
    """The run in this process: Locust at the curve's lower fraction and (its core share set
    near zero) the independent client at the higher one, both to the twins' addresses."""
    root = tmp_path_factory.mktemp("external")
    chosen = parse(scenario(*twins), root / "external.toml")
    said: list[str] = []
    before = ours()
    share, curve_driver.LOCUST_CORE_SHARE = curve_driver.LOCUST_CORE_SHARE, 1e-9
    got, real = [], external.tokens

    def tokens(*args, **kwargs):  # the real login, its tokens kept for the test below
        found = real(*args, **kwargs)
        got.extend(found)
        return found

    external.tokens = tokens
    try:
        run_dir = Runner(chosen, root, "external", out=said.append).run()
    finally:
        curve_driver.LOCUST_CORE_SHARE = share
        external.tokens = real
    TOKENS_USED.extend(got)
    return run_dir, load_run(run_dir), "\n".join(said), left_running(before)


TOKENS_USED: list[str] = []  # every token the run got from the twins, for the secrets test


def test_no_file_of_the_run_holds_the_password_or_a_token(external_run):
    """Run folders get committed: the deployments' tokens and password stay out of them."""
    run_dir, *_ = external_run
    # Got once for the run, 4 per arm (session, jwt_auth and its A/A copy), not at every cell.
    assert len(TOKENS_USED) == 4 * 3
    secrets = [SEED_PASSWORD.encode(), *(t.encode() for t in set(TOKENS_USED))]
    files = [p for p in Path(run_dir).rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        leaked = [s[:12] for s in secrets if s in data]
        assert not leaked, (path.relative_to(run_dir), leaked)


def test_every_cell_ran_against_the_urls_and_recorded_no_cpu_of_theirs(twins, external_run):
    _, run, said, _ = external_run
    assert run.status == "complete" and len(run.cells) == run.planned_cells == 10
    assert [s.url for s in run.scenario.servers] == list(twins)
    assert "external arms (started by no one here" in said
    assert f"  session: {twins[0]} (session)" in said
    # Every arm external: no PostgreSQL of the run's own, no micro-benchmarks.
    assert "no server is started here: no PostgreSQL, and no micro-benchmarks" in said
    assert run.environment.postgres_version is None and run.micro is None
    for cell in run.cells:
        for m in cell.measurements():
            f = m.figures
            assert f.ok > 0 and f.error_count == 0, (cell.id, f.statuses)
            assert f.cpu_us_per_request.get("server") is None, cell.id
            assert f.cpu_us_per_request["total"] is None and f.cpu_us_per_request["load_generator"]
            assert set(f.cpu_processes) == {"load_generator"}
            assert f.auth_us is not None  # the twins send Server-Timing
        assert cell.server_cores_busy is None, cell.id
    closed = [c for c in run.cells if isinstance(c, SingleCell)]
    assert len(closed) == 4 and all(c.counts_agree for c in closed)
    for label in ("session", "jwt_auth"):
        capacity = run.capacity[label]
        assert capacity.lower_bound and capacity.service_us is None
    assert "its CPU not measured: the closed loop's" in said
    assert "server CPU not measured" in said


def test_the_paired_verdicts_and_the_a_a_check_come_out_for_the_pair(external_run):
    run_dir, run, _, _ = external_run
    paired = [c for c in run.cells if isinstance(c, PairedCell)]
    assert len(paired) == 2 and all(
        set(c.arms) == {"session", "jwt_auth", "jwt_auth_aa"} for c in paired
    )
    loaded = analysis.load(run_dir)
    rows = analysis.paired_verdicts(loaded, quantile=None)
    pairs = {(r.a, r.b, r.p) for r in rows}
    assert {("session", "jwt_auth", "p50"), ("session", "jwt_auth", "p99")} <= pairs
    assert ("jwt_auth_aa", "jwt_auth", "p50") in pairs
    assert all(r.repeats == 2 for r in rows)
    text = analysis.summary_text(loaded)
    assert "Paired verdicts" in text and "[A/A check]" in text
    assert "Not measured: the CPU per request of session and jwt_auth" in text
    table = str(analysis.summary_table(loaded))
    assert table.count("not measured") == 8  # 4 columns, 2 servers
    assert analysis.cpu_ratio_rows(loaded) == []
    paths = {p.stem for p in draw_all(loaded)}
    assert "cpu_per_request" in paths


def test_the_curve_runs_both_drivers_to_the_twins_addresses(external_run):
    run_dir, run, _, _ = external_run
    blocks = [c for c in run.cells if isinstance(c, CurveCell)]
    assert [c.driver for c in blocks] == ["locust", "locust", "open_loop", "open_loop"]
    assert all(c.server_cores_busy is None and c.ok > 0 for c in blocks)
    assert run.scenario.curve.rates == [
        round(f * run.capacity["session"].capacity_rps) for f in (0.03, 0.06)
    ]
    table = str(analysis.curve_table(analysis.load(run_dir)))
    assert table.count("not measured") == 4  # the core's utilisation, at every point


def test_nothing_is_left_running_after_the_run(external_run):
    *_, left = external_run
    assert not left


def cli_run(root: Path, data: dict) -> subprocess.CompletedProcess:
    """`python -m bench run` on a scenario file written from `data` (TOML by hand)."""
    lines = ['description = "test"', "warmup_s = 1", "duration_s = 1", 'micro = "off"']
    lines += ["[load]", "closed_users = [1]"]
    for entry in data["servers"]:
        lines.append("[[servers]]")
        lines += [f"{key} = {value!r}".replace("'", '"') for key, value in entry.items()]
    path = root / "scenario.toml"
    path.write_text("\n".join(lines) + "\n")
    argv = bench_argv("run", "--scenario", str(path), "--results", str(root / "results"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)


def test_a_wrong_password_is_one_line_suggesting_conform_before_any_run_folder(twins, tmp_path):
    _, jwt_url = twins
    done = cli_run(
        tmp_path,
        {"servers": [{"server": "jwt_auth", "url": jwt_url, "password": "not-the-password"}]},
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"authbench: error: external arm jwt_auth ({jwt_url}) answered wrongly: POST /login as "
        f"user00001 gave 400 invalid_grant; check it with: python -m bench conform {jwt_url} "
        "--kind jwt\n"
    )
    assert not (tmp_path / "results").exists()


def test_an_unreachable_url_is_one_line_before_any_run_folder(tmp_path):
    port = free_port("127.0.0.2")
    done = cli_run(
        tmp_path, {"servers": [{"server": "session", "url": f"http://127.0.0.2:{port}"}]}
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"authbench: error: external arm session cannot be reached: 127.0.0.2:{port}: "
        "connection refused (nothing listens there)\n"
    )
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def tls_twin(pg, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The JWT twin behind TLS on 127.0.0.4 under /auth, with a test CA: (its URL, the CA file)."""
    folder = tmp_path_factory.mktemp("tls")
    ca = make_ca(folder, "127.0.0.4")
    url = f"https://127.0.0.4:{free_port('127.0.0.4')}/auth"
    options = ("--prefix", "/auth", "--certfile", str(ca.cert_file), "--keyfile", str(ca.key_file))
    ready = Endpoint.parse(url, ca_file=str(ca.ca_file))
    with mounted(pg, folder / "twin.log", ready, *options) as twin:
        TWINS.extend([twin, pg.pid])  # its connections: backends of the tests' PostgreSQL
        yield url, ca.ca_file


def tls_scenario(session_url: str, url: str, **jwt_entry) -> dict:
    """One repeat: each arm closed loop, the pair at 100 req/s, the https arm's curve block."""
    data = scenario(session_url, url, **jwt_entry)
    data["repeats"] = 1
    data["paired"] = {**data["paired"], "load_fractions": [], "rates": [100]}
    del data["paired"]["a_a"]
    data["curve"] = {**data["curve"], "servers": ["jwt_auth"], "fractions": [0.05]}
    return data


def test_an_https_arm_under_a_prefix_runs_with_its_ca_file_and_locust_drives_it(
    twins, tls_twin, tmp_path
):
    url, ca_file = tls_twin
    chosen = parse(tls_scenario(twins[0], url, ca_file=str(ca_file)), tmp_path / "tls.toml")
    before = ours()
    run = load_run(Runner(chosen, tmp_path, "tls", out=lambda _: None).run())
    assert run.status == "complete" and len(run.cells) == 4
    (block,) = [c for c in run.cells if isinstance(c, CurveCell)]
    assert block.driver == "locust" and "plain HTTP only" in block.driver_reason
    (cell,) = [c for c in run.cells if isinstance(c, PairedCell)]
    assert all(f.ok > 0 and f.error_count == 0 for f in cell.arms.values())
    assert not left_running(before)


def test_an_https_arm_without_its_ca_file_is_one_line_before_any_run_folder(
    twins, tls_twin, tmp_path
):
    url, _ = tls_twin
    chosen = parse(tls_scenario(twins[0], url), tmp_path / "tls.toml")
    with pytest.raises(ServerFailed) as caught:
        Runner(chosen, tmp_path / "results", "tls", out=lambda _: None)
    assert str(caught.value) == (
        f"external arm jwt_auth: {url}: TLS verification failed: unable to get local issuer "
        "certificate"
    )
    assert not (tmp_path / "results").exists()
