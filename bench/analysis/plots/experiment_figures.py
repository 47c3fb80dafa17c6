"""Figures of the experiments: database distance, revocation, algorithms, availability."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bench.analysis.algorithms import algorithm_rows
from bench.analysis.availability import measured_availability
from bench.analysis.distance import distance_rows, proxy_cost
from bench.analysis.plots.palette import (
    HATCHES,
    MARGIN_COLOR,
    SERVER_COLORS,
    STATUS_COLORS,
    STATUS_NAMES,
    US,
    color,
    error_bars,
    finite,
)
from bench.analysis.revocation import revocation_rows
from bench.analysis.runs import STORE_NAMES, Run, token_sizes
from bench.results.experiment_records import AvailabilityRecord

STORE_ROLE = {"postgres": "session", "redis": "session_redis"}


def plot_distance(run: Run) -> Figure | None:
    """Where the claim starts to hold: the session server with its store further away, beside
    the server it was paired with; left the medians, right the paired difference with its
    interval against the margin, on linear axes."""
    sweeps = {
        s: rows for s in STORE_ROLE if (rows := [r for r in distance_rows(run, s) if r["p50_us"]])
    }
    if not sweeps:
        return None
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for store, rows in sweeps.items():
        offset = 0.04 if len(sweeps) > 1 and store == "redis" else 0.0
        _draw_distance_sweep(run, left, right, store, rows, offset)
    margin = min(r["margin_us"] for rows in sweeps.values() for r in rows if r["margin_us"])
    right.axhspan(-margin, margin, color=MARGIN_COLOR, label=f"± margin ({margin:,.0f} {US})")
    right.axhline(0, color="black", lw=0.8)
    cost = proxy_cost(run, "postgres")
    title = "The paired verdict at each distance"
    if cost is not None:
        title += f"\n(the proxy alone, at 0 ms: {cost.delta_us:+,.0f} {US})"
    left.set_title(
        f"Median at {next(iter(sweeps.values()))[0]['rate']:g} req/s in total", fontsize=10
    )
    right.set_title(title, fontsize=10)
    for axis in (left, right):
        axis.set_xlabel("added round trip to the store, measured (ms)")
        axis.grid(True, alpha=0.3)
    left.set_ylabel(f"latency ({US})")
    left.set_ylim(bottom=0)
    right.set_ylabel(f"difference of medians ({US}; 95% interval)")
    handles = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    fig.legend(
        handles[0] + more[0], handles[1] + more[1], loc="outside lower center", ncols=3, fontsize=8
    )
    return fig


def _draw_distance_sweep(run: Run, left, right, store: str, rows: list, offset: float) -> None:
    """One store's sweep: its medians (and the paired server's) on the left, its paired
    differences with their intervals and verdicts on the right, shifted by `offset` ms."""
    shade = SERVER_COLORS[STORE_ROLE[store]]
    xs = [r["measured_rtt_ms"] for r in rows]
    left.plot(
        xs,
        [r["p50_us"] for r in rows],
        "o-",
        color=shade,
        label=f"sessions in {STORE_NAMES[store]}, median",
    )
    versus = rows[0]
    if versus["versus_p50_us"]:
        left.axhline(
            versus["versus_p50_us"],
            color=color(run, versus["versus"]),
            ls="--",
            label=f"{versus['versus']} beside it, median (one per sweep)",
        )
    judged = [r for r in rows if r["delta_p50_us"] is not None]
    right.errorbar(
        [r["measured_rtt_ms"] + offset for r in judged],
        [r["delta_p50_us"] for r in judged],
        yerr=error_bars(
            [r["delta_p50_us"] for r in judged],
            [r["ci_low_us"] for r in judged],
            [r["ci_high_us"] for r in judged],
        ),
        fmt="o",
        color=shade,
        capsize=4,
        label=f"sessions in {STORE_NAMES[store]} − JWT",
    )
    for r in judged:
        right.annotate(
            f"{r['verdict'].replace('_', ' ')}",
            (r["measured_rtt_ms"] + offset, finite(r["ci_high_us"], r["delta_p50_us"])),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )


def plot_revocation(run: Run) -> Figure | None:
    """How long a logged-out token kept working, per server, on a log axis from 1 ms to the
    token's whole lifetime (a JWT stays valid until its exp: the hatched part is not probed,
    it is the lifetime left)."""
    rows = revocation_rows(run)
    if not rows:
        return None
    fig = Figure(figsize=(9, 0.62 * len(rows) + 1.8), layout="constrained")
    axis = fig.subplots()
    floor_ms = 1.0
    lifetime_ms = max((r["token_valid_for_s"] or 0) * 1000 for r in rows) or 10_000
    for y, r in enumerate(rows):
        probed_ms = r["probe_for_s"] * 1000
        shade = color(run, r["server"])
        if r["still_accepted_at_end"]:
            axis.barh(y, probed_ms - floor_ms, left=floor_ms, color=shade)
            valid_ms = (r["token_valid_for_s"] or 0) * 1000 + probed_ms
            axis.barh(
                y, valid_ms - probed_ms, left=probed_ms, color="white", edgecolor=shade, hatch="//"
            )
            note = (
                f" accepted until probing stopped ({r['probe_for_s']:g} s), then valid "
                f"{r['token_valid_for_s']:,.0f} s more (until exp)"
            )
            end = valid_ms
        elif r["accepted_after_logout"]:
            end = r["last_accepted_ms"]
            axis.barh(y, max(end - floor_ms, 0), left=floor_ms, color=shade)
            note = f" accepted for {end:,.0f} ms on hosts that had not handled the logout"
        else:
            end = floor_ms
            axis.plot([floor_ms], [y], "|", color=shade, ms=14, mew=3)
            note = " refused from the next request"
        axis.annotate(note, (max(end, floor_ms), y), va="center", fontsize=8)
    axis.set_xscale("log")
    axis.set_xlim(floor_ms, lifetime_ms * 40)
    axis.set_yticks(range(len(rows)), [r["server"] for r in rows])
    axis.invert_yaxis()
    axis.set_xlabel("time a logged-out token kept working (ms, log scale)")
    axis.grid(True, axis="x", which="major", alpha=0.3)
    axis.set_title(f"Revocation, with {rows[0]['hosts']} app hosts sharing one store", fontsize=10)
    return fig


def plot_algorithms(run: Run) -> Figure | None:
    """JWT algorithms: each against HS256 paired (latency), server CPU in the same cells, and
    the token's size on the wire beside the opaque session token."""
    rows = algorithm_rows(run)
    judged = [r for r in rows if r["delta_p50_us"] is not None]
    if not judged:
        return None
    fig = Figure(figsize=(12, 4), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    jwt = SERVER_COLORS["jwt_auth"]
    for i, r in enumerate(rows):
        style = {"color": jwt if i == 0 else "white", "edgecolor": jwt, "hatch": HATCHES[i % 7]}
        middle.bar(r["algorithm"], r["cpu_server_us"] or 0, **style)
        middle.plot([r["algorithm"]], [r["verify_us_in_process"] or 0], "kD", ms=5)
    for y, r in enumerate(judged):
        d = r["delta_p50_us"]
        left.errorbar(
            d,
            y,
            xerr=error_bars([d], [r["ci_low_us"]], [r["ci_high_us"]]),
            fmt="o",
            color=jwt,
            capsize=4,
        )
        left.plot([-r["margin_us"], r["margin_us"]], [y, y], color=MARGIN_COLOR, lw=9, zorder=0)
        left.annotate(
            f"  {r['verdict'].replace('_', ' ')}",
            (max(finite(r["ci_high_us"], d), r["margin_us"]), y),
            va="center",
            fontsize=8,
        )
    base = next((r["algorithm"] for r in rows if r["verdict"] == "baseline"), "HS256")
    left.set_yticks(range(len(judged)), [f"{r['algorithm']} − {base}" for r in judged])
    left.axvline(0, color="black", lw=0.8)
    left.set_xlabel(f"difference of medians ({US}); grey: ± margin")
    left.set_title(f"Latency, paired, at {judged[0]['rate']:g} req/s in total", fontsize=10)
    middle.set_ylabel(f"{US} per request")
    middle.set_title("Server CPU per request (bars)\nand verify alone in-process (◆)", fontsize=10)
    sizes = token_sizes(run)
    kinds = ["opaque", *[r["algorithm"] for r in rows]]
    bars = right.bar(
        kinds,
        [sizes.get(k, 0) for k in kinds],
        color=[SERVER_COLORS["session"], *[jwt if i == 0 else "white" for i in range(len(rows))]],
        edgecolor=[SERVER_COLORS["session"], *[jwt] * len(rows)],
    )
    for i, bar in enumerate(bars[1:]):
        bar.set_hatch(HATCHES[i % 7])
    for x, k in enumerate(kinds):
        right.annotate(
            f"{sizes.get(k, 0)} B", (x, sizes.get(k, 0)), ha="center", va="bottom", fontsize=8
        )
    right.set_ylabel("bytes")
    right.set_title("Token size, on every request\n(red: the opaque session token)", fontsize=10)
    for axis in (left, middle, right):
        axis.grid(True, axis="x" if axis is left else "y", alpha=0.3)
    return fig


def plot_availability(run: Run) -> Figure | None:
    """Per second under a fixed load: answers by status, the slowest answer, the store outage
    and the SIGTERM marked; every panel on the same axes so the servers compare at a glance."""
    results = measured_availability(run)
    if not results:
        return None
    fig = Figure(figsize=(11, 2.4 * len(results) + 0.9), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    slowest_ms = max(
        (row.max_us / 1000 for r in results for row in r.timeline if row.t >= 0),
        default=1.0,
    )
    twins = [
        _draw_availability_panel(run, axis, r, slowest_ms)
        for axis, r in zip(axes, results, strict=True)
    ]
    for twin in twins[1:]:
        twin.sharey(twins[0])
    axes[-1].set_xlabel("seconds since the load started")
    handles, labels = axes[0].get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    for axis in axes[1:]:
        for h, lab in zip(*axis.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    line = Patch(facecolor="white", edgecolor="black", label="line: slowest request (ms, right)")
    fig.legend(
        [*seen.values(), line],
        [*seen.keys(), line.get_label()],
        loc="outside right upper",
        fontsize=8,
    )
    return fig


def _draw_availability_panel(run: Run, axis, r: AvailabilityRecord, slowest_ms: float):
    """One server's panel: its answers per second stacked by status, the outage shaded, the
    SIGTERM marked, and the slowest answer per second on a right axis, which it returns."""
    rows = [row for row in r.timeline if row.t >= 0]
    ts = [row.t for row in rows]
    bottom = [0] * len(rows)
    for code in ("200", "401", "503", "0"):
        values = [row.statuses.get(code, 0) for row in rows]
        if any(values):
            axis.bar(
                ts,
                values,
                bottom=bottom,
                width=0.9,
                align="edge",
                color=STATUS_COLORS[code],
                edgecolor="black",
                linewidth=0.3,
                hatch="xx" if code == "0" else "",
                label=STATUS_NAMES[code],
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    events = r.events
    axis.axvspan(
        events["database_down"],
        events["database_up"],
        facecolor="#f0f0f0",
        zorder=0,
        label="the store stopped (shaded)",
    )
    axis.axvline(
        events["sigterm"], color="black", lw=2, ls="--", zorder=6, label="SIGTERM to the server"
    )
    twin = axis.twinx()
    twin.plot(
        [t + 0.45 for t in ts],
        [row.max_us / 1000 for row in rows],
        "-",
        color=color(run, r.label),
        lw=1.5,
        marker="D",
        ms=3,
        label="slowest request that second (ms, right axis)",
    )
    twin.set_ylim(0, slowest_ms * 1.15)
    twin.set_ylabel("slowest (ms)", fontsize=8)
    axis.set_ylabel("answers / s")
    stopped = STORE_NAMES[r.store]
    axis.set_title(
        f"{r.label} under {r.rate:g} requests/s; {stopped} stopped",
        fontsize=9,
        loc="left",
        color=color(run, r.label),
    )
    return twin
