"""Scenarios are data: the shipped ones parse, plans interleave servers, errors name the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.run.scenario_toml import ScenarioError, load, parse

MINIMAL = {
    "servers": [{"server": "control"}, {"server": "session"}, {"server": "jwt_auth"}],
    "load": {"closed_users": [1, 8], "fixed_rates": [100]},
    "warmup_s": 1,
    "duration_s": 2,
    "repeats": 2,
}


@pytest.mark.parametrize("name", ["quick", "default", "full"])
def test_shipped_scenarios_parse(name):
    scenario = load(name)
    assert scenario.plan()
    assert {s.server for s in scenario.servers} >= {"control", "session", "jwt_auth"}


def test_plan_interleaves_servers_inside_every_point_and_repeat():
    plan = parse(MINIMAL, Path("x.toml")).plan()
    assert len(plan) == 3 * 3 * 2
    assert [c.server.label for c in plan[:6]] == ["control", "session", "jwt_auth"] * 2
    assert [c.repeat for c in plan[:9]] == [1] * 9 and plan[9].repeat == 2
    assert len({c.id for c in plan}) == len(plan)
    assert plan[6].model == "fixed_rate" and plan[6].rate == 100


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration": 3}, "unknown field 'duration'"),
        ({"duration_s": "ten"}, "field 'duration_s' must be a number"),
        ({"duration_s": 1.5}, "field 'duration_s' must be a whole number"),
        ({"duration_s": 0}, "field 'duration_s' must be at least 1"),
        ({"repeats": True}, "field 'repeats' must be a number"),
        ({"servers": []}, "field 'servers' must be a non-empty list"),
        ({"servers": [{"server": "redis"}]}, "field 'server' must be one of"),
        (
            {"servers": [{"server": "session"}, {"server": "session"}]},
            "label 'session' is used twice",
        ),
        (
            {"servers": [{"server": "session", "settings": {"A": 1}}]},
            "'settings' must be a table of strings",
        ),
        ({"servers": [{"server": "session", "port": 1}]}, "servers entry 1: unknown field 'port'"),
        ({"load": {"closed_users": []}}, "give closed_users, fixed_rates or both"),
        ({"load": {"closed_users": [0]}}, "field 'closed_users' must be at least 1"),
        ({"load": {"fixed_rates": 100}}, "field 'fixed_rates' must be a list"),
        ({"micro": "lots"}, "field 'micro' must be one of 'off', 'quick' or 'full', got 'lots'"),
        ({"duration_s": 2.0}, "field 'duration_s' must be a whole number, got 2.0"),
        ({"warmup_s": True}, "field 'warmup_s' must be a number, got True"),
        ({"servers": [{}]}, "servers entry 1: field 'server' is missing"),
        ({"servers": [5]}, "servers entry 1: must be a table"),
        ({"load": {"closed_users": [1], "warmup_s": 3}}, "load: unknown field 'warmup_s'"),
        ({"closed_users": [1]}, "unknown field 'closed_users'"),
        ({"reference_rate": 7}, "field 'reference_rate' must be one of the rates"),
    ],
)
def test_errors_name_the_field(change, message):
    with pytest.raises(ScenarioError) as caught:
        parse({**MINIMAL, **change}, Path("bad.toml"))
    assert str(caught.value).startswith("scenario bad.toml: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_required_field():
    data = {k: v for k, v in MINIMAL.items() if k != "warmup_s"}
    with pytest.raises(ScenarioError, match="field 'warmup_s' is missing"):
        parse(data, Path("x.toml"))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'; known: default, full, quick"):
        load("nope")


def test_cli_reports_a_bad_scenario_file_in_one_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(
        'warmup_s = 1\nduration_s = "long"\n[load]\nclosed_users = [1]\n[[servers]]\nserver = "control"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--scenario", str(path), "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"authbench: error: scenario {path}: field 'duration_s' must be a number, got 'long'"
    )
    assert not list(tmp_path.glob("*/run.json"))  # nothing started, nothing half-written


def test_cli_reports_invalid_toml(tmp_path):
    path = tmp_path / "garbled.toml"
    path.write_text("warmup_s = = 1\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load(str(path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"servers": [{"server": "control", "db_delay_ms": 1}]}, "control server has no database"),
        ({"revocation": {"servers": ["nobody"]}}, "revocation: field 'servers' must list labels"),
        (
            {"revocation": {"servers": ["session"], "workers": 2}},
            "revocation: unknown field 'workers'",
        ),
        (
            {"availability": {"servers": ["session"], "database_down_at_s": 5, "sigterm_at_s": 6}},
            "the database must be back before sigterm_at_s",
        ),
    ],
)
def test_experiment_errors_name_the_field(change, message):
    with pytest.raises(ScenarioError, match=message):
        parse({**MINIMAL, **change}, Path("x.toml"))


def test_per_server_load_points_limit_that_servers_cells():
    data = {
        **MINIMAL,
        "repeats": 1,
        "servers": [
            {"server": "session"},
            {
                "label": "far",
                "server": "session",
                "db_delay_ms": 2,
                "closed_users": [8],
                "fixed_rates": [],
            },
        ],
    }
    plan = parse(data, Path("x.toml")).plan()
    far = [c for c in plan if c.server.label == "far"]
    assert [(c.model, c.users) for c in far] == [("closed", 8)]
    assert far[0].server.db_delay_ms == 2.0
    assert (
        len([c for c in plan if c.server.label == "session"]) == 3
    )  # [load]: 1, 8 users, rate 100


PAIRED = {
    **MINIMAL,
    "paired": {"arms": ["session", "jwt_auth", "control"], "a_a": "jwt_auth", "rates": [500]},
}


def test_paired_cells_come_first_in_every_repeat_with_the_a_a_copy_last():
    plan = parse(PAIRED, Path("x.toml")).plan()
    first = plan[0]
    assert first.rate is None and first.users == 1  # the unloaded mode
    assert [s.label for s in first.arms] == ["session", "jwt_auth", "control", "jwt_auth_aa"]
    assert first.arms[3].server == "jwt_auth"
    assert plan[1].rate == 500 and plan[1].users == 32
    assert [c.repeat for c in plan if hasattr(c, "arms")] == [1, 1, 2, 2]
    assert len({c.id for c in plan}) == len(plan)


def test_paired_defaults_to_every_pair_and_the_jwt_baseline():
    group = parse(PAIRED, Path("x.toml")).paired[0]
    assert group.pairs == (("session", "jwt_auth"), ("session", "control"), ("jwt_auth", "control"))
    assert group.all_pairs[-1] == ("jwt_auth_aa", "jwt_auth")
    assert group.baseline == "jwt_auth" and group.margin_fraction == 0.10


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arms": ["session"]}, "'arms' must list two or more labels"),
        ({"arms": ["session", "redis"]}, "'arms' must list two or more labels"),
        ({"arms": ["session", "session"]}, "names a server twice"),
        ({"a_a": "control_x"}, "'a_a' must name one of the arms"),
        ({"pairs": [["session", "session"]]}, "'pairs' must be a list of [a, b] pairs"),
        ({"baseline": "nobody"}, "'baseline' must name one of the arms"),
        ({"rates": [], "unloaded": False}, "give rates, unloaded = true, or both"),
        ({"margin": 5}, "unknown field 'margin'"),
    ],
)
def test_paired_mistakes_name_the_field(change, message):
    data = {**PAIRED, "paired": {**PAIRED["paired"], **change}}
    with pytest.raises(ScenarioError) as caught:
        parse(data, Path("x.toml"))
    assert message in str(caught.value)


def test_every_mistake_is_one_line_and_the_first_comes_first():
    data = {
        **MINIMAL,
        "servers": [{"server": "session", "workers": 0, "wrokers": 2}, {"server": "node"}],
        "duration_s": "ten",
    }
    with pytest.raises(ScenarioError) as caught:
        parse(data, Path("quick.toml"))
    assert str(caught.value).splitlines() == [
        "scenario quick.toml: servers entry 1: field 'workers' must be at least 1, got 0",
        "scenario quick.toml: servers entry 1: unknown field 'wrokers'",
        "scenario quick.toml: servers entry 2: field 'server' must be one of "
        "'session', 'jwt_auth' or 'control', got 'node'",
        "scenario quick.toml: field 'duration_s' must be a number, got 'ten'",
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"runtime": "java"},
            "'runtime' must be one of python, fastapi, node, or give a 'command'",
        ),
        ({"runtime": "node", "command": ["x", "{port}"]}, "give 'runtime' or 'command', not both"),
        ({"command": ["./server"]}, "field 'command' must have a {port} placeholder"),
        ({"command": []}, "field 'command' must be a list of strings"),
        (
            {"runtime": "node", "settings": {"AUTHBENCH_SESSION_CACHE_TTL": "1"}},
            "servers entry 1: the node runtime does not read AUTHBENCH_SESSION_CACHE_TTL",
        ),
        (
            {"settings": {"AUTHBENCH_SESSION_STORE": "mongo"}},
            "settings: AUTHBENCH_SESSION_STORE must be one of postgres, redis, got 'mongo'",
        ),
        ({"label": "a b"}, "field 'label' must be letters, digits, - or _"),
    ],
)
def test_server_entry_mistakes_name_the_field(entry, message):
    with pytest.raises(ScenarioError) as caught:
        parse({**MINIMAL, "servers": [{"server": "session", **entry}]}, Path("x.toml"))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_command_of_its_own_and_a_node_server_parse():
    servers = [
        {"server": "session", "label": "mine", "command": ["./s", "--port", "{port}"]},
        {"server": "jwt_auth", "runtime": "node", "settings": {"AUTHBENCH_JWT_ALG": "HS256"}},
    ]
    mine, node = parse({**MINIMAL, "servers": servers}, Path("x.toml")).servers
    assert (mine.runtime, mine.command) == ("command", ("./s", "--port", "{port}"))
    assert (node.label, node.runtime, node.command) == ("jwt_auth", "node", None)
