"""Figures of the load curve (each server alone on the servers' core, open loop): response time
against load with the knee, the gap between the pair at every load, response time against
measured utilisation beside a queueing model, what service time hides, and what pairing the
arms at once changes. One question each; one colour per server; the legend off the data."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from bench.analysis import curve
from bench.analysis.plots.palette import (
    MARGIN_COLOR,
    US,
    color,
    error_bars,
    finite,
    log_floor,
    percent_axis,
    us_axis,
)
from bench.analysis.queueing import queue_wait_us
from bench.analysis.runs import Run

LATE = "x"  # the marker of a point whose client did not keep its schedule
KNEE = "-."  # the line style of a knee


def _rate_axis(axis, per_fraction: float) -> None:
    """A second x axis above, in requests per second."""
    top = axis.secondary_xaxis(
        "top", functions=(lambda f: f * per_fraction, lambda r: r / per_fraction)
    )
    top.set_xlabel("offered requests per second", fontsize=8)
    top.tick_params(labelsize=8)


def _per_fraction(points) -> float:
    top = max(points, key=lambda p: p.rate)
    return top.rate / top.load_fraction


def _capacity_of(run: Run) -> str:
    return curve.spec(run).capacity_of


def _band(axis, run: Run, mine, key: str) -> None:
    xs = [p.load_fraction for p in mine]
    ys = [getattr(p, key) for p in mine]
    low = [finite(getattr(p, f"{key[:-3]}_ci_low_us"), y) for p, y in zip(mine, ys, strict=True)]
    high = [finite(getattr(p, f"{key[:-3]}_ci_high_us"), y) for p, y in zip(mine, ys, strict=True)]
    shade = color(run, mine[0].server)
    axis.fill_between(xs, low, high, color=shade, alpha=0.18, lw=0)
    axis.plot(xs, ys, "-o", color=shade, ms=4, label=mine[0].server)
    late = [p for p in mine if not p.schedule_kept]
    axis.plot(
        [p.load_fraction for p in late], [getattr(p, key) for p in late], LATE, color="black", ms=8
    )


def plot_curve_latency(run: Run) -> Figure | None:
    """How each server's response time grows with load, alone on the servers' core: the median,
    the mean beside the queueing models of it, and p99 (line: median of the repeats; band: 95%
    interval), each server's knee marked."""
    points = curve.curve_rows(run)
    if not points:
        return None
    fig = Figure(figsize=(14, 4.4), layout="constrained")
    left, middle, right = fig.subplots(1, 3, sharex=True)
    models = curve.model_rows(run)
    knees = [k for k in curve.knees(run) if k.rate is not None]
    for server in dict.fromkeys(p.server for p in points):
        mine = [p for p in points if p.server == server]
        _band(left, run, mine, "p50_us")
        _band(right, run, mine, "p99_us")
        _mean_and_models(middle, mine, models, color(run, server))
    for k in knees:
        for axis in (left, middle, right):
            axis.axvline(k.load_fraction, color=color(run, k.server), ls=KNEE, lw=1.2)
    titles = ("median", "mean, and queueing models of it from S", "p99")
    for axis, title in zip((left, middle, right), titles, strict=True):
        axis.set_title(title, fontsize=9)
        axis.set_yscale("log")
        us_axis(axis.yaxis)
        axis.set_xlabel(f"offered load, share of {_capacity_of(run)}'s capacity")
        percent_axis(axis)
        _rate_axis(axis, _per_fraction(points))
        axis.grid(True, which="major", alpha=0.3)
    log_floor(left, [p.p50_ci_low_us for p in points] + [p.p50_us for p in points])
    log_floor(middle, [p.mean_us for p in points])
    log_floor(right, [p.p99_ci_low_us for p in points] + [p.p99_us for p in points])
    left.set_ylabel(f"response time ({US}, log scale)")
    handles, labels = left.get_legend_handles_labels()
    extra = _latency_keys(run, knees)
    fig.legend(
        handles + extra,
        labels + [h.get_label() for h in extra],
        loc="outside right upper",
        fontsize=8,
        title="each server alone",
    )
    fig.suptitle(
        "Response time against load, each server alone on the servers' core\n"
        "(from each request's intended start; knee: where the median reaches twice its "
        "lowest-load value)",
        fontsize=10,
    )
    return fig


