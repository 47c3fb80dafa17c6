"""The plots of a run, as matplotlib Figures (no pyplot state: usable headless and in Jupyter).

`draw_all` writes them as PNG files into the run's plots/ folder. Cells where the load
generator ran above 90% of a core (SATURATED_CORE_FRACTION) are marked in every plot that shows them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bench.analysis import (
    STORE_NAMES,
    Run,
    algorithm_rows,
    busiest_closed,
    capacity,
    cell_rows,
    claim,
    distance_rows,
    find_server,
    points,
    revocation_rows,
)
from bench.cpu import SATURATED_CORE_FRACTION

# One colour per server, the same in every figure of the project. Variants take a lighter or
# related shade of their base; servers not listed here get one from SPARE_COLORS by label.
COLORS = {
    "control": "#7f7f7f",
    "session": "#d62728",
    "jwt_auth": "#1f77b4",
    "jwt_auth_aa": "#aec7e8",
    "session_cached": "#ff9896",
    "jwt_denylist": "#9467bd",
    "jwt_rs256": "#2ca02c",
    "jwt_es256": "#17becf",
    "jwt_eddsa": "#bcbd22",
    "session_db_0ms": "#fcbba1",
    "session_db_1ms": "#fb6a4a",
    "session_db_2ms": "#cb181d",
    "session_db_5ms": "#67000d",
    # Sessions in Redis: orange, lighter for /profile, a ramp for the distance sweep.
    "session_redis": "#ff7f0e",
    "session_redis_profile": "#ffbb78",
    "session_redis_db_0ms": "#fdd0a2",
    "session_redis_db_1ms": "#fd8d3c",
    "session_redis_db_2ms": "#e6550d",
    "session_redis_db_5ms": "#a63603",
    # GET /profile: the shade of each server's /me colour.
    "session_profile": "#d62728",
    "session_profile_naive": "#ff9896",
    "jwt_profile": "#1f77b4",
    "control_profile": "#7f7f7f",
    # Two uvicorn workers (notebook 08's model check).
    "session_2_workers": "#d62728",
    "jwt_auth_2_workers": "#1f77b4",
}
SPARE_COLORS = ("#8c564b", "#e377c2", "#98df8a", "#c5b0d5", "#c49c94", "#dbdb8d")
CPU_COLORS = {
    "server": "#4c72b0",
    "postgres": "#dd8452",
    "redis": "#55a868",
    "load_generator": "#c7c7c7",
}
BOUND_NOTE = f"x: load generator above {SATURATED_CORE_FRACTION:.0%} of a core"
MAIN = ("control", "session", "jwt_auth")  # the comparison of notebooks 01 and 02
US = "µs"


def color(label: str, index: int = 0) -> str:
    """The server's own colour; an unknown label always gets the same spare one."""
    if label in COLORS:
        return COLORS[label]
    return SPARE_COLORS[sum(label.encode()) % len(SPARE_COLORS)]


