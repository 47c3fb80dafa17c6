"""Loads as fractions of capacity, resolved: each server's capacity from its closed-loop cell,
a paired group's capacity (the A/A copy counting as its original), the curve's rates, what the
run records, and who drives each of the curve's rates. No process is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.results.cell_records import SingleCell
from bench.run import capacities
from bench.run.curve_driver import DriverChoice
from bench.run.scenario_toml import parse
from tests.support import synthetic

SCENARIO = {
    "servers": [{"server": "control"}, {"server": "session"}, {"server": "jwt_auth"}],
    "load": {"closed_users": [16]},
    "warmup_s": 1,
    "duration_s": 2,
    "paired": {
        "arms": ["session", "jwt_auth", "control"],
        "a_a": "jwt_auth",
        "load_fractions": [0.05, 0.15],
    },
    "curve": {
        "servers": ["session", "jwt_auth"],
        "fractions": [0.1, 0.5],
        "concurrent": [0.1],
    },
}


def closed(label: str, server_us: float, postgres_us: float = 0.0, repeat: int = 1, users=16):
    data = synthetic.closed_cell(label, label, repeat, server_us, postgres_us, users=users)
    return SingleCell.model_validate(data)


CELLS = [
    closed("control", 50.0),
    closed("session", 80.0, 20.0),  # 100 µs on the servers' core: 10,000 req/s on one core
    closed("jwt_auth", 75.0),
    closed("session", 400.0, 100.0, repeat=2),  # a later repeat is not what loads resolve to
]


def test_capacity_is_the_cores_over_the_service_demand_of_every_group_but_the_load_generator():
    found = capacities.capacities(CELLS, cores=1)
    session = found["session"]
    assert session.service_us == pytest.approx(100.0)
    assert session.capacity_rps == pytest.approx(10_000.0)
    assert (session.closed_rps, session.cores_busy, session.lower_bound) == (9000.0, 0.9, False)
    assert session.cell == "session-closed-1"
    two_cores = capacities.capacities(CELLS, cores=2)["jwt_auth"]
    assert two_cores.capacity_rps == pytest.approx(2e6 / 75, abs=0.1)


def test_an_unmeasured_server_gives_its_achieved_rate_as_a_lower_bound():
    cell = closed("session", 80.0, 20.0)
    unmeasured = cell.model_copy(update={"cpu_processes": {**cell.cpu_processes, "server": 0}})
    found = capacities.capacity(unmeasured, cores=1)
    assert found.lower_bound and found.service_us is None
    assert found.capacity_rps == unmeasured.throughput_rps


def test_the_most_users_of_the_first_repeat_give_the_capacity():
    cells = [closed("session", 200.0, users=4), closed("session", 100.0, users=16)]
    assert capacities.capacities(cells, cores=1)["session"].service_us == pytest.approx(100.0)


def test_fractions_resolve_to_rates_a_group_counting_its_a_a_copy_as_its_original():
    scenario = parse(SCENARIO, Path("x.toml"))
    found = capacities.capacities(CELLS, cores=1)
    resolved = capacities.resolve(scenario, found)
    # Four arms (session, jwt_auth, control, and the copy of jwt_auth) sharing the total rate.
    group = 4 / (100e-6 + 75e-6 + 50e-6 + 75e-6)
    assert resolved.groups["main"] == pytest.approx(group, rel=1e-5)
    assert resolved.group_rates["main", 0.15] == round(0.15 * group)
    assert resolved.curve_rates == {0.1: 1000.0, 0.5: 5000.0}  # of session's 10,000 req/s
    cells = scenario.plan()
    fraction_cell = next(c for c in cells if c.model == "paired" and c.fraction == 0.05)
    block = next(c for c in cells if c.model == "curve" and c.fraction == 0.5)
    concurrent = next(c for c in cells if c.model == "paired" and c.fraction_of == "curve")
    assert resolved.rate(fraction_cell) == round(0.05 * group)
    assert resolved.rate(block) == 5000.0
    assert resolved.rate(concurrent) == 2 * 1000.0  # each arm at the curve's rate
    assert resolved.rate(cells[0]) is None  # a closed-loop cell has no fraction


def test_the_run_records_the_capacities_and_every_resolved_rate():
    scenario = parse(SCENARIO, Path("x.toml"))
    found = capacities.capacities(CELLS, cores=1)
    resolved = capacities.resolve(scenario, found)
    run = synthetic.record(scenario, [])
    capacities.record(run, scenario, resolved)
    assert set(run.capacity) == {"control", "session", "jwt_auth"}
    main, concurrent = run.scenario.paired
    assert main.rates == [resolved.group_rates["main", f] for f in (0.05, 0.15)]
    assert main.load_fractions == [0.05, 0.15]
    assert (concurrent.name, concurrent.rates) == ("curve_concurrent", [2000.0])
    assert run.scenario.curve.rates == [1000.0, 5000.0]
    assert run.scenario.reference_fraction == 0.05
    assert run.scenario.reference_rate == main.rates[0]
    said = "\n".join(capacities.lines(scenario, resolved))
    assert "session: 10,000 req/s (100.0 µs of CPU per request" in said
    assert f"5% of capacity: {main.rates[0]:,.0f} req/s in total" in said
    assert "10%: 1,000, 50%: 5,000" in said


def curve(driver: str = "auto"):
    data = {**SCENARIO, "curve": {**SCENARIO["curve"], "fractions": [0.1, 0.3, 0.6]}}
    data["curve"]["driver"] = driver
    data["curve"]["concurrent"] = []
    return parse(data, Path("x.toml")).curve


def test_auto_drives_the_lowest_rate_with_locust_and_decides_the_rest_from_its_cost():
    choice = DriverChoice(curve(), locust_cores=1)
    driver, why, new = choice.choose(0.1, 1000.0)
    assert (driver, new) == ("locust", True) and "lowest rate" in why
    assert choice.choose(0.1, 1000.0)[2] is False  # decided once, said once
    choice.note(1000.0, 200.0)
    choice.note(1000.0, 240.0)
    driver, why, _ = choice.choose(0.3, 2500.0)  # 2,500 × 220 µs = 0.55 of a core
    assert driver == "locust"
    assert why == (
        "Locust needs 0.55 of a core at 2,500 req/s (220 µs per request measured at "
        "1,000 req/s): within 0.6"
    )
    driver, why, _ = choice.choose(0.6, 6000.0)
    assert driver == "open_loop"
    assert why.startswith("Locust would need 1.32 cores at 6,000 req/s (220 µs per request")
    assert why.endswith("the independent client drives this point")
    assert DriverChoice(curve(), locust_cores=3).choose(0.6, 6000.0)[0] == "open_loop"


@pytest.mark.parametrize(("driver", "expected"), [("locust", "locust"), ("open_loop", "open_loop")])
def test_a_driver_the_scenario_names_drives_every_rate(driver, expected):
    choice = DriverChoice(curve(driver), locust_cores=1)
    assert {choice.choose(f, 1000.0 * f)[0] for f in (0.1, 0.3, 0.6)} == {expected}


def test_an_https_server_makes_every_block_of_the_curve_locust_s_said_once():
    """The independent client speaks plain HTTP only: with an https server in the curve, Locust
    drives every block, the plain servers' too (one instrument, so the gaps compare)."""
    choice = DriverChoice(curve(), locust_cores=1, https="jwt_auth")
    driver, why, new = choice.choose(0.6, 6000.0)
    assert (driver, new) == ("locust", True)
    assert why == (
        "the independent client speaks plain HTTP only and jwt_auth is https: Locust drives "
        "every block of the curve, one instrument for all its servers"
    )
    assert {choice.choose(f, 1000.0 * f)[:2] for f in (0.1, 0.3, 0.6)} == {("locust", why)}
    assert choice.choose(0.1, 1000.0)[2] is False  # said once
    assert DriverChoice(curve(), locust_cores=1).choose(0.6, 6000.0)[0] == "open_loop"
