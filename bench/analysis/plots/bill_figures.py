"""Figures of the bill at scale: cores per design, and the capacity model against this machine."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bench.analysis import capacity
from bench.analysis.plots.palette import RESOURCE_COLORS, color, legend_outside
from bench.analysis.runs import Run


def plot_bill(run: Run, rate: float = 1_000_000) -> Figure | None:
    """How many cores does each design need at `rate` requests per second? App cores and store
    cores, stacked, from the measured CPU per request (100% busy)."""
    rows = capacity.capacity_rows(run, (rate,))
    if not rows:
        return None
    wide = any(not r["closed_loop"] for r in rows)  # a longer label to make room for
    fig = Figure(figsize=(12 if wide else 9.5, 0.55 * len(rows) + 1.6), layout="constrained")
    axis = fig.subplots()
    ys = list(range(len(rows)))[::-1]
    lefts = [0.0] * len(rows)
    parts = (
        ("app_cores", "app servers", RESOURCE_COLORS["server"]),
        ("postgres_cores", "PostgreSQL", RESOURCE_COLORS["postgres"]),
        ("redis_cores", "Redis", RESOURCE_COLORS["redis"]),
    )
    for key, name, shade in parts:
        values = [r[key] for r in rows]
        if not any(v >= 0.5 for v in values):
            continue
        bars = axis.barh(ys, values, left=lefts, color=shade, label=name)
        for bar, r in zip(bars, rows, strict=True):
            if not r["closed_loop"]:  # a fixed-rate figure: faded, as the label says
                bar.set_alpha(0.35)
        lefts = [a + b for a, b in zip(lefts, values, strict=True)]
    for y, total in zip(ys, lefts, strict=True):
        axis.annotate(f" {total:,.0f} cores", (total, y), va="center", fontsize=8)
    axis.set_yticks(ys, [r["named"] for r in rows], fontsize=9)
    servers = dict(capacity.scheme_servers(run))
    for tick, r in zip(axis.get_yticklabels(), rows, strict=True):
        tick.set_color(color(run, servers[r["scheme"]]))
    axis.set_xlim(0, max(lefts) * 1.2)
    axis.set_xlabel(f"cores busy at {rate:,.0f} requests/s (CPU per request measured here)")
    axis.set_title(f"The bill at {rate:,.0f} requests per second, by design", fontsize=10)
    axis.grid(True, axis="x", alpha=0.3)
    legend_outside(fig, axis)
    return fig


def plot_model_check(run: Run) -> Figure | None:
    """Does the capacity model hold on this machine? Closed-loop throughput of two-worker
    servers: predicted from the one-worker CPU per request, against measured."""
    rows = capacity.model_check_rows(run)
    if not rows:
        return None
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    axis = fig.subplots()
    xs = np.arange(len(rows))
    width = 0.38
    predicted = [r["predicted_rps"] for r in rows]
    measured = [r["measured_rps"] for r in rows]
    axis.bar(
        xs - width / 2,
        predicted,
        width,
        color="white",
        edgecolor="black",
        hatch="..",
        label="predicted from one worker's CPU per request",
    )
    axis.bar(
        xs + width / 2,
        measured,
        width,
        color=[color(run, r["server"]) for r in rows],
        label="measured (two workers; the server's colour)",
    )
    for x, r in zip(xs, rows, strict=True):
        axis.annotate(
            f"{r['error_fraction']:+.0%}",
            (x + width / 2, r["measured_rps"]),
            ha="center",
            va="bottom",
            fontsize=9,
        )
        axis.annotate(
            f"limit: {r['bottleneck']}",
            (x - width / 2, r["predicted_rps"]),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    axis.set_xticks(xs, [r["server"] for r in rows])
    axis.set_ylim(0, max(predicted + measured) * 1.2)
    axis.set_ylabel("requests/s, closed loop")
    axis.set_title("The capacity model against this machine", fontsize=10)
    axis.grid(True, axis="y", alpha=0.3)
    legend_outside(fig, axis)
    return fig
