"""Figures of the servers under load: latency against load, the percentile spectrum, CPU per
request by resource and load, the auth step alone, and arrivals compared."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bench.analysis.cpu_ratios import cpu_ratio_rows
from bench.analysis.intervals import pooled_quantile
from bench.analysis.latency_files import paired_data
from bench.analysis.plots.palette import (
    RESOURCE_COLORS,
    RESOURCE_NAMES,
    US,
    color,
    error_bars,
    finite,
    legend_outside,
    main_labels,
    us_axis,
)
from bench.analysis.runs import Run, cell_rows, micro_timings, points
from bench.analysis.spacing import arrivals_title
from bench.analysis.verdicts import PairVerdict, paired_verdicts


def plot_latency_vs_throughput(run: Run) -> Figure | None:
    """How response time (from each request's intended start) changes with load: the claim
    group's arms measured side by side (paired) at each total rate; the median and p99 of each
    repeat as small dots, their median as the line."""
    group = run.model.claim
    if group is None:
        return None
    rows = [
        r
        for r in cell_rows(run)
        if r["paired"]
        and r["group"] == group.name
        and r["model"] == "fixed_rate"
        and not r["a_a_copy"]
    ]
    if not rows:
        return None
    fig = Figure(figsize=(10.5, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    for label in main_labels(run):
        mine = [r for r in rows if r["label"] == label]
        folded = sorted((p for p in points(mine)), key=lambda p: p["rate"])
        for axis, key in ((left, "corrected_p50_us"), (right, "corrected_p99_us")):
            axis.plot(
                [p["rate"] for p in folded],
                [p[key] for p in folded],
                "-",
                color=color(run, label),
                label=label,
            )
            axis.plot(
                [r["rate"] for r in mine],
                [r[key] for r in mine],
                "o",
                ms=3.5,
                color=color(run, label),
                alpha=0.6,
            )
    left.set_title("median (line: median of the repeats; dots: each repeat)", fontsize=9)
    right.set_title("p99", fontsize=9)
    for axis in (left, right):
        axis.set_xlabel("requests per second, in total (all arms)")
        axis.set_ylabel(f"response time ({US}, from the intended start)")
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
    legend_outside(fig, left, title="server")
    arrivals = group.arrivals or "poisson"
    fig.suptitle(
        f"Response time against load, the servers measured side by side ({arrivals} arrivals)",
        fontsize=10,
    )
    return fig


NINES = (50.0, 90.0, 99.0, 99.9, 99.99)
MIN_BEYOND = 10  # plot a percentile only if at least this many requests lie beyond it


def _nines_x(q: float) -> float:
    return 1.0 / (1.0 - q)


def plot_percentile_spectrum(run: Run, rate: float | None = None) -> Figure | None:
    """The whole latency distribution of the claim group's servers, one panel per paired rate
    (HdrHistogram's convention: x is 1/(1-q) on a log axis). Every repeat's requests pooled;
    only the percentiles the sample count supports, then the maximum as a separate mark."""
    group = run.model.claim
    data = paired_data(run)
    rates = sorted(r for g, r in data if group and g == group.name and r is not None)
    rates = [r for r in rates if rate is None or r == rate]
    if not rates:
        return None
    fig = Figure(figsize=(3.7 * len(rates) + 1.8, 4.4), layout="constrained")
    axes = fig.subplots(1, len(rates), sharey=True, squeeze=False)[0]
    for axis, total in zip(axes, rates, strict=True):
        repeats = list(data[(group.name, total)].values())
        counts = []
        for label in main_labels(run):
            mine = [r[label] for r in repeats if label in r]
            n = sum(float(c.sum()) for rep in mine for _, c in rep.values())
            if not n:
                continue
            counts.append(n)
            qs = [q for q in np.linspace(0, 0.99999, 2000) ** 0.25 if n * (1 - q) >= MIN_BEYOND]
            qs = [q for q in qs if q >= 0.5]
            axis.plot(
                [_nines_x(q) for q in qs],
                [pooled_quantile(mine, q) for q in qs],
                color=color(run, label),
                label=label,
            )
            axis.plot(
                [_nines_x(qs[-1]) * 1.6],
                [pooled_quantile(mine, 1.0)],
                "v",
                color=color(run, label),
                ms=6,
            )
        supported = [p for p in NINES if min(counts) * (1 - p / 100) >= MIN_BEYOND]
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks([_nines_x(p / 100) for p in supported], [f"p{p:g}" for p in supported])
        axis.minorticks_off()
        us_axis(axis.yaxis)
        axis.set_xlabel("percentile (log scale of 1 / (1 - q))")
        span = (
            f"{min(counts):,.0f}"
            if min(counts) == max(counts)
            else f"{min(counts):,.0f} to {max(counts):,.0f}"
        )
        axis.set_title(f"{total:g} req/s in total; {span} requests per server", fontsize=9)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"response time ({US}, from the intended start; log scale)")
    legend_outside(fig, axes[0], title="server")
    fig.suptitle(
        f"Percentile spectrum, every repeat pooled (▼ the slowest request; only "
        f"percentiles with at least {MIN_BEYOND} requests beyond them)",
        fontsize=9,
    )
    return fig


class CpuLoad(NamedTuple):
    """A load the CPU per request was measured at: its model, rate, users and busy core."""

    model: str  # "closed" (each server alone) or "paired" (the arms at once)
    rate: float | None
    users: int
    cores_busy: float | None


def _cpu_loads(run: Run, group: str, labels: tuple[str, str]) -> list[CpuLoad]:
    """Every load the pair's CPU figures are of: those of the CPU ratios where both arms were
    measured, else (an external arm among them) every load either arm ran at."""
    rows = cpu_ratio_rows(run)
    if not rows and any(run.model.server(label).external for label in labels):
        rows = [
            CpuLoad("paired" if p["paired"] else "closed", p["rate"], p["users"], None)
            for p in points(cell_rows(run))
            if p["label"] in labels
            and ((p["model"] == "closed" and not p["paired"]) or p["group"] == group)
            and (p["model"] == "fixed_rate" or not p["paired"])
        ]
    loads: list[CpuLoad] = []
    for r in rows:
        if (r.model, r.rate, r.users) not in [(x.model, x.rate, x.users) for x in loads]:
            loads.append(CpuLoad(r.model, r.rate, r.users, r.cores_busy))
    return sorted(loads, key=lambda x: (x.model != "closed", x.rate or 0, x.users))


def plot_cpu_per_request(run: Run) -> Figure | None:
    """Where a request's CPU goes, for the claim's headline pair at every load the run has:
    server process and store stacked, with the load each was measured at under its bar; an
    external arm's bar says "not measured" (its CPU is out of view), never 0."""
    group = run.model.claim
    if group is None:
        return None
    a, b = group.headline.a, group.headline.b
    loads = _cpu_loads(run, group.name, (a, b))
    if not loads:
        return None
    stacks = _cpu_stacks(run, group.name, loads, (a, b))
    fig = Figure(figsize=(1.9 * len(loads) + 3.2, 4.3), layout="constrained")
    axis = fig.subplots()
    width = 0.38
    for i, load in enumerate(loads):
        for offset, label in ((-width / 2, a), (width / 2, b)):
            if run.model.server(label).external:
                axis.annotate(
                    "not measured\n(external arm)",
                    (i + offset, 0),
                    ha="center",
                    va="bottom",
                    rotation=90,
                    fontsize=7,
                    color=color(run, label),
                )
                continue
            parts = stacks.get((load.model, load.rate, load.users, label), {})
            if not any(parts.values()):  # not measured at this load: no bar, no "0"
                continue
            total = _stacked_bar(axis, i + offset, width * 0.95, parts, color(run, label))
            axis.annotate(
                f"{total:,.0f}", (i + offset, total), ha="center", va="bottom", fontsize=7
            )
    if all(run.model.server(label).external for label in (a, b)):
        axis.set_ylim(0, 1)
        axis.set_yticks([])
    axis.set_xticks(range(len(loads)), [_load_name(load) for load in loads], fontsize=8)
    axis.set_ylabel(f"CPU {US} per request")
    axis.set_xlabel(f"load at which it was measured (left bar {a}, right bar {b})")
    _cpu_legend(fig, run, stacks, (a, b))
    axis.grid(True, axis="y", alpha=0.3)
    fig.suptitle("CPU per request by process, at each load (medians over the repeats)", fontsize=10)
    return fig


def _cpu_legend(fig: Figure, run: Run, stacks, labels: tuple[str, str]) -> None:
    handles = [
        Patch(facecolor=RESOURCE_COLORS[k], label=RESOURCE_NAMES[k])
        for k in ("server", "postgres", "redis")
        if any(p.get(k) for p in stacks.values())
    ]
    handles += [
        Patch(
            facecolor="white", edgecolor=color(run, label), linewidth=2, label=f"outline: {label}"
        )
        for label in labels
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)


def _stacked_bar(axis, x: float, width: float, parts: dict[str, float], edge: str) -> float:
    """One bar: the CPU per request of the server process and its stores stacked, outlined in
    the server's colour; returns the bar's height."""
    bottom = 0.0
    for resource in ("server", "postgres", "redis"):
        value = parts.get(resource) or 0.0
        if value:
            axis.bar(
                x,
                value,
                width,
                bottom=bottom,
                color=RESOURCE_COLORS[resource],
                edgecolor=edge,
                linewidth=2,
            )
        bottom += value
    return bottom


def _load_name(load) -> str:
    """The name under a load's bars: how the load was driven, and how busy the servers' core was."""
    busy = f"\ncore {load.cores_busy:.0%} busy" if load.cores_busy else ""
    where = (
        f"closed loop\n{load.users} users, alone"
        if load.model == "closed"
        else f"{load.rate:g} req/s\nin total"
    )
    return f"{where}{busy}"


def _cpu_stacks(run: Run, group: str, loads, labels) -> dict[tuple, dict[str, float]]:
    found: dict[tuple, dict[str, float]] = {}
    for p in points(cell_rows(run)):
        for load in loads:
            same = (
                p["model"] == "closed"
                and not p["paired"]
                and load.model == "closed"
                and p["users"] == load.users
            ) or (
                p["paired"]
                and p["group"] == group
                and load.model == "paired"
                and p["rate"] == load.rate
            )
            if same and p["label"] in labels:
                found[(load.model, load.rate, load.users, p["label"])] = {
                    k: p.get(f"cpu_{k}_us") for k in ("server", "postgres", "redis")
                }
    return found


MICRO_SHOWN = (
    ("jwt_verify_HS256", "verify an HS256 JWT (PyJWT)", "jwt_auth"),
    ("session_token_sha256", "sha256 of the opaque token", "session"),
    ("session_lookup_unix_socket", "PostgreSQL session lookup (asyncpg, unix socket)", "session"),
    ("select_1_unix_socket", "SELECT 1: the bare round trip", "session"),
    ("session_lookup_tcp", "PostgreSQL session lookup (asyncpg, loopback TCP)", "session"),
    (
        "redis_session_lookup_unix_socket",
        "Redis session lookup (redis-py, unix socket)",
        "session_redis",
    ),
    ("redis_session_lookup_tcp", "Redis session lookup (redis-py, loopback TCP)", "session_redis"),
)


def plot_micro(run: Run) -> Figure | None:
    """The comparison the text makes: the JWT check against the session lookup, in-process,
    on a linear axis, each bar in the colour of the server whose step it is."""
    from bench.analysis.plots.palette import SERVER_COLORS

    timings = micro_timings(run)
    shown = [(timings[name], text, role) for name, text, role in MICRO_SHOWN if name in timings]
    if not shown:
        return None
    fig = Figure(figsize=(8.5, 0.55 * len(shown) + 1.3), layout="constrained")
    axis = fig.subplots()
    ys = list(range(len(shown)))[::-1]
    axis.barh(
        ys,
        [t.us_median for t, _, _ in shown],
        xerr=[
            [t.us_median - t.us_p25 for t, _, _ in shown],
            [t.us_p75 - t.us_median for t, _, _ in shown],
        ],
        color=[SERVER_COLORS[role] for _, _, role in shown],
    )
    for y, (t, _, _) in zip(ys, shown, strict=True):
        axis.annotate(f" {t.us_median:,.1f} {US}", (t.us_p75, y), va="center", fontsize=8)
    axis.set_yticks(ys, [text for _, text, _ in shown], fontsize=9)
    axis.set_xlim(0, max(t.us_p75 for t, _, _ in shown) * 1.25)
    axis.set_xlabel(f"{US} per call (median of batches; whiskers: p25 to p75)")
    axis.set_title("The auth step alone, in-process, one call at a time", fontsize=10)
    axis.grid(True, axis="x", alpha=0.3)
    return fig


def plot_arrivals(run: Run) -> Figure | None:
    """The same pair under evenly spaced and under random arrivals: the paired difference with
    its interval at each rate, and how busy the servers' core was."""
    group = run.model.claim
    others = run.model.groups_for("arrivals")
    if group is None or not others:
        return None
    head = (group.headline.a, group.headline.b)
    shown = _arrival_points(run, (group, *others), head)
    if not shown:
        return None
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    processes = sorted({p for p, _, _ in shown})
    rates = [r.rate for _, r, _ in shown]
    dodge = 0.02 * (max(rates) - min(rates) or max(rates))  # side by side, not on top
    for k, process in enumerate(processes):
        mine = sorted((r for p, r, _ in shown if p == process), key=lambda r: r.rate)
        xs = [r.rate + dodge * (k - 0.5) for r in mine]
        left.errorbar(
            xs,
            [r.delta_us for r in mine],
            yerr=error_bars(
                [r.delta_us for r in mine],
                [r.ci_low_us for r in mine],
                [r.ci_high_us for r in mine],
            ),
            fmt="o-" if process == "poisson" else "s--",
            capsize=4,
            color="black",
            mfc="black" if process == "poisson" else "white",
            label=f"{process} arrivals",
        )
        busy = sorted((r.rate, c) for p, r, c in shown if p == process and c is not None)
        right.plot(
            [x for x, _ in busy],
            [c * 100 for _, c in busy],
            "o-" if process == "poisson" else "s--",
            color="black",
            mfc="black" if process == "poisson" else "white",
            label=f"{process} arrivals",
        )
    left.axhline(0, color="black", lw=0.8)
    left.set_xlabel("requests per second, in total")
    left.set_ylabel(f"{head[0]} − {head[1]}, median ({US}; 95% interval)")
    left.set_ylim(bottom=min(0, min(finite(r.ci_low_us, r.delta_us) for _, r, _ in shown)))
    left.set_title("The paired difference", fontsize=10)
    right.set_xlabel("requests per second, in total")
    right.set_ylabel("servers' core busy (%)")
    right.set_ylim(0, 100)
    right.set_title("How busy the servers' core was", fontsize=10)
    for axis in (left, right):
        axis.grid(True, alpha=0.3)
    legend_outside(fig, left)
    fig.suptitle(arrivals_title(run), fontsize=10)
    return fig


def _arrival_points(
    run: Run, groups, head: tuple[str, str]
) -> list[tuple[str, PairVerdict, float | None]]:
    """(arrival process, paired verdict, servers' core busy) of the pair `head` at every rate
    of each group."""
    shown = []
    for g in groups:
        cores = {
            (r["rate"]): r["cores_busy"]
            for r in cell_rows(run)
            if r["paired"] and r["group"] == g.name and r["cores_busy"] is not None
        }
        for r in paired_verdicts(run, group=g.name):
            if (r.a, r.b) == head and r.rate is not None:
                shown.append((g.arrivals or "poisson", r, cores.get(r.rate)))
    return shown
