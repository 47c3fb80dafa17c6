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


@pytest.mark.parametrize("name", ["quick", "default", "full", "runtimes", "curve"])
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
    with pytest.raises(
        ScenarioError,
        match=r"unknown scenario 'nope'; known: curve, default, full, live-\S+, .*quick, "
        r"runtimes, or a \.toml path$",
    ):
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


def test_closed_cells_then_paired_cells_in_every_repeat_with_the_a_a_copy_last():
    plan = parse(PAIRED, Path("x.toml")).plan()
    assert [c.model for c in plan[:6]] == ["closed"] * 6  # the capacities first
    assert [c.model for c in plan[6:8]] == ["paired"] * 2
    first = plan[6]
    assert first.rate is None and first.users == 1  # the unloaded mode
    assert [s.label for s in first.arms] == ["session", "jwt_auth", "control", "jwt_auth_aa"]
    assert first.arms[3].server == "jwt_auth"
    assert plan[7].rate == 500 and plan[7].users == 32
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
        ({"rates": [], "unloaded": False}, "give rates, load_fractions or unloaded = true"),
        ({"load_fractions": [0]}, "paired main: field 'load_fractions' must be more than 0"),
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


CURVE = {
    **MINIMAL,
    "load": {"closed_users": [16]},
    "curve": {
        "servers": ["session", "jwt_auth", "control"],
        "fractions": [0.5, 0.1, 0.3],
        "pairs": [["session", "jwt_auth"]],
        "concurrent": [0.1],
        "repeats": 2,
    },
}


def test_curve_blocks_follow_the_closed_loop_each_server_alone_rates_ascending():
    scenario = parse(CURVE, Path("x.toml"))
    plan = scenario.plan()
    assert len({c.id for c in plan}) == len(plan)
    for repeat in (1, 2):
        mine = [c for c in plan if c.repeat == repeat]
        assert [c.model for c in mine[:3]] == ["closed"] * 3  # capacities first
        blocks = [c for c in mine if c.model == "curve"]
        assert [c.block for c in blocks] == list(range(1, 10))
        assert [c.fraction for c in blocks] == [0.1] * 3 + [0.3] * 3 + [0.5] * 3
        order = [c.server.label for c in blocks[:3]]
        assert sorted(order) == ["control", "jwt_auth", "session"]
        assert [c.server.label for c in blocks] == order * 3  # one order per repeat
        assert all(c.rate is None for c in blocks)  # resolved by the run
        (concurrent,) = mine[-1:]
        assert concurrent.model == "paired" and concurrent.fraction == 0.1
        assert concurrent.fraction_of == "curve" and concurrent.group.question == "interference"
        assert [s.label for s in concurrent.arms] == ["session", "jwt_auth"]


def test_curve_order_is_shuffled_per_repeat_and_seeded():
    from bench.run.scenario_plan import curve_order

    curve = parse(CURVE, Path("x.toml")).curve
    orders = [tuple(curve_order(curve, repeat)) for repeat in range(1, 13)]
    assert len(set(orders)) > 2  # not one fixed order
    assert orders == [tuple(curve_order(curve, repeat)) for repeat in range(1, 13)]