def _us_axis(axis) -> None:
    """A log axis in microseconds, labelled at 1, 2 and 5 of every decade."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axis.set_minor_formatter(NullFormatter())


def _legend_outside(fig: Figure, axis, **kwargs) -> None:
    """The legend to the right of the data, never on it."""
    handles, labels = axis.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, **kwargs)


def _main_labels(run: Run) -> list[str]:
    return [label for label in MAIN if label in run.labels]


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
    for label in _main_labels(run):
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
    _legend_outside(fig, left, title="server")
    note = ""
    if bound_rates:
        note = (
            f"  (load generator above {SATURATED_CORE_FRACTION:.0%} of a core at "
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
    data = claim.paired_data(run)
    rates = sorted(r for g, r in data if g == "main" and r is not None)
    if rate is not None:
        rates = [r for r in rates if r == rate]
    fig = Figure(figsize=(3.6 * max(1, len(rates)) + 1.6, 4.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(rates)), sharey=True, squeeze=False)[0]
    for axis, total in zip(axes, rates, strict=False):
        repeats = list(data[("main", total)].values())
        for label in _main_labels(run):
            mine = [r[label] for r in repeats if label in r]
            if not mine:
                continue
            n = sum(float(c.sum()) for rep in mine for _, c in rep.values())
            qs = [q for q in np.linspace(0, 0.99999, 2000) ** 0.25 if n * (1 - q) >= MIN_BEYOND]
            qs = [q for q in qs if q >= 0.5]
            values = [claim.pooled_quantile(mine, q) for q in qs]
            axis.plot([_nines_x(q) for q in qs], values, color=color(label), label=label)
            axis.plot(
                [_nines_x(qs[-1]) * 1.6],
                [claim.pooled_quantile(mine, 1.0)],
                "v",
                color=color(label),
                ms=6,
            )
        supported = [p for p in NINES if n * (1 - p / 100) >= MIN_BEYOND]
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks([_nines_x(p / 100) for p in supported], [f"p{p:g}" for p in supported])
        axis.minorticks_off()
        _us_axis(axis.yaxis)
        axis.set_title(
            f"{total:g} req/s in total, {n / len(_main_labels(run)):,.0f} per server", fontsize=9
        )
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"latency ({US})")
    _legend_outside(fig, axes[0], title="server")
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
    labels = [label for label in _main_labels(run) if label in by_label]
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
        Patch(facecolor=CPU_COLORS["load_generator"], hatch="//", label=BOUND_NOTE.replace("x: ", "hatched: ")),
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
    judged = {s: [r for r in rows if r["delta_p50_us"] is not None] for s, rows in sweeps.items()}
    judged = {s: rows for s, rows in judged.items() if rows}
    if not judged:
        _legend_outside(fig, left)
        right.set_visible(False)
        return fig
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
    handles = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    fig.legend(handles[0] + more[0], handles[1] + more[1], loc="outside lower center",
               ncols=3, fontsize=8)  # fmt: skip
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


def _when(rate: float | None) -> str:
    return "unloaded" if rate is None else f"{rate:g} req/s"


def _verdict_chart(shown: list[tuple[str, claim.PairVerdict, str]], title: str) -> Figure:
    """One row per paired verdict: the difference of medians with its interval, the margin as a
    grey band around zero, the verdict in words at the right."""
    fig = Figure(figsize=(9.5, 0.45 * len(shown) + 1.5), layout="constrained")
    axis = fig.subplots()
    ys = list(range(len(shown)))[::-1]
    for y, (_, r, c) in zip(ys, shown, strict=True):
        axis.plot([-r.margin_us, r.margin_us], [y, y], color="#7f7f7f", lw=7, alpha=0.25,
                  solid_capstyle="butt")  # fmt: skip
        axis.errorbar(
            r.delta_p50_us, y, xerr=[[r.delta_p50_us - r.ci_low_us], [r.ci_high_us - r.delta_p50_us]],
            fmt="o", color=c, capsize=4,
        )  # fmt: skip
        axis.annotate(
            f"  {r.verdict.replace('_', ' ')}", (r.ci_high_us, y), va="center", fontsize=8
        )
    axis.axvline(0, color="black", lw=0.8)
    axis.set_yticks(ys, [text for text, _, _ in shown], fontsize=9)
    lows = [min(r.ci_low_us, -r.margin_us) for _, r, _ in shown]
    highs = [max(r.ci_high_us, r.margin_us) for _, r, _ in shown]
    axis.set_xlim(min(lows) * 1.2, max(highs) * 1.3)
    axis.set_xlabel(f"difference of medians, a − b ({US}); grey: ± the margin")
    axis.set_title(title, fontsize=10)
    axis.grid(True, axis="x", alpha=0.3)
    return fig


def plot_profile(run: Run) -> Figure | None:
    """Does the session lookup still cost anything when the endpoint reads the database anyway?
    Session minus JWT on /me and on /profile, and asking twice against asking once, with
    intervals and margins."""
    session = find_server(run, "session", "/profile")
    naive = find_server(run, "session", "/profile", AUTHBENCH_PROFILE_QUERY="naive")
    redis = find_server(run, "session", "/profile", AUTHBENCH_SESSION_STORE="redis")
    jwt = find_server(run, "jwt_auth", "/profile")
    shown = []
    for r in claim.paired_verdicts(run, group="main"):
        if (r.a, r.b) == ("session", "jwt_auth"):
            shown.append((f"/me: session − JWT, {_when(r.rate)}", r, color("session")))
    for r in claim.paired_verdicts(run, group="profile"):
        if (r.a, r.b) == (session, jwt):
            text = f"/profile: session (one query) − JWT, {_when(r.rate)}"
            shown.append((text, r, color("session")))
        elif redis and (r.a, r.b) == (redis, jwt):
            text = f"/profile: session in Redis (+ data query) − JWT, {_when(r.rate)}"
            shown.append((text, r, color("session_redis")))
        elif naive and (r.a, r.b) == (naive, session):
            text = f"/profile: two queries − one query, {_when(r.rate)}"
            shown.append((text, r, color("session_cached")))
    if not any(text.startswith("/profile") for text, _, _ in shown):
        return None
    return _verdict_chart(
        shown, "Does the lookup still cost anything when the endpoint reads the database?"
    )


def plot_stores(run: Run) -> Figure | None:
    """Where does a Redis session store win? Sessions in Redis against JWT and against
    sessions in PostgreSQL (GET /me), paired, at each load."""
    redis = find_server(run, "session", AUTHBENCH_SESSION_STORE="redis")
    session, jwt = find_server(run, "session"), find_server(run, "jwt_auth")
    shown = []
    for r in claim.paired_verdicts(run, group="stores"):
        if (r.a, r.b) == (session, jwt):
            shown.append((f"PostgreSQL session − JWT, {_when(r.rate)}", r, color("session")))
        elif (r.a, r.b) == (redis, jwt):
            shown.append((f"Redis session − JWT, {_when(r.rate)}", r, color("session_redis")))
        elif (r.a, r.b) == (redis, session):
            text = f"Redis session − PostgreSQL session, {_when(r.rate)}"
            shown.append((text, r, color("session_redis_db_5ms")))
    if not shown:
        return None
    shown.sort(key=lambda item: (item[0].split(",")[0], item[1].rate or 0))
    return _verdict_chart(shown, "GET /me: sessions in Redis against PostgreSQL and JWT")


SCHEME_COLORS = {  # the colour of the server each scheme was measured on
    "JWT": color("jwt_auth"),
    "sessions in PostgreSQL": color("session"),
    "sessions in Redis": color("session_redis"),
    "sessions in PostgreSQL, 1 s cache": color("session_cached"),
    "JWT with a jti denylist": color("jwt_denylist"),
}


def plot_bill(run: Run, rate: float = 1_000_000) -> Figure | None:
    """How many cores does each design need at `rate` requests per second? App cores and store
    cores, stacked, from the measured CPU per request (100% busy)."""
    rows = capacity.capacity_rows(run, (rate,))
    if not rows:
        return None
    fig = Figure(figsize=(9.5, 0.55 * len(rows) + 1.6), layout="constrained")
    axis = fig.subplots()
    ys = list(range(len(rows)))[::-1]
    lefts = [0.0] * len(rows)
    parts = (("app_cores", "app servers", CPU_COLORS["server"]),
             ("postgres_cores", "PostgreSQL", CPU_COLORS["postgres"]),
             ("redis_cores", "Redis", CPU_COLORS["redis"]))  # fmt: skip
    for key, name, shade in parts:
        values = [r[key] for r in rows]
        if not any(v >= 0.5 for v in values):
            continue
        axis.barh(ys, values, left=lefts, color=shade, label=name)
        lefts = [a + b for a, b in zip(lefts, values, strict=True)]
    for y, total in zip(ys, lefts, strict=True):
        axis.annotate(f" {total:,.0f} cores", (total, y), va="center", fontsize=8)
    axis.set_yticks(ys, [r["scheme"] for r in rows], fontsize=9)
    for tick, r in zip(axis.get_yticklabels(), rows, strict=True):
        tick.set_color(SCHEME_COLORS.get(r["scheme"], "black"))
    axis.set_xlim(0, max(lefts) * 1.2)
    axis.set_xlabel(f"cores busy at {rate:,.0f} requests/s (CPU per request measured here)")
    axis.set_title(f"The bill at {rate:,.0f} requests per second, by design", fontsize=10)
    axis.grid(True, axis="x", alpha=0.3)
    _legend_outside(fig, axis)
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
    axis.bar(xs - width / 2, predicted, width, color="white", edgecolor="black", hatch="..",
             label="predicted from one worker's CPU per request")  # fmt: skip
    axis.bar(xs + width / 2, measured, width, color=[color(r["server"]) for r in rows],
             label="measured (two workers)")  # fmt: skip
    for x, r in zip(xs, rows, strict=True):
        axis.annotate(f"{r['error_fraction']:+.0%}", (x + width / 2, r["measured_rps"]),
                      ha="center", va="bottom", fontsize=9)  # fmt: skip
        axis.annotate(f"limit: {r['bottleneck']}", (x - width / 2, r["predicted_rps"]),
                      ha="center", va="bottom", fontsize=7)  # fmt: skip
    axis.set_xticks(xs, [r["server"] for r in rows])
    axis.set_ylim(0, max(predicted + measured) * 1.2)
    axis.set_ylabel("requests/s, closed loop")
    axis.set_title("The capacity model against this machine", fontsize=10)
    axis.grid(True, axis="y", alpha=0.3)
    _legend_outside(fig, axis)
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
    "profile": plot_profile,
    "session_stores": plot_stores,
    "bill_at_scale": plot_bill,
    "model_check": plot_model_check,
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