def _mean_and_models(axis, mine, models: list[dict], shade: str) -> None:
    """A server's measured mean response time, and what M/M/1 and M/D/1 predict for it."""
    axis.plot([p.load_fraction for p in mine], [p.mean_us for p in mine], "-o", color=shade, ms=4)
    for model, style in (("M/M/1", "--"), ("M/D/1", ":")):
        predicted = [r for r in models if (r["server"], r["model"]) == (mine[0].server, model)]
        axis.plot(
            [r["load_fraction"] for r in predicted],
            [
                r["predicted_mean_us"] if math.isfinite(r["predicted_mean_us"]) else np.nan
                for r in predicted
            ],
            style,
            color=shade,
            lw=1,
        )


def _latency_keys(run: Run, knees) -> list:
    """The legend's entries for what is not a server: the band, the models, knees, late points."""
    late = run.model.thresholds.max_late_share
    return [
        Patch(color="grey", alpha=0.3, label="95% interval over the repeats"),
        Line2D([], [], ls="--", color="grey", label="M/M/1 (exponential service)"),
        Line2D([], [], ls=":", color="grey", lw=1, label="M/D/1 (constant service)"),
        *(
            Line2D(
                [],
                [],
                ls=KNEE,
                color=color(run, k.server),
                label=f"knee of {k.server}: {k.rate:,.0f} req/s\n({k.load_fraction:.0%} of capacity)",
            )
            for k in knees
        ),
        Line2D(
            [], [], marker=LATE, ls="", color="black", label=f"client started over {late:.0%} late"
        ),
    ]


def plot_curve_gap(run: Run) -> Figure | None:
    """How much slower the pair's a is than its b at each load, alone, at the median and p99:
    the estimate with its 95% interval over the repeats, the margin as a grey band."""
    rows = curve.gap_rows(run)
    if not rows:
        return None
    a, b = rows[0].a, rows[0].b
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for axis, q in zip(axes, (0.5, 0.99), strict=True):
        mine = [r for r in rows if (r.a, r.b) == (a, b) and r.quantile == q]
        xs = [r.load_fraction for r in mine]
        margins = [r.margin_us for r in mine]
        axis.fill_between(xs, [-m for m in margins], margins, color=MARGIN_COLOR, lw=0)
        deltas = [r.delta_us for r in mine]
        axis.errorbar(
            xs,
            deltas,
            yerr=error_bars(deltas, [r.ci_low_us for r in mine], [r.ci_high_us for r in mine]),
            fmt="-o",
            color=color(run, a),
            capsize=3,
            ms=4,
        )
        for r in mine:
            axis.annotate(
                f"{r.delta_us:+,.0f}\n{_verdict(r)}",
                (r.load_fraction, finite(r.ci_high_us, r.delta_us)),
                fontsize=7,
                ha="center",
                va="bottom",
                xytext=(0, 3),
                textcoords="offset points",
            )
        axis.axhline(0, color="black", lw=0.8)
        axis.margins(x=0.08, y=0.3)
        low = min(min(finite(r.ci_low_us, r.delta_us) for r in mine), -max(margins))
        top = axis.get_ylim()[1]
        axis.set_ylim(low - 0.06 * (top - low), top)
        axis.set_title(f"{'median' if q == 0.5 else 'p99'}", fontsize=9)
        axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+,.0f}" if v else "0"))
        axis.set_xlabel(f"offered load, share of {_capacity_of(run)}'s capacity")
        percent_axis(axis)
        _rate_axis(axis, _per_fraction(mine))
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"{a} − {b}, response time ({US})")
    fig.suptitle(
        f"How much slower {a} is than {b} at each load, each alone on the servers' core\n"
        "(response time; dot: estimate, with the verdict above it; bar: 95% interval over "
        "the repeats; grey band: ± the margin)",
        fontsize=10,
    )
    return fig


