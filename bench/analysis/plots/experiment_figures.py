"""Figures of the experiments: database distance, revocation, algorithms, availability."""

from __future__ import annotations

from matplotlib.figure import Figure

from bench.analysis.algorithms import algorithm_rows
from bench.analysis.distance import distance_rows
from bench.analysis.plots.palette import US, color, legend_outside
from bench.analysis.revocation import revocation_rows
from bench.analysis.runs import STORE_NAMES, Run

DISTANCE_STYLE = {"postgres": ("session", "sessions in PostgreSQL"),
                  "redis": ("session_redis", "sessions in Redis")}  # fmt: skip


def plot_distance(run: Run) -> Figure | None:
    """Where the claim starts to hold: the session server with its store (PostgreSQL, and Redis
    where measured) further away, beside JWT; left the medians, right the paired difference with
    its interval against the margin."""
    sweeps = {
        store: [r for r in distance_rows(run, store) if r["p50_us"]] for store in DISTANCE_STYLE
    }
    sweeps = {store: rows for store, rows in sweeps.items() if rows}
    if not sweeps:
        return None
    fig = Figure(figsize=(10.5, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    _distance_medians(left, sweeps)
    judged = {s: [r for r in rows if r["delta_p50_us"] is not None] for s, rows in sweeps.items()}
    judged = {s: rows for s, rows in judged.items() if rows}
    if not judged:
        legend_outside(fig, left)
        right.set_visible(False)
        return fig
    _distance_verdicts(right, judged)
    handles = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    fig.legend(handles[0] + more[0], handles[1] + more[1], loc="outside lower center",
               ncols=3, fontsize=8)  # fmt: skip
    return fig


def _distance_medians(left, sweeps) -> None:
    for store, rows in sweeps.items():
        label, name = DISTANCE_STYLE[store]
        xs = [r["measured_rtt_ms"] for r in rows]
        left.plot(
            xs, [r["p50_us"] for r in rows], "o-", color=color(label), label=f"{name}, median"
        )
        left.plot(xs, [r["auth_p50_us"] for r in rows], "s:", color=color(label),
                  label=f"{name}, its auth step")  # fmt: skip
    first = next(iter(sweeps.values()))
    versus = [r for r in first if r["versus_p50_us"]]
    if versus:
        left.plot(
            [r["measured_rtt_ms"] for r in versus], [r["versus_p50_us"] for r in versus], "o-",
            color=color(versus[0]["versus"]), label=f"{versus[0]['versus']}, median (beside it)",
        )  # fmt: skip
    left.set_xlabel("added round trip to the store, measured (ms)")
    left.set_ylabel(f"latency ({US})")
    left.set_ylim(bottom=0)
    left.set_title(f"Median at {first[0]['rate']:g} requests/s in total", fontsize=10)
    left.grid(True, alpha=0.3)


def _distance_verdicts(right, judged) -> None:
    margins = {s: rows[0]["margin_us"] for s, rows in judged.items()}
    everyone = [r for rows in judged.values() for r in rows]
    for offset, (store, rows) in zip((-0.06, 0.06), judged.items(), strict=False):
        label, name = DISTANCE_STYLE[store]
        jx = [r["measured_rtt_ms"] + (offset if len(judged) > 1 else 0) for r in rows]
        delta = [r["delta_p50_us"] for r in rows]
        right.errorbar(
            jx, delta,
            yerr=[[d - r["ci_low_us"] for d, r in zip(delta, rows, strict=True)],
                  [r["ci_high_us"] - d for d, r in zip(delta, rows, strict=True)]],
            fmt="o", color=color(label), capsize=4, label=f"{name} minus JWT, 95% interval",
        )  # fmt: skip
        for x, r in zip(jx, rows, strict=True):
            right.annotate(f" {r['verdict']}", (x, r["ci_high_us"]), fontsize=7, ha="center",
                           va="bottom", rotation=90 if len(judged) > 1 else 0)  # fmt: skip
    margin = min(margins.values())
    said = ", ".join(f"{STORE_NAMES[s]} {m:,.0f}" for s, m in margins.items())
    right.axhspan(-margin, margin, color="#7f7f7f", alpha=0.15, label=f"±margin ({said} {US})")
    right.axhline(0, color="black", lw=0.8)
    right.set_yscale("symlog", linthresh=max(margin * 2, 1))
    top = max(max(r["ci_high_us"] for r in everyone), margin) * 4
    right.set_ylim(min(min(r["ci_low_us"] for r in everyone), -margin) * 3, top)
    right.set_xlabel("added round trip to the store, measured (ms)")
    right.set_ylabel(f"difference of medians ({US})")
    right.set_title("The paired verdict at each distance", fontsize=10)
    right.grid(True, alpha=0.3)


def plot_revocation(run: Run) -> Figure | None:
    """How long a logged-out token kept working, per server (bounded by the probing window)."""
    rows = revocation_rows(run)
    if not rows:
        return None
    fig = Figure(figsize=(8, 0.6 * len(rows) + 1.6), layout="constrained")
    axis = fig.subplots()
    window_ms = max(r["probe_for_s"] for r in rows) * 1000
    for y, r in enumerate(rows):
        value = window_ms if r["still_accepted_at_end"] else (r["last_accepted_ms"] or 0)
        axis.barh(
            y,
            max(value, window_ms * 0.004),
            color=color(r["server"], y),
            hatch="//" if r["still_accepted_at_end"] else "",
        )
        if r["still_accepted_at_end"]:
            until = (
                f"; valid {r['token_valid_for_s']:,.0f} s more" if r["token_valid_for_s"] else ""
            )
            note = f" still accepted when probing stopped{until}"
        elif r["accepted_after_logout"]:
            note = f" {r['last_accepted_ms']:,.0f} ms"
        else:
            note = " refused at once"
        axis.annotate(note, (min(value, window_ms * 0.55), y), va="center", fontsize=8)
    axis.set_yticks(range(len(rows)), [r["server"] for r in rows])
    axis.invert_yaxis()
    axis.set_xlim(0, window_ms * 1.02)
    axis.set_xlabel("time a logged-out token kept working (ms)")
    axis.set_title(f"Revocation, with {rows[0]['hosts']} app hosts sharing one database")
    return fig


def plot_algorithms(run: Run) -> Figure | None:
    rows = [r for r in algorithm_rows(run) if r["cpu_server_us"]]
    if len(rows) < 2:
        return None
    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    names = [r["algorithm"] for r in rows]
    colors = [color(r["server"], i) for i, r in enumerate(rows)]
    left.bar(
        names, [r["cpu_server_us"] for r in rows], color=colors, label="server CPU per request"
    )
    left.plot(
        names, [r["verify_us_in_process"] for r in rows], "kD", label="verify alone, in-process"
    )
    left.set_ylabel("microseconds")
    left.set_title("Server CPU per request (closed loop)")
    left.legend(fontsize=8)
    sizes = (run.micro or {}).get("token_bytes", {})
    kinds = ["opaque", *names]
    right.bar(kinds, [sizes.get(k, 0) for k in kinds], color=["#7f7f7f", *colors])
    for x, k in enumerate(kinds):
        right.annotate(
            f"{sizes.get(k, 0)} B", (x, sizes.get(k, 0)), ha="center", va="bottom", fontsize=8
        )
    right.set_ylabel("bytes")
    right.set_title("Token size on the wire, every request")
    return fig


STATUS_COLORS = {"200": "#2ca02c", "401": "#8c564b", "503": "#d62728", "0": "#000000"}


def plot_availability(run: Run) -> Figure | None:
    """Per second under a fixed load: answers by status, the slowest answer, the database outage
    and the SIGTERM marked; every panel on the same axes so the servers compare at a glance."""
    results = [r for r in run.meta.get("availability") or [] if "skipped" not in r]
    if not results:
        return None
    fig = Figure(figsize=(10.5, 2.4 * len(results) + 0.9), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    slowest_ms = max(
        (row["max_us"] / 1000 for r in results for row in r["timeline"] if row["t"] >= 0),
        default=1.0,
    )
    twins = []
    for axis, r in zip(axes, results, strict=True):
        rows = [row for row in r["timeline"] if row["t"] >= 0]
        ts = [row["t"] for row in rows]
        bottom = [0] * len(rows)
        for code in ("200", "401", "503", "0"):
            values = [row["statuses"].get(code, 0) for row in rows]
            if not any(values):
                continue
            axis.bar(
                ts, values, bottom=bottom, width=0.9, align="edge",
                color=STATUS_COLORS[code], label="no answer" if code == "0" else f"HTTP {code}",
            )  # fmt: skip
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        events = r["events"]
        axis.axvspan(
            events["database_down"], events["database_up"], facecolor="none", edgecolor="#444444",
            hatch="xx", lw=0, zorder=4, label="its store down (see the title)",
        )  # fmt: skip
        axis.axvline(
            events["sigterm"], color="#9467bd", lw=2.5, zorder=6, label="SIGTERM to the server"
        )
        twin = axis.twinx()
        twins.append(twin)
        twin.plot(
            [t + 0.45 for t in ts], [row["max_us"] / 1000 for row in rows], "D-", color="#ff7f0e",
            ms=4, lw=1.2, label="slowest request that second (ms)", zorder=5,
        )  # fmt: skip
        twin.set_ylim(0, slowest_ms * 1.15)
        twin.set_ylabel("slowest (ms)", fontsize=8, color="#ff7f0e")
        axis.set_ylabel("answers / s")
        stopped = STORE_NAMES[r.get("store", "postgres")]
        axis.set_title(
            f"{r['label']} under {r['rate']:g} requests/s, {stopped} stopped",
            fontsize=9,
            loc="left",
        )
    for twin in twins[1:]:
        twin.sharey(twins[0])
    axes[-1].set_xlabel("seconds since the load started")
    handles, labels = axes[0].get_legend_handles_labels()
    more = twins[0].get_legend_handles_labels()
    fig.legend(handles + more[0], labels + more[1], loc="outside right upper", fontsize=8)
    return fig
