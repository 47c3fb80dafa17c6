"""Figures of paired verdicts: one row per verdict, the difference of medians with its 95%
interval, the margin as a grey band around zero, the verdict in words at the right. For the
claim, the session stores, GET /profile, and the revocation and caching variants."""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bench.analysis.plots.palette import (
    MARGIN_COLOR,
    RESOURCE_COLORS,
    SERVER_COLORS,
    US,
    color,
    error_bars,
    finite,
    hatch,
)
from bench.analysis.runs import Run
from bench.analysis.runtimes import RUNTIME_NAMES, runtime_cpu_rows, runtime_rows
from bench.analysis.stores import tag
from bench.analysis.verdicts import PairVerdict, paired_verdicts


def when(rate: float | None) -> str:
    return "unloaded" if rate is None else f"{rate:g} req/s"


def verdict_chart(run: Run, shown: list[tuple[str, PairVerdict]], title: str) -> Figure:
    """One row per verdict; each row's marker in the colour of its arm a (its server)."""
    fig = Figure(figsize=(10, 0.48 * len(shown) + 1.6), layout="constrained")
    axis = fig.subplots()
    ys = list(range(len(shown)))[::-1]
    for y, (_, r) in zip(ys, shown, strict=True):
        axis.plot(
            [-r.margin_us, r.margin_us],
            [y, y],
            color=MARGIN_COLOR,
            lw=9,
            solid_capstyle="butt",
            zorder=1,
        )
        filled = hatch(run, r.a) == ""
        bounded = math.isfinite(r.ci_low_us) and math.isfinite(r.ci_high_us)  # one repeat: none
        xerr = [[r.delta_us - r.ci_low_us], [r.ci_high_us - r.delta_us]] if bounded else None
        axis.errorbar(
            r.delta_us,
            y,
            xerr=xerr,
            fmt="o",
            color=color(run, r.a),
            mfc=color(run, r.a) if filled else "white",
            capsize=4,
            zorder=3,
        )
        right = max(r.ci_high_us if bounded else r.delta_us, r.margin_us)
        label = r.verdict.replace("_", " ") + ("" if bounded else " (one repeat: no interval)")
        axis.annotate(f"  {label}", (right, y), va="center", fontsize=8)
    axis.axvline(0, color="black", lw=0.8)
    axis.set_yticks(ys, [text for text, _ in shown], fontsize=9)
    lows = [min(finite(r.ci_low_us, r.delta_us), -r.margin_us) for _, r in shown]
    highs = [max(finite(r.ci_high_us, r.delta_us), r.margin_us) for _, r in shown]
    span = max(highs) - min(lows)
    axis.set_xlim(min(lows) - 0.08 * span, max(highs) + 0.3 * span)
    axis.set_xlabel(
        f"difference of medians, a − b ({US}; response time at a rate, service time unloaded); "
        "dot: estimate, bar: 95% interval; grey band: ± the margin"
    )
    axis.set_title(title, fontsize=10)
    axis.grid(True, axis="x", alpha=0.3)
    return fig


def plot_claim(run: Run) -> Figure | None:
    """The claim group's pairs at every rate, A/A check included."""
    group = run.model.claim
    if group is None:
        return None
    order = {(p.a, p.b): i for i, p in enumerate(group.pairs)}
    rows = paired_verdicts(run, group=group.name)
    shown = [
        (f"{r.a} − {r.b}, {when(r.rate)}" + ("  (A/A check)" if r.a_a else ""), r)
        for r in sorted(rows, key=lambda r: (order.get((r.a, r.b), 99), r.rate or 0))
    ]
    if not shown:
        return None
    return verdict_chart(run, shown, "The paired verdicts of the claim: every pair, every load")


def _tagged(run: Run, question: str, wanted: dict[tuple[str, str], str]) -> list:
    shown = []
    for r in paired_verdicts(run, question=question):
        key = (tag(run.model.server(r.a)), tag(run.model.server(r.b)))
        if not r.a_a and key in wanted:
            shown.append((f"{wanted[key]}, {when(r.rate)}", r))
    return shown


def plot_profile(run: Run) -> Figure | None:
    """Does the session lookup still cost anything when the endpoint reads the database anyway?
    Session minus JWT on /me (the claim) and on /profile, and asking twice against once."""
    group = run.model.claim
    shown = []
    if group is not None:
        for r in paired_verdicts(run, group=group.name):
            if (r.a, r.b) == (group.headline.a, group.headline.b):
                shown.append((f"/me: {r.a} − {r.b}, {when(r.rate)}", r))
    profile = _tagged(
        run,
        "profile",
        {
            ("postgres", "jwt"): "/profile: session (one joined query) − JWT",
            ("redis", "jwt"): "/profile: session in Redis (+ data query) − JWT",
            ("naive", "postgres"): "/profile: two queries − one query",
        },
    )
    if not profile:
        return None
    return verdict_chart(
        run,
        shown + profile,
        "Does the lookup still cost anything when the endpoint reads the database?",
    )