def _verdict(row) -> str:
    if row.verdict == "inconclusive" and any("late" in c for c in row.checks):
        return "inconclusive:\nclient late"
    return row.verdict.replace("_", " ")


def plot_curve_utilisation(run: Run) -> Figure | None:
    """Is it how busy the core is that makes requests wait? Each server's mean response time
    against the measured utilisation of the servers' core, beside the M/M/1 and M/D/1 models
    from its service demand (S, measured closed loop; R0 from its lowest point)."""
    points = [p for p in curve.curve_rows(run) if p.utilisation is not None]
    models = curve.model_rows(run)
    if not points:
        return None
    fig = Figure(figsize=(9.5, 4.6), layout="constrained")
    axis = fig.subplots()
    for server in dict.fromkeys(p.server for p in points):
        mine = [p for p in points if p.server == server]
        shade = color(run, server)
        axis.plot(
            [p.utilisation for p in mine],
            [p.mean_us for p in mine],
            "-o",
            color=shade,
            ms=4,
            label=server,
        )
        fitted = [r for r in models if r["server"] == server and r["model"] == "M/M/1"]
        if fitted:
            _model_lines(axis, fitted, shade)
    axis.set_yscale("log")
    us_axis(axis.yaxis)
    log_floor(axis, [p.mean_us for p in points])
    axis.set_xlim(0, 1)
    percent_axis(axis)
    axis.set_xlabel("utilisation of the servers' core, measured")
    axis.set_ylabel(f"mean response time ({US}, log scale)")
    axis.grid(True, which="major", alpha=0.3)
    extra = [
        Line2D([], [], ls="--", color="grey", label="M/M/1 (exponential service)"),
        Line2D([], [], ls=":", color="grey", label="M/D/1 (constant service)"),
    ]
    handles, labels = axis.get_legend_handles_labels()
    fig.legend(
        handles + extra,
        labels + [h.get_label() for h in extra],
        loc="outside right upper",
        fontsize=8,
        title="measured, and the models",
    )
    axis.set_title(
        "Mean response time against how busy the core was, and what queueing theory predicts from S",
        fontsize=10,
    )
    return fig


def _model_lines(axis, fitted: list[dict], shade: str) -> None:
    """The models against their predicted utilisation ρ, anchored at the server's lowest point
    (R0), over the span of utilisation its curve covered (and a little past it)."""
    first = fitted[0]
    service, cores = first["service_us"], first["cores"]
    busiest = max(max(r["predicted_utilisation"], r["measured_utilisation"] or 0) for r in fitted)
    rhos = np.linspace(first["predicted_utilisation"], min(0.97, 1.05 * busiest), 120)
    for model, style in (("M/M/1", "--"), ("M/D/1", ":")):
        r0 = first["measured_mean_us"] - queue_wait_us(model, first["rate"], service, cores)
        rates = rhos * cores * 1e6 / service
        waits = [queue_wait_us(model, rate, service, cores) for rate in rates]
        axis.plot(rhos, [r0 + w for w in waits], style, color=shade, lw=1)


TIMED = [  # the legend of the two ways p99 is timed
    Line2D(
        [],
        [],
        ls="-",
        marker="o",
        ms=4,
        color="grey",
        label="from the intended start\n(response time)",
    ),
    Line2D(
        [],
        [],
        ls=":",
        marker="s",
        ms=4,
        mfc="white",
        color="grey",
        label="from the moment it left\n(service time)",
    ),
    Patch(color="grey", alpha=0.3, label="waiting to be sent"),
]


