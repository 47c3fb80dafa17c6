"""The plan of a run: the kinds of cell, and the order a scenario's cells run in.

`plan()` turns a scenario (bench.run.scenario) into cells, interleaving the servers inside every
load point and repeat (A B C A B C ...) so that drift hits every server alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.load.arrivals import DEFAULT_ARRIVALS
from bench.run.scenario import PairedSpec, Scenario, ServerSpec


@dataclass(frozen=True)
class PairedCell:
    """One paired run: every arm up at once, one Locust run, a random arm per request.

    `rate` is the total rate shared by the arms; None is the unloaded mode (one user, closed
    loop: the cleanest comparison there is).
    """

    index: int
    group: PairedSpec
    arms: tuple[ServerSpec, ...]
    users: int
    rate: float | None
    repeat: int
    arrivals: str = DEFAULT_ARRIVALS
    model: str = "paired"

    @property
    def id(self) -> str:
        point = "unloaded" if self.rate is None else f"r{self.rate:g}"
        return f"{self.index:03d}-paired-{self.group.name}-{point}-{self.repeat}"

    def describe(self) -> str:
        arms = ", ".join(spec.label for spec in self.arms)
        load = (
            "unloaded (1 user, closed loop)"
            if self.rate is None
            else f"{self.rate:g}/s in total, {self.arrivals} arrivals"
        )
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


def plan(scenario: Scenario) -> list[Cell | PairedCell]:
    """Per repeat: the paired cells (unloaded, then each rate), then the single-server cells."""

    def own(mine: tuple | None, default: tuple) -> tuple:
        return default if mine is None else mine

    servers = scenario.servers
    closed = sorted({u for s in servers for u in own(s.closed_users, scenario.closed_users)})
    rates = sorted({r for s in servers for r in own(s.fixed_rates, scenario.fixed_rates)})
    points = [("closed", users, None, users) for users in closed]
    points += [("fixed_rate", scenario.fixed_rate_users, rate, rate) for rate in rates]
    cells: list[Cell | PairedCell] = []
    for repeat in range(1, scenario.repeats + 1):
        for group in scenario.paired:
            arms = scenario.paired_arms(group)
            loads = ([(1, None)] if group.unloaded else []) + [
                (group.users, rate) for rate in group.rates
            ]
            arrivals = group.arrivals or scenario.arrivals
            for users, rate in loads:
                cells.append(PairedCell(len(cells) + 1, group, arms, users, rate, repeat, arrivals))
        for model, users, rate, value in points:
            for spec in servers:
                default = scenario.closed_users if model == "closed" else scenario.fixed_rates
                if spec.runs(model, value, default):
                    cells.append(
                        Cell(len(cells) + 1, spec, model, users, rate, repeat, scenario.arrivals)
                    )
    return cells