def plot_stores(run: Run) -> Figure | None:
    """Where does a Redis session store win? Against JWT and against PostgreSQL, on GET /me."""
    shown = _tagged(
        run,
        "stores",
        {
            ("postgres", "jwt"): "session in PostgreSQL − JWT",
            ("redis", "jwt"): "session in Redis − JWT",
            ("redis", "postgres"): "session in Redis − session in PostgreSQL",
        },
    )
    if not shown:
        return None
    shown.sort(key=lambda item: (item[0].split(",")[0], item[1].rate or 0))
    return verdict_chart(run, shown, "GET /me: sessions in Redis against PostgreSQL and JWT")


def plot_variants(run: Run) -> Figure | None:
    """What a jti denylist costs and a session cache saves, each against its plain server."""
    from bench.analysis.revocation import variant_rows

    wanted = {(r["variant"], r["base"], r["rate"]) for r in variant_rows(run)}
    shown = [
        (f"{r.a} − {r.b}, {when(r.rate)}", r)
        for r in paired_verdicts(run, question="variants")
        if (r.a, r.b, r.rate) in wanted
    ]
    if not shown:
        return None
    return verdict_chart(
        run, shown, "Revocation and caching: each variant against its plain server"
    )


def plot_runtimes(run: Run) -> Figure | None:
    """Is it Python's answer? Left: session minus JWT per runtime with its interval and margin.
    Right: CPU per request of each server alone, split into HTTP stack, auth step and database."""
    rows = runtime_rows(run)
    if not rows:
        return None
    fig = Figure(figsize=(12, 0.5 * len(rows) + 3), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.2))
    _draw_runtime_verdicts(left, rows)
    parts = _draw_runtime_cpu(right, runtime_cpu_rows(run))
    handles = [Patch(facecolor=shade, label=name) for _, name, shade in parts]
    handles += [
        Patch(facecolor="white", edgecolor=SERVER_COLORS[k], linewidth=2, label=f"outline: {n}")
        for k, n in (("session", "session server"), ("jwt_auth", "JWT server"))
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    right.grid(True, axis="y", alpha=0.3)
    left.grid(True, axis="x", alpha=0.3)
    return fig


def _draw_runtime_verdicts(left, rows: list[dict]) -> None:
    """The left panel: session minus JWT on each stack, its interval, the margin as a grey band
    and the verdict in words."""
    ys = list(range(len(rows)))[::-1]
    for y, r in zip(ys, rows, strict=True):
        left.plot([-r["margin_us"], r["margin_us"]], [y, y], color=MARGIN_COLOR, lw=9, zorder=1)
        d = r["delta_p50_us"]
        left.errorbar(
            d,
            y,
            xerr=error_bars([d], [r["ci_low_us"]], [r["ci_high_us"]]),
            fmt="o",
            color=SERVER_COLORS["session"],
            capsize=4,
            zorder=3,
        )
        left.annotate(
            f"  {r['verdict'].replace('_', ' ')}",
            (max(finite(r["ci_high_us"], d), r["margin_us"]), y),
            va="center",
            fontsize=8,
        )
    left.set_yticks(
        ys, [f"{RUNTIME_NAMES.get(r['runtime'], r['runtime'])}, {when(r['rate'])}" for r in rows]
    )
    left.axvline(0, color="black", lw=0.8)
    lows = [min(finite(r["ci_low_us"], r["delta_p50_us"]), -r["margin_us"]) for r in rows]
    highs = [max(finite(r["ci_high_us"], r["delta_p50_us"]), r["margin_us"]) for r in rows]
    span = max(highs) - min(lows)
    left.set_xlim(min(lows) - 0.1 * span, max(highs) + 0.35 * span)
    left.set_xlabel(f"session − JWT, difference of medians ({US}); grey: ± margin")
    left.set_title("The verdict on each stack", fontsize=10)


def _draw_runtime_cpu(right, cpu: list[dict]) -> tuple[tuple[str, str, str], ...]:
    """The right panel: each stack's servers' CPU per request stacked as HTTP stack, auth step
    and database, outlined by server; returns the parts (key, name, colour) for the legend."""
    parts = (
        ("http_stack_us", "HTTP stack (the runtime's control)", "#c5b0d5"),
        ("auth_step_us", "auth step (server process)", RESOURCE_COLORS["server"]),
        ("database_us", "database (PostgreSQL)", RESOURCE_COLORS["postgres"]),
    )
    names = [
        RUNTIME_NAMES.get(c["runtime"], c["runtime"]).replace(" (", "\n(")
        + ("\nsession" if c["server"] == "session" else "\nJWT")
        for c in cpu
    ]
    bottom = [0.0] * len(cpu)
    for key, _, shade in parts:
        values = [max(c[key], 0.0) for c in cpu]
        right.bar(
            range(len(cpu)),
            values,
            bottom=bottom,
            color=shade,
            edgecolor=[
                SERVER_COLORS["session" if c["server"] == "session" else "jwt_auth"] for c in cpu
            ],
            linewidth=2,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    right.set_xticks(range(len(cpu)), names, fontsize=8)
    right.set_ylabel(f"CPU {US} per request (closed loop, each server alone)")
    right.set_title("Where a request's CPU goes, per stack", fontsize=10)
    return parts
