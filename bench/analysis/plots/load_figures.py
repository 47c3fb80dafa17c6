"""Figures of the servers under load: latency against load, the percentile spectrum, CPU per
request, and the auth step alone."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bench.analysis.bootstrap import pooled_quantile
from bench.analysis.latency_files import paired_data
from bench.analysis.plots.palette import (
    CPU_COLORS,
    US,
    bound_note,
    color,
    legend_outside,
    main_labels,
    us_axis,
)
from bench.analysis.runs import Run, busiest_closed, cell_rows, points, saturated_fraction


def plot_latency_vs_throughput(run: Run) -> Figure:
    """How latency changes with load: control, session and JWT measured side by side (paired)
    at each total rate; median and p99 in two panels."""
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    folded = [
        p
        for p in points(cell_rows(run))
        if p["model"] == "fixed_rate" and p["group"] in ("", "main") and not p["a_a_copy"]
    ]
    bound_rates = set()
    for label in main_labels(run):
        mine = sorted((p for p in folded if p["label"] == label), key=lambda p: p["rate"])
        if not mine:
            continue
        rates = [p["rate"] for p in mine]
        left.plot(rates, [p["p50_us"] for p in mine], "o-", color=color(label), label=label)
        right.plot(rates, [p["p99_us"] for p in mine], "o-", color=color(label), label=label)
        bound_rates |= {p["rate"] for p in mine if p["load_generator_bound"]}
    left.set_title("median")
    right.set_title("p99")
    for axis in (left, right):
        axis.set_xlabel("requests per second, in total")
        axis.set_ylabel(f"latency ({US})")
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
    legend_outside(fig, left, title="server")
    note = ""
    if bound_rates:
        note = (
            f"  (load generator above {saturated_fraction(run):.0%} of a core at "
            + ", ".join(f"{r:g}" for r in sorted(bound_rates))
            + " req/s)"
        )
    fig.suptitle(f"Latency against load, servers measured side by side{note}", fontsize=10)
    return fig


NINES = (50.0, 90.0, 99.0, 99.9, 99.99)


MIN_BEYOND = 10  # plot a percentile only if at least this many requests lie beyond it


def _nines_x(q: float) -> float:
    return 1.0 / (1.0 - q)


def plot_percentile_spectrum(run: Run, rate: float | None = None) -> Figure:
    """The whole latency distribution of control, session and JWT, one panel per paired rate
    (HdrHistogram's convention: x is 1/(1-q) on a log axis). Every repeat's requests pooled;
    only the percentiles the sample count supports, then the maximum as a separate mark."""
    data = paired_data(run)
    rates = sorted(r for g, r in data if g == "main" and r is not None)
    if rate is not None:
        rates = [r for r in rates if r == rate]
    fig = Figure(figsize=(3.6 * max(1, len(rates)) + 1.6, 4.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(rates)), sharey=True, squeeze=False)[0]
    for axis, total in zip(axes, rates, strict=False):
        repeats = list(data[("main", total)].values())
        for label in main_labels(run):
            mine = [r[label] for r in repeats if label in r]
            if not mine:
                continue
            n = sum(float(c.sum()) for rep in mine for _, c in rep.values())
            qs = [q for q in np.linspace(0, 0.99999, 2000) ** 0.25 if n * (1 - q) >= MIN_BEYOND]
            qs = [q for q in qs if q >= 0.5]
            values = [pooled_quantile(mine, q) for q in qs]
            axis.plot([_nines_x(q) for q in qs], values, color=color(label), label=label)
            axis.plot(
                [_nines_x(qs[-1]) * 1.6],
                [pooled_quantile(mine, 1.0)],
                "v",
                color=color(label),
                ms=6,
            )
        supported = [p for p in NINES if n * (1 - p / 100) >= MIN_BEYOND]
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks([_nines_x(p / 100) for p in supported], [f"p{p:g}" for p in supported])
        axis.minorticks_off()
        us_axis(axis.yaxis)
        axis.set_title(
            f"{total:g} req/s in total, {n / len(main_labels(run)):,.0f} per server", fontsize=9
        )
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"latency ({US})")
    legend_outside(fig, axes[0], title="server")
    fig.suptitle(
        f"Percentile spectrum (▼ the slowest request; only percentiles with at least "
        f"{MIN_BEYOND} requests beyond them are drawn)",
        fontsize=9,
    )
    return fig


def plot_cpu_per_request(run: Run) -> Figure:
    """What one request costs in CPU, each server alone in closed loop: server plus PostgreSQL
    stacked; the load generator in its own panel, since it is not part of a request's cost."""
    by_label = busiest_closed(run)
    labels = [label for label in main_labels(run) if label in by_label]
    fig = Figure(figsize=(9, 4), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    bottoms = [0.0] * len(labels)
    for group in ("server", "postgres"):
        values = [by_label[label].get(f"cpu_{group}_us") or 0.0 for label in labels]
        name = "server process" if group == "server" else "PostgreSQL backends"
        left.bar(labels, values, bottom=bottoms, color=CPU_COLORS[group], label=name)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    for x, total in enumerate(bottoms):
        left.annotate(f"{total:,.0f} {US}", (x, total), ha="center", va="bottom", fontsize=9)
    left.set_ylim(0, max(bottoms, default=1) * 1.18)
    left.set_ylabel(f"CPU {US} per request")
    left.set_title("Serving one request: server + database", fontsize=10)
    generator = [by_label[label].get("cpu_load_generator_us") or 0.0 for label in labels]
    bars = right.bar(labels, generator, color=CPU_COLORS["load_generator"])
    for bar, label in zip(bars, labels, strict=True):
        if by_label[label]["load_generator_bound"]:
            bar.set_hatch("//")
    right.set_ylabel(f"CPU {US} per request")
    right.set_title("Sending it: the load generator (Locust)", fontsize=10)
    right.set_ylim(0, max(generator, default=1) * 1.18)
    users = next(iter(by_label.values()), {}).get("users")
    fig.legend(loc="outside lower center", ncols=3, fontsize=8, handles=[
        Patch(color=CPU_COLORS["server"], label="server process"),
        Patch(color=CPU_COLORS["postgres"], label="PostgreSQL backends"),
        Patch(facecolor=CPU_COLORS["load_generator"], hatch="//", label=bound_note(run)),
    ])  # fmt: skip
    fig.suptitle(f"CPU per request, closed loop with {users} users, each server alone", fontsize=10)
    return fig


MICRO_SHOWN = (
    ("jwt_verify_HS256", "verify an HS256 JWT (PyJWT)"),
    ("session_token_sha256", "sha256 of the opaque token"),
    ("session_lookup_unix_socket", "PostgreSQL session lookup (asyncpg, unix socket)"),
    ("select_1_unix_socket", "SELECT 1: the bare round trip"),
    ("session_lookup_tcp", "PostgreSQL session lookup (asyncpg, loopback TCP)"),
    ("redis_session_lookup_unix_socket", "Redis session lookup (redis-py, unix socket)"),
    ("redis_session_lookup_tcp", "Redis session lookup (redis-py, loopback TCP)"),
)


def plot_micro(run: Run) -> Figure | None:
    """The comparison the text makes: the JWT check against the session lookup, in-process,
    on a linear axis (algorithms and the PEM pitfall are in notebook 05)."""
    timings = {t["name"]: t for t in (run.micro or {}).get("timings", [])}
    shown = [(timings[name], text) for name, text in MICRO_SHOWN if name in timings]
    if not shown:
        return None
    fig = Figure(figsize=(8.5, 0.55 * len(shown) + 1.3), layout="constrained")
    axis = fig.subplots()
    ys = list(range(len(shown)))[::-1]
    colors = [
        color("jwt_auth")
        if t["name"].startswith("jwt")
        else color("session_redis")
        if t["name"].startswith("redis")
        else color("session")
        for t, _ in shown
    ]
    axis.barh(
        ys,
        [t["us_median"] for t, _ in shown],
        xerr=[
            [t["us_median"] - t["us_p25"] for t, _ in shown],
            [t["us_p75"] - t["us_median"] for t, _ in shown],
        ],
        color=colors,
    )
    for y, (t, _) in zip(ys, shown, strict=True):
        axis.annotate(f" {t['us_median']:,.1f} {US}", (t["us_p75"], y), va="center", fontsize=8)
    axis.set_yticks(ys, [text for _, text in shown], fontsize=9)
    axis.set_xlim(0, max(t["us_p75"] for t, _ in shown) * 1.25)
    axis.set_xlabel(f"{US} per call (median; whiskers: p25 to p75)")
    axis.set_title(
        "The auth step alone, in-process, one call at a time",
        fontsize=10,
    )
    axis.grid(True, axis="x", alpha=0.3)
    return fig
