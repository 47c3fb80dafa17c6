"""The plan of a run: the kinds of cell, and the order a scenario's cells run in.

`plan()` turns a scenario (bench.run.scenario) into cells. In every repeat the closed-loop cells
come first (each server's capacity: loads given as fractions of it are resolved after those of
the first repeat), interleaving the servers inside every load point (A B C A B C ...) so that
drift hits every server alike; then the paired cells, the fixed-rate cells, and the load
curve's blocks with its concurrent cells.

A cell whose load is a fraction of a capacity (`fraction`) has no `rate` until the run has
measured that capacity; the runner fills it in (`dataclasses.replace`) before running it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.load.arrivals import DEFAULT_ARRIVALS
from bench.run.scenario import CurveSpec, PairedSpec, Scenario, ServerSpec


def percent(fraction: float) -> str:
    """A load fraction as people say it: 15%, 87.5%."""
    return f"{fraction:.0%}" if round(fraction * 100, 6).is_integer() else f"{fraction:.1%}"


@dataclass(frozen=True)
class PairedCell:
    """One paired run: every arm up at once, one Locust run, a random arm per request.

    `rate` is the total rate shared by the arms; None is the unloaded mode (one user, closed
    loop: the cleanest comparison there is). A load given as a `fraction`: of the group's
    capacity (`fraction_of` "group"), or each arm at the curve's rate for it ("curve").
    """

    index: int
    group: PairedSpec
    arms: tuple[ServerSpec, ...]
    users: int
    rate: float | None
    repeat: int
    arrivals: str = DEFAULT_ARRIVALS
    model: str = "paired"
    fraction: float | None = None
    fraction_of: str = "group"

    @property
    def id(self) -> str:
        if self.fraction is not None:
            point = f"f{self.fraction:g}"
        else:
            point = "unloaded" if self.rate is None else f"r{self.rate:g}"
        return f"{self.index:03d}-paired-{self.group.name}-{point}-{self.repeat}"

    def describe(self) -> str:
        arms = ", ".join(spec.label for spec in self.arms)
        if self.fraction is None and self.rate is None:
            load = "unloaded (1 user, closed loop)"
        else:
            load = f"{self.rate or 0:,.0f} req/s in total, {self.arrivals} arrivals"
        if self.fraction is not None:
            share = "of capacity per arm" if self.fraction_of == "curve" else "of capacity"
            load = f"{percent(self.fraction)} {share}: {load}"
        return f"paired {self.group.name} [{arms}]: {load}, repeat {self.repeat}"


@dataclass(frozen=True)
class Cell:
    index: int
    server: ServerSpec
    model: str  # "closed" or "fixed_rate"
    users: int
    rate: float | None
    repeat: int
    arrivals: str = DEFAULT_ARRIVALS

    @property
    def id(self) -> str:
        point = f"u{self.users}" if self.model == "closed" else f"r{self.rate:g}"
        return f"{self.index:03d}-{self.server.label}-{self.model}-{point}-{self.repeat}"

    def describe(self) -> str:
        users = f"{self.users} user" + ("" if self.users == 1 else "s")
        load = (
            f"closed loop, {users}"
            if self.model == "closed"
            else f"fixed rate {self.rate:g}/s ({self.arrivals} arrivals), {users}"
        )
        return f"{self.server.label}: {load}, repeat {self.repeat}"


@dataclass(frozen=True)
class CurveBlock:
    """One block of the load curve: `server` alone at `fraction` of the curve's reference
    capacity (`rate` once resolved), in `repeat`, the `block`-th of that repeat's blocks."""

    index: int
    curve: CurveSpec
    server: ServerSpec
    fraction: float
    repeat: int
    block: int
    arrivals: str = DEFAULT_ARRIVALS
    rate: float | None = None
    model: str = "curve"

    @property
    def id(self) -> str:
        return f"{self.index:03d}-curve-{self.server.label}-f{self.fraction:g}-{self.repeat}"

    def describe(self) -> str:
        rate = f": {self.rate:,.0f} req/s" if self.rate is not None else ""
        return (
            f"curve, {self.server.label} alone at {percent(self.fraction)} of "
            f"{self.curve.reference}'s capacity{rate} ({self.arrivals} arrivals), "
            f"repeat {self.repeat}, block {self.block}"
        )


PlannedCell = Cell | PairedCell | CurveBlock


def curve_order(curve: CurveSpec, repeat: int) -> list[str]:
    """The order the curve's servers take turns in within a repeat: shuffled, seeded by the
    repeat, so that whatever a position gains falls on every server alike over the repeats."""
    order = list(curve.servers)
    random.Random(f"curve-order:{repeat}").shuffle(order)
    return order


def plan(scenario: Scenario) -> list[PlannedCell]:
    """Per repeat: the closed-loop cells, the paired cells (unloaded, each rate, each load
    fraction), the fixed-rate cells; then the curve's blocks (each rate ascending, the servers
    in the repeat's order) and its concurrent cells."""

    def own(mine: tuple | None, default: tuple) -> tuple:
        return default if mine is None else mine

    servers = scenario.servers
    closed = sorted({u for s in servers for u in own(s.closed_users, scenario.closed_users)})
    rates = sorted({r for s in servers for r in own(s.fixed_rates, scenario.fixed_rates)})
    cells: list[PlannedCell] = []

    def singles(model: str, users: int, rate: float | None, value: float, repeat: int) -> None:
        default = scenario.closed_users if model == "closed" else scenario.fixed_rates
        for spec in servers:
            if spec.runs(model, value, default):
                cells.append(
                    Cell(len(cells) + 1, spec, model, users, rate, repeat, scenario.arrivals)
                )

    for repeat in range(1, max(scenario.repeats, scenario.curve_repeats) + 1):
        if repeat <= scenario.repeats:
            for users in closed:
                singles("closed", users, None, users, repeat)
            for group in scenario.paired:
                _paired(scenario, group, repeat, cells)
            for rate in rates:
                singles("fixed_rate", scenario.fixed_rate_users, rate, rate, repeat)
        if repeat <= scenario.curve_repeats:
            _curve(scenario, repeat, cells)
    return cells


def _paired(scenario: Scenario, group: PairedSpec, repeat: int, cells: list) -> None:
    arms = scenario.paired_arms(group)
    arrivals = group.arrivals or scenario.arrivals
    loads = ([(1, None, None)] if group.unloaded else []) + [
        (group.users, rate, None) for rate in group.rates
    ]
    loads += [(group.users, None, fraction) for fraction in group.load_fractions]
    for users, rate, fraction in loads:
        cells.append(
            PairedCell(
                len(cells) + 1, group, arms, users, rate, repeat, arrivals, fraction=fraction
            )
        )


def _curve(scenario: Scenario, repeat: int, cells: list) -> None:
    curve = scenario.curve
    assert curve is not None
    arrivals = curve.arrivals or scenario.arrivals
    order = [scenario.server(label) for label in curve_order(curve, repeat)]
    block = 0
    for fraction in sorted(curve.fractions):
        for spec in order:
            block += 1
            cells.append(CurveBlock(len(cells) + 1, curve, spec, fraction, repeat, block, arrivals))
    for fraction in sorted(curve.concurrent):
        for group in scenario.concurrent_groups():
            arms = scenario.paired_arms(group)
            cells.append(
                PairedCell(
                    len(cells) + 1,
                    group,
                    arms,
                    group.users,
                    None,
                    repeat,
                    arrivals,
                    fraction=fraction,
                    fraction_of="curve",
                )
            )
