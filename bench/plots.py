"""The plots of a run, as matplotlib Figures (no pyplot state: usable headless and in Jupyter).

`draw_all` writes them as PNG files into the run's plots/ folder. Cells where the load
generator ran above 90% of a core are marked in every plot that shows them.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bench.analysis import (
    Run,
    algorithm_rows,
    at_rate,
    busiest_closed,
    cell_rows,
    distance_rows,
    points,
    revocation_rows,
)

COLORS = {
    "control": "#7f7f7f",
    "session": "#d62728",
    "jwt_auth": "#1f77b4",
    "session_cached": "#ff9896",
    "jwt_denylist": "#9467bd",
    "jwt_rs256": "#2ca02c",
    "jwt_es256": "#17becf",
    "jwt_eddsa": "#bcbd22",
}
CPU_COLORS = {"server": "#4c72b0", "postgres": "#dd8452", "load_generator": "#c7c7c7"}
BOUND_NOTE = "x: load generator above 90% of a core"


def color(label: str, index: int = 0) -> str:
    return COLORS.get(label, f"C{index % 10}")


def _us_axis(axis) -> None:
    """A log axis in microseconds, labelled at 1, 2 and 5 of every decade."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axis.set_minor_formatter(NullFormatter())


def plot_latency_vs_throughput(run: Run) -> Figure:
    """Latency against achieved throughput: fixed-rate points joined, closed loop hollow."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    folded = points(cell_rows(run))
    for i, label in enumerate(run.labels):
        mine = [p for p in folded if p["label"] == label]
        fixed = sorted((p for p in mine if p["model"] == "fixed_rate"), key=lambda p: p["rate"])
        closed = [p for p in mine if p["model"] == "closed"]
        bound = [p for p in mine if p["load_generator_bound"]]
        c = color(label, i)
        for axis, tail in ((left, False), (right, True)):

            def y(p, tail=tail):
                if not tail:
                    return p["p50_us"]
                return p["corrected_p99_us"] if p["model"] == "fixed_rate" else p["p99_us"]

            axis.plot(
                [p["ok_rps"] for p in fixed], [y(p) for p in fixed], "o-", color=c, label=label
            )
            axis.plot(
                [p["ok_rps"] for p in closed], [y(p) for p in closed], "o", mfc="none", color=c
            )
            axis.plot([p["ok_rps"] for p in bound], [y(p) for p in bound], "x", color="black", ms=9)
    left.set_title("median latency")
    right.set_title("p99 latency (fixed rate: from intended start)")
    for axis in (left, right):
        axis.set_yscale("log")
        axis.set_xlabel("achieved throughput (requests/s)")
        axis.set_ylabel("latency (us)")
        _us_axis(axis.yaxis)
        axis.grid(True, which="both", alpha=0.3)
    left.legend(title="filled: fixed rate; hollow: closed loop", fontsize=8)
    fig.suptitle(f"Latency against throughput  ({BOUND_NOTE})", fontsize=10)
    return fig


NINES = (50.0, 90.0, 99.0, 99.9, 99.99)


def _spectrum_x(key: str) -> float:
    if key == "max":
        return 1e6
    return 1.0 / (1.0 - float(key[1:]) / 100.0)


def plot_percentile_spectrum(run: Run, rate: float | None = None) -> Figure:
    """Every percentile to p99.99 and the max, at one fixed rate (log scale in 'nines')."""
    rate = rate if rate is not None else run.reference_rate
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    axis = fig.subplots()
    rows = [r for r in cell_rows(run) if r["model"] == "fixed_rate" and r["rate"] == rate]
    for i, label in enumerate(run.labels):
        mine = [r for r in rows if r["label"] == label]
        if not mine:
            continue
        for key_name, style in (("latency", "-"), ("corrected", "--")):
            spectra = [r[key_name] for r in mine if r[key_name]]
            if not spectra:
                continue
            keys = [k for k in spectra[0] if k.startswith("p") and float(k[1:]) >= 50] + ["max"]
            xs = [_spectrum_x(k) for k in keys]
            ys = [sorted(s[k] for s in spectra)[len(spectra) // 2] for k in keys]
            name = label if key_name == "latency" else f"{label}, from intended start"
            axis.plot(
                xs,
                ys,
                style,
                color=color(label, i),
                label=name,
                marker="." if style == "-" else None,
            )
    axis.set_xscale("log")
    axis.set_yscale("log")
    ticks = [_spectrum_x(f"p{p:g}") for p in NINES] + [1e6]
    axis.set_xticks(ticks, [f"p{p:g}" for p in NINES] + ["max"])
    axis.minorticks_off()
    _us_axis(axis.yaxis)
    axis.set_ylabel("latency (us)")
    axis.set_title(
        f"Percentile spectrum at {rate:g} requests/s (median of repeats)" if rate else ""
    )
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    return fig


def plot_cpu_per_request(run: Run) -> Figure:
    """CPU microseconds per request, stacked by process, under closed loop and at the fixed rate."""
    panels = [("closed loop, most users", busiest_closed(run))]
    if run.reference_rate:
        panels.append((f"fixed rate {run.reference_rate:g}/s", at_rate(run)))
    fig = Figure(figsize=(5.5 * len(panels), 4.5), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for axis, (title, by_label) in zip(axes, panels, strict=True):
        labels = [label for label in run.labels if label in by_label]
        bottoms = [0.0] * len(labels)
        for group, c in CPU_COLORS.items():
            values = [by_label[label].get(f"cpu_{group}_us") or 0.0 for label in labels]
            hatches = ["//" if by_label[label]["load_generator_bound"] else "" for label in labels]
            bars = axis.bar(labels, values, bottom=bottoms, color=c, label=group.replace("_", " "))
            for bar, hatch in zip(bars, hatches, strict=True):
                bar.set_hatch(hatch)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        for x, label in enumerate(labels):
            service = by_label[label].get("cpu_service_us")
            if service:
                axis.annotate(
                    f"{service:,.0f} us\nserver+db",
                    (x, bottoms[x]),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        axis.set_title(title)
        axis.set_ylabel("CPU microseconds per request")
        axis.set_ylim(0, max(bottoms, default=1) * 1.25)
        axis.tick_params(axis="x", rotation=20)
    axes[0].legend(fontsize=8, title="hatched: load generator bound", title_fontsize=8)
    return fig


def plot_micro(run: Run) -> Figure | None:
    """Micro-benchmarks: median per call with the p25-p75 range, log scale."""
    micro = run.micro
    if not micro:
        return None
    timings = micro["timings"]
    fig = Figure(figsize=(9, 0.32 * len(timings) + 1.2), layout="constrained")
    axis = fig.subplots()
    groups = list(dict.fromkeys(t["group"] for t in timings))
    ys = list(range(len(timings)))[::-1]
    axis.barh(
        ys,
        [t["us_median"] for t in timings],
        xerr=[
            [t["us_median"] - t["us_p25"] for t in timings],
            [t["us_p75"] - t["us_median"] for t in timings],
        ],
        color=[f"C{groups.index(t['group'])}" for t in timings],
    )
    for y, t in zip(ys, timings, strict=True):
        axis.annotate(f" {t['us_median']:,.1f}", (t["us_median"], y), va="center", fontsize=7)
    axis.set_yticks(ys, [t["name"] for t in timings], fontsize=8)
    handles = [Patch(color=f"C{i}", label=group) for i, group in enumerate(groups)]
    axis.legend(handles=handles, fontsize=8, loc="lower right")
    axis.set_xscale("log")
    axis.set_xlabel("microseconds per call (median; bars: p25 to p75)")
    axis.set_title("The auth step alone, in-process")
    axis.grid(True, axis="x", which="both", alpha=0.3)
    return fig


def plot_distance(run: Run) -> Figure | None:
    """The session server with the database further away, against JWT and control at the same rate."""
    rows = [r for r in distance_rows(run) if r["p50_us"]]
    if not rows:
        return None
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    xs = [r["measured_rtt_ms"] for r in rows]
    left.plot(
        xs, [r["p50_us"] for r in rows], "o-", color=color("session"), label="session, median"
    )
    left.plot(xs, [r["p99_us"] for r in rows], "o--", color=color("session"), label="session, p99")
    left.plot(
        xs,
        [r["auth_p50_us"] for r in rows],
        "s:",
        color="#8c564b",
        label="session, auth step (Server-Timing)",
    )
    fixed = at_rate(run)
    for label in ("jwt_auth", "control"):
        if label in fixed and fixed[label]["p50_us"]:
            left.axhline(
                fixed[label]["p50_us"], color=color(label), ls="-", lw=1, label=f"{label}, median"
            )
    for r in rows:
        left.annotate(f"set {r['set_rtt_ms']:g} ms", (r["measured_rtt_ms"], r["p50_us"]), textcoords="offset points",
                      xytext=(4, -12), fontsize=7)  # fmt: skip
    left.set_xlabel("added database round trip, measured (ms)")
    left.set_ylabel("latency (us)")
    left.set_title(f"Latency at {rows[0]['rate']:g} requests/s")
    left.legend(fontsize=7)
    left.grid(True, alpha=0.3)
    closed = [r for r in rows if r["closed_rps"]]
    right.plot(
        [r["measured_rtt_ms"] for r in closed],
        [r["closed_rps"] for r in closed],
        "o-",
        color=color("session"),
        label="session",
    )
    busiest = busiest_closed(run)
    for label in ("jwt_auth", "control"):
        if label in busiest:
            right.axhline(busiest[label]["ok_rps"], color=color(label), lw=1, label=label)
    right.set_xlabel("added database round trip, measured (ms)")
    right.set_ylabel("requests/s, closed loop")
    right.set_title("Closed-loop throughput")
    right.legend(fontsize=7)
    right.grid(True, alpha=0.3)
    return fig


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


STATUS_COLORS = {"200": "#2ca02c", "401": "#ff7f0e", "503": "#d62728", "0": "#000000"}


def plot_availability(run: Run) -> Figure | None:
    """Per second: answers by status under fixed load, with the database outage and SIGTERM marked."""
    results = [r for r in run.meta.get("availability") or [] if "skipped" not in r]
    if not results:
        return None
    fig = Figure(figsize=(11, 2.6 * len(results) + 0.6), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False)[:, 0]
    for axis, r in zip(axes, results, strict=True):
        rows = [row for row in r["timeline"] if row["t"] >= 0]
        ts = [row["t"] for row in rows]
        bottom = [0] * len(rows)
        codes = sorted(
            {code for row in rows for code in row["statuses"]}, key=lambda c: (c != "200", c)
        )
        for code in codes:
            values = [row["statuses"].get(code, 0) for row in rows]
            label = "no answer" if code == "0" else code
            axis.bar(
                ts,
                values,
                bottom=bottom,
                width=0.9,
                align="edge",
                color=STATUS_COLORS.get(code, "#9467bd"),
                label=label,
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        events = r["events"]
        axis.axvspan(events["database_down"], events["database_up"], color="#d62728", alpha=0.08)
        for name in ("database_down", "database_up", "sigterm"):
            axis.axvline(events[name], color="black", lw=0.8, ls="--")
            axis.annotate(
                f" {name.replace('_', ' ')}", (events[name], max(bottom or [1]) * 0.9), fontsize=7
            )
        twin = axis.twinx()
        twin.plot(
            [t + 0.5 for t in ts],
            [row["max_us"] / 1000 for row in rows],
            "k.-",
            lw=0.8,
            label="slowest (ms)",
        )
        twin.set_ylabel("slowest request (ms)", fontsize=8)
        axis.set_ylabel("answers per second")
        axis.set_title(f"{r['label']} under {r['rate']:g} requests/s", fontsize=9)
        axis.legend(fontsize=7, loc="lower left", ncols=len(codes))
    axes[-1].set_xlabel("seconds")
    return fig


PLOTS = {
    "latency_vs_throughput": plot_latency_vs_throughput,
    "percentile_spectrum": plot_percentile_spectrum,
    "cpu_per_request": plot_cpu_per_request,
    "micro_benchmarks": plot_micro,
    "database_distance": plot_distance,
    "revocation": plot_revocation,
    "algorithms": plot_algorithms,
    "availability": plot_availability,
}


def draw_all(run: Run, out_dir: Path | None = None) -> list[Path]:
    out_dir = out_dir or run.path / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, plot in PLOTS.items():
        fig = plot(run)
        if fig is None:
            continue
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=110)
        written.append(path)
    return written