def test_curve_record_fills_the_defaults_and_the_concurrent_group():
    data = {**CURVE, "curve": {"servers": ["session", "jwt_auth"], "fractions": [0.2]}}
    record = parse(data, Path("x.toml")).record()
    curve = record.curve
    assert (curve.capacity_of, curve.arrivals, curve.repeats) == ("session", "poisson", 2)
    assert curve.pairs == [("session", "jwt_auth")] and curve.rates == []
    assert (curve.driver, curve.connections, curve.concurrent) == ("auto", 64, [])
    record = parse(CURVE, Path("x.toml")).record()
    (group,) = record.paired
    assert (group.name, group.question, group.arms) == (
        "curve_concurrent",
        "interference",
        ["session", "jwt_auth"],
    )
    assert group.roles.baseline == "jwt_auth" and group.rates == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fractions": []}, "curve: field 'fractions' must not be empty"),
        ({"fractions": [0]}, "curve: field 'fractions' must be more than 0, got 0"),
        ({"fractions": [1.6]}, "curve: field 'fractions' must be at most 1.5, got 1.6"),
        ({"fractions": [0.1, 0.1]}, "curve: field 'fractions' names a fraction twice"),
        ({"fractions": "0.1"}, "curve: field 'fractions' must be a list"),
        (
            {"servers": ["session", "jwt_auth", "nobody"]},
            "curve: field 'servers' must list labels",
        ),
        ({"servers": ["session", "session"]}, "curve: field 'servers' names a server twice"),
        ({"pairs": [["session", "nobody"]]}, "curve: field 'pairs' must be a list of [a, b]"),
        ({"concurrent": [0.2]}, "curve: field 'concurrent' must list some of the fractions"),
        ({"driver": "wrk"}, "curve: field 'driver' must be one of 'auto', 'locust' or"),
        ({"connections": 0}, "curve: field 'connections' must be at least 1, got 0"),
        ({"capacity_of": "nobody"}, "curve: field 'capacity_of' must name one of the"),
        ({"arrivals": "bursty"}, "curve: field 'arrivals' must be one of"),
        ({"rate": 5}, "curve: unknown field 'rate'"),
    ],
)
def test_curve_mistakes_are_one_line_naming_the_field(change, message):
    data = {**CURVE, "curve": {**CURVE["curve"], **change}}
    with pytest.raises(ScenarioError) as caught:
        parse(data, Path("x.toml"))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_capacity_needs_a_closed_loop_cell():
    servers = [{"server": "session", "closed_users": []}, {"server": "jwt_auth"}]
    data = {**CURVE, "servers": servers, "curve": {"servers": ["jwt_auth"], "fractions": [0.1]}}
    data["curve"]["capacity_of"] = "session"
    with pytest.raises(ScenarioError, match="curve: 'session' has no closed-loop cell"):
        parse(data, Path("x.toml"))
    data = {**MINIMAL, "servers": servers, "paired": {"arms": ["session", "jwt_auth"]}}
    data["paired"]["load_fractions"] = [0.1]
    with pytest.raises(ScenarioError, match="paired main: 'session' has no closed-loop cell"):
        parse(data, Path("x.toml"))


FRACTIONS = {
    **MINIMAL,
    "paired": {
        "arms": ["session", "jwt_auth", "control"],
        "a_a": "jwt_auth",
        "load_fractions": [0.05, 0.15],
        "rates": [300],
    },
}


def test_load_fractions_give_paired_cells_resolved_by_the_run_and_the_reference():
    scenario = parse(FRACTIONS, Path("x.toml"))
    assert (scenario.reference_rate, scenario.reference_fraction) == (None, 0.05)
    paired = [c for c in scenario.plan() if c.model == "paired" and c.repeat == 1]
    assert [(c.rate, c.fraction) for c in paired] == [
        (None, None),
        (300, None),
        (None, 0.05),
        (None, 0.15),
    ]
    assert paired[2].id.endswith("-paired-main-f0.05-1")
    record = scenario.record()
    assert record.paired[0].load_fractions == [0.05, 0.15]
    assert record.reference_fraction == 0.05


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reference_fraction": 0.3}, "'reference_fraction' must be one of the load fractions"),
        (
            {"reference_fraction": 0.15, "reference_rate": 300},
            "give reference_rate or reference_fraction, not both",
        ),
        ({"reference_fraction": True}, "field 'reference_fraction' must be a number"),
    ],
)
def test_reference_fraction_mistakes(change, message):
    with pytest.raises(ScenarioError, match=message):
        parse({**FRACTIONS, **change}, Path("x.toml"))


def test_the_curve_scenario_parses():
    scenario = load("curve")
    assert scenario.curve is not None and scenario.plan()
