"""Load as a share of capacity: each server's capacity, a paired group's, and how a load is said.

A rate means a different load on every machine, so every load is stated three ways: as a
fraction of the capacity measured in the same run, as the absolute rate, and as how busy the
servers' core was measured to be (docs/glossary.md: service demand, capacity, load fraction,
utilisation).

A run of format 4 records each server's capacity (RunRecord.capacity) and, for a paired group
given fractions, the fraction of each rate. An older run records neither; the same figures are
then derived here from its closed-loop cells, by the same definitions: the service demand is
the CPU per request of the server and its stores (median over the repeats of its busiest
closed-loop point), the capacity the servers' cores × 1e6 / that demand.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.analysis.model import Group
from bench.analysis.runs import Run, busiest_closed
from bench.results.cell_records import CurveCell, PairedCell


@dataclass(frozen=True)
class Capacity:
    """A server's capacity: the rate at which its service demand would keep the servers' cores
    busy (`lower_bound`: the closed loop's achieved rate, its CPU not measured)."""

    label: str
    service_us: float | None
    cores: int
    capacity_rps: float
    closed_rps: float
    cores_busy: float | None
    lower_bound: bool
    recorded: bool  # False: derived on the read side from an older run's closed-loop cells


def servers_cores(run: Run) -> int:
    """How many cores the servers and their stores had: the pinned layout's, else the machine's."""
    layout = run.record.settings.cpu_layout
    if layout is not None and layout.servers:
        return len(layout.servers)
    return run.record.environment.cpu_count or 1


def capacities(run: Run) -> dict[str, Capacity]:
    """Per server label, its capacity as the run recorded it, else from its closed-loop cells."""
    found = {
        label: Capacity(
            label,
            c.service_us,
            c.cores,
            c.capacity_rps,
            c.closed_rps,
            c.cores_busy,
            c.lower_bound,
            True,
        )
        for label, c in run.record.capacity.items()
    }
    cores = servers_cores(run)
    for label, point in busiest_closed(run).items():
        service = point.get("cpu_service_us")
        if label in found or not point.get("ok_rps"):
            continue
        found[label] = Capacity(
            label,
            service,
            cores,
            cores * 1e6 / service if service else point["ok_rps"],
            point["ok_rps"],
            point.get("cores_busy"),
            not service,
            False,
        )
    return found


def group_capacity(run: Run, group: Group) -> float | None:
    """A paired group's capacity: its arms share one stream in equal parts, so the total rate
    that keeps the servers' cores busy is n_arms / Σ (1 / each arm's capacity), that is
    n_arms × cores × 1e6 / Σ service demand (an A/A copy costs what its original costs); None
    when an arm's demand was not measured."""
    known = capacities(run)
    inverse = []
    copy = (group.a_a.a,) if group.a_a and group.a_a.a not in group.arms else ()
    for arm in (*group.arms, *copy):
        server = run.model.server(arm)
        capacity = known.get(server.copy_of or arm)
        if capacity is None or capacity.service_us is None or not capacity.capacity_rps:
            return None
        inverse.append(1 / capacity.capacity_rps)
    return len(inverse) / sum(inverse) if inverse else None


def load_fraction(run: Run, group: Group, rate: float | None) -> float | None:
    """A paired group's total rate as a fraction of the group's capacity: as recorded when the
    scenario gave fractions, else derived; None unloaded or without the capacities."""
    if rate is None:
        return None
    if rate in group.rates and len(group.load_fractions) == len(group.rates):
        return group.load_fractions[group.rates.index(rate)]
    capacity = group_capacity(run, group)
    return rate / capacity if capacity else None


def cores_busy(run: Run, group: str, rate: float | None) -> float | None:
    """How busy the servers' cores were measured in a paired group's cells at a rate (median
    over the repeats, 0..1)."""
    found = [
        c.server_cores_busy
        for c in run.cells
        if isinstance(c, PairedCell)
        and (c.group, c.rate) == (group, rate)
        and c.server_cores_busy is not None
    ]
    return statistics.median(found) if found else None


def curve_cells(run: Run) -> list[CurveCell]:
    return [c for c in run.cells if isinstance(c, CurveCell)]


def load_words(
    rate: float | None,
    fraction: float | None,
    busy: float | None,
    whose: str = "",
    total: bool = True,
) -> str:
    """ "15% of capacity (2,260 req/s in total; the servers' core measured 41% busy)": the
    fraction first when known, the rate always, the measured utilisation when recorded."""
    if rate is None:
        return "one request at a time"
    absolute = f"{rate:,.0f} req/s" + (" in total" if total else "")
    measured = f"the servers' core measured {busy:.0%} busy" if busy is not None else ""
    if fraction is None:
        return absolute + (f" ({measured})" if measured else "")
    of = f"of {whose}'s capacity" if whose else "of capacity"
    inside = "; ".join(x for x in (absolute, measured) if x)
    return f"{fraction:.0%} {of} ({inside})"
