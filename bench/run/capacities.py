"""Each server's capacity, measured closed loop in the run, and the loads given as fractions of
it resolved to rates: once, after the first repeat's closed-loop cells.

The service demand of a server is the CPU time per request of everything on the servers' cores
for it (the server, its PostgreSQL backends, its Redis, its delay proxy: every process group
but the load generator) in its closed-loop cell, and its capacity the rate that would keep those
cores busy: cores × 1e6 / service demand. Where that CPU was not measured (an external arm), the
closed loop's achieved rate stands in, marked as a lower bound.

- A paired group's load fraction is of the group's capacity: n arms / the sum of their service
  demands (the A/A copy counts as its original), the predicted busy share of the servers' core
  at that total rate (the arms share it equally).
- The curve's fractions are of one server's capacity (`capacity_of`): the same absolute rates
  for every server of the curve; its concurrent cells run each arm at the curve's rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.results import RunRecord
from bench.results.cell_records import SingleCell
from bench.results.load_records import CapacityRecord
from bench.run.scenario import PairedSpec, Scenario
from bench.run.scenario_plan import PairedCell, PlannedCell, percent


def capacity(cell: SingleCell, cores: int) -> CapacityRecord:
    """A server's capacity from its closed-loop cell, on `cores` cores of the servers."""
    busy_s = sum(s for group, s in cell.cpu_seconds.items() if group != "load_generator")
    measured = bool(cell.requests and cell.cpu_processes.get("server") and busy_s > 0)
    service_us = busy_s / cell.requests * 1e6 if measured else None
    return CapacityRecord(
        label=cell.label,
        cell=cell.id,
        service_us=round(service_us, 2) if service_us else None,
        cores=cores,
        capacity_rps=round(cores * 1e6 / service_us if service_us else cell.throughput_rps, 1),
        closed_rps=cell.throughput_rps,
        cores_busy=cell.server_cores_busy,
        lower_bound=not measured,
    )


def capacities(cells: list, cores: int) -> dict[str, CapacityRecord]:
    """By label, from the first repeat's closed-loop cells (the most users where a server ran
    several)."""
    chosen: dict[str, SingleCell] = {}
    closed = [c for c in cells if isinstance(c, SingleCell) and c.model == "closed"]
    for cell in (c for c in closed if c.repeat == 1):
        if cell.label not in chosen or cell.users > chosen[cell.label].users:
            chosen[cell.label] = cell
    return {label: capacity(cell, cores) for label, cell in chosen.items()}


def group_capacity(group: PairedSpec, found: dict[str, CapacityRecord]) -> float:
    """The total rate at which a paired group would keep the servers' cores busy: n arms over
    the sum of their service demands, each arm's written as cores / its capacity."""
    arms = [*group.arms, *([group.a_a] if group.a_a else [])]
    return len(arms) / sum(1 / found[label].capacity_rps for label in arms)


def _rate(value: float) -> float:
    return float(max(1, round(value)))


@dataclass
class Resolved:
    """The run's capacities and what the fractions came to: the total rate of each paired
    group's fractions, and the curve's rate (per server) at each of its fractions."""

    capacities: dict[str, CapacityRecord]
    groups: dict[str, float] = field(default_factory=dict)  # a group's capacity, by name
    group_rates: dict[tuple[str, float], float] = field(default_factory=dict)
    curve_rates: dict[float, float] = field(default_factory=dict)

    def rate(self, cell: PlannedCell) -> float | None:
        """The rate of a cell whose load is a fraction (None when it has none)."""
        fraction = getattr(cell, "fraction", None)
        if fraction is None:
            return None
        if isinstance(cell, PairedCell) and cell.fraction_of == "group":
            return self.group_rates[cell.group.name, fraction]
        per_arm = self.curve_rates[fraction]
        return per_arm * len(cell.arms) if isinstance(cell, PairedCell) else per_arm


def resolve(scenario: Scenario, found: dict[str, CapacityRecord]) -> Resolved:
    resolved = Resolved(found)
    for group in scenario.paired:
        if group.load_fractions:
            total = group_capacity(group, found)
            resolved.groups[group.name] = total
            for fraction in group.load_fractions:
                resolved.group_rates[group.name, fraction] = _rate(fraction * total)
    if scenario.curve is not None:
        reference = found[scenario.curve.reference].capacity_rps
        for fraction in scenario.curve.fractions:
            resolved.curve_rates[fraction] = _rate(fraction * reference)
    return resolved


def record(run: RunRecord, scenario: Scenario, resolved: Resolved) -> None:
    """Into the run's record: the capacities, each group's rates (its given rates, then one per
    load fraction in order), the curve's rates, and the reference fraction's rate."""
    run.capacity = resolved.capacities
    by_name = {group.name: group for group in run.scenario.paired}
    for group in scenario.paired:
        rates = [resolved.group_rates[group.name, f] for f in group.load_fractions]
        by_name[group.name].rates = [*group.rates, *rates]
    if scenario.curve is not None:
        curve = scenario.curve
        run.scenario.curve.rates = [resolved.curve_rates[f] for f in curve.fractions]
        for group in scenario.concurrent_groups():
            totals = [resolved.curve_rates[f] * len(group.arms) for f in curve.concurrent]
            by_name[group.name].rates = totals
    fraction = scenario.reference_fraction
    if fraction is not None:
        run.scenario.reference_rate = next(
            rate for (_, f), rate in resolved.group_rates.items() if f == fraction
        )


def lines(scenario: Scenario, resolved: Resolved) -> list[str]:
    """What the run says once the capacities are known: each server's, and every load given as
    a fraction as both ("15% of capacity: 2,260 req/s in total")."""
    found = resolved.capacities
    cores = next(iter(found.values())).cores if found else 1
    said = [f"capacity of the servers' {cores} core{'s' if cores > 1 else ''}, closed loop:"]
    for label, cap in found.items():
        how = (
            f"{cap.service_us:,.1f} µs of CPU per request; {cap.closed_rps:,.0f} req/s "
            f"with the cores {cap.cores_busy or 0:.0%} busy"
            if not cap.lower_bound
            else f"its CPU not measured: the closed loop's {cap.closed_rps:,.0f} req/s, a lower bound"
        )
        said.append(f"  {label}: {cap.capacity_rps:,.0f} req/s ({how})")
    for name, total in resolved.groups.items():
        loads = ", ".join(
            f"{percent(f)} of capacity: {rate:,.0f} req/s in total"
            for (group, f), rate in resolved.group_rates.items()
            if group == name
        )
        said.append(f"  paired {name} (capacity {total:,.0f} req/s): {loads}")
    if scenario.curve is not None:
        loads = ", ".join(f"{percent(f)}: {r:,.0f}" for f, r in resolved.curve_rates.items())
        said.append(
            f"  curve, each server alone, in req/s at fractions of "
            f"{scenario.curve.reference}'s capacity: {loads}"
        )
    return said