def plot_coordinated_omission(run: Run) -> Figure | None:
    """What timing from the moment a request left hides: each server's p99 from the intended
    start (response time) and from the moment it left (service time), at each load; the top
    point says how many times larger the first is."""
    points = curve.curve_rows(run)
    if not points:
        return None
    servers = list(dict.fromkeys(p.server for p in points))
    fig = Figure(figsize=(3.6 * len(servers) + 2.2, 4.2), layout="constrained")
    axes = fig.subplots(1, len(servers), sharey=True, squeeze=False)[0]
    for axis, server in zip(axes, servers, strict=True):
        mine = [p for p in points if p.server == server]
        xs = [p.load_fraction for p in mine]
        shade = color(run, server)
        response, service = [p.p99_us for p in mine], [p.p99_service_us for p in mine]
        axis.plot(xs, response, "-o", color=shade, ms=4)
        axis.plot(xs, service, ":s", color=shade, ms=4, mfc="white")
        axis.fill_between(xs, service, response, color=shade, alpha=0.15, lw=0)
        axis.annotate(
            f"{response[-1] / service[-1]:.1f}x",
            (xs[-1], response[-1]),
            fontsize=8,
            ha="right",
            va="bottom",
            xytext=(-4, 4),
            textcoords="offset points",
        )
        axis.set_title(server, fontsize=9)
        axis.set_yscale("log")
        us_axis(axis.yaxis)
        axis.set_xlabel(f"offered load, share of {_capacity_of(run)}'s capacity")
        percent_axis(axis)
        axis.grid(True, which="major", alpha=0.3)
    log_floor(axes[0], [p.p99_service_us for p in points])
    axes[0].set_ylim(top=1.4 * max(p.p99_us for p in points))  # room for the figure on top
    axes[0].set_ylabel(f"p99 ({US}, log scale)")
    fig.legend(handles=TIMED, loc="outside right upper", fontsize=8, title="p99, timed")
    fig.suptitle(
        "Does service time hide the queue near the knee? Each server alone, p99 timed two ways\n"
        "(the figure at the top point: response time over service time)",
        fontsize=10,
    )
    return fig


def plot_interference(run: Run) -> Figure | None:
    """Does running the arms at once (the paired design) change the gap? The pair's gap with
    both arms at once beside the same gap with each server alone at the same rate per arm."""
    rows = curve.interference_rows(run)
    if not rows:
        return None
    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for axis, q in zip(axes, (0.5, 0.99), strict=True):
        mine = [r for r in rows if r["quantile"] == q]
        for x, r in enumerate(mine):
            _together_and_alone(axis, x, r, color(run, r["a"]))
        axis.set_xticks(
            range(len(mine)),
            [
                f"{r['rate_per_arm']:,.0f} req/s per arm\n({r['load_fraction']:.0%} of capacity)"
                for r in mine
            ],
            fontsize=8,
        )
        axis.set_xlim(-0.6, len(mine) - 0.4)
        axis.margins(y=0.22)
        axis.axhline(0, color="black", lw=0.8)
        axis.set_title("median" if q == 0.5 else "p99", fontsize=9)
        axis.grid(True, axis="y", alpha=0.3)
    a, b = rows[0]["a"], rows[0]["b"]
    axes[0].set_ylabel(f"{a} − {b}, response time ({US})")
    legend = [
        Line2D([], [], marker="o", ls="", mfc="white", color="grey", label="each server alone"),
        Line2D([], [], marker="o", ls="", color="grey", label="both at once (paired)"),
    ]
    fig.legend(handles=legend, loc="outside right upper", fontsize=8, title="bar: 95% interval")
    fig.suptitle(f"Does running {a} and {b} at once change their gap?", fontsize=10)
    return fig


def _together_and_alone(axis, x: int, r: dict, shade: str) -> None:
    """One rate: the gap alone (hollow) and at once (filled), and their difference in words."""
    for dx, key, filled in ((-0.12, "alone", False), (0.12, "together", True)):
        value = r[f"{key}_us"]
        axis.errorbar(
            x + dx,
            value,
            yerr=error_bars([value], [r[f"{key}_ci_low_us"]], [r[f"{key}_ci_high_us"]]),
            fmt="o",
            color=shade,
            mfc=shade if filled else "white",
            capsize=4,
        )
    words = r["verdict"].replace("_", " ")
    top = max(
        finite(r["together_ci_high_us"], r["together_us"]),
        finite(r["alone_ci_high_us"], r["alone_us"]),
    )
    axis.annotate(
        f"at once − alone:\n{r['difference_us']:+,.0f} {US}, {words}",
        (x, top),
        ha="center",
        va="bottom",
        fontsize=8,
        xytext=(0, 4),
        textcoords="offset points",
    )
