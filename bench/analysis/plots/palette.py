"""What every figure shares: one colour per server and only for servers, separate palettes for
resources and HTTP statuses, hatching for variants, and the axis helpers.

A server's colour comes from what it is (the run's model: its kind, and for a session server
its store), never from its label, so a renamed arm keeps its colour. Variants of a server (an
A/A copy, a cache, a denylist, another algorithm, a farther store, /profile) keep their server's
colour and are told apart by hatching, line style or marker.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bench.analysis.model import Server
from bench.analysis.runs import Run, saturated_fraction

# Servers: the only colours that mean "which server".
SERVER_COLORS = {
    "control": "#7f7f7f",  # grey
    "session": "#d62728",  # red: sessions in PostgreSQL
    "session_redis": "#ff7f0e",  # orange: sessions in Redis
    "jwt_auth": "#1f77b4",  # blue
}
# Resources (where CPU goes): never a server's colour.
RESOURCE_COLORS = {
    "server": "#9467bd",  # purple: the app server process
    "postgres": "#8c564b",  # brown: PostgreSQL
    "redis": "#17becf",  # cyan: Redis (Valkey)
    "load_generator": "#bcbd22",  # olive: Locust
    "delay_proxy": "#c7c7c7",  # light grey: the experiment's own proxy
}
RESOURCE_NAMES = {
    "server": "server process",
    "postgres": "PostgreSQL backends",
    "redis": "Redis (Valkey)",
    "load_generator": "load generator (Locust)",
    "delay_proxy": "delay proxy",
}
# HTTP statuses (availability): never a server's colour either.
STATUS_COLORS = {"200": "#2ca02c", "401": "#e377c2", "503": "#000000", "0": "#ffffff"}
STATUS_NAMES = {"200": "200 OK", "401": "401", "503": "503 + Retry-After", "0": "no answer"}
MARGIN_COLOR = "#d9d9d9"
US = "µs"
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo")
LINESTYLES = ("-", "--", ":", "-.")


def color(run: Run, label: str) -> str:
    """The colour of the server behind `label`, by what it is."""
    return server_color(run.model.server(label))


def server_color(server: Server) -> str:
    return SERVER_COLORS.get(server.role, SERVER_COLORS["control"])


def variant_index(run: Run, label: str) -> int:
    """0 for a plain server; 1, 2, ... for its variants, in the order the run lists them (an
    A/A copy is always 1): what picks a variant's hatch, line style or marker."""
    server = run.model.server(label)
    if server.copy_of:
        return 1
    if server.plain:
        return 0
    same = [
        s.label
        for s in run.model.servers.values()
        if s.role == server.role and not s.plain and not s.copy_of
    ]
    return 2 + same.index(label) if label in same else 2


def hatch(run: Run, label: str) -> str:
    return HATCHES[variant_index(run, label) % len(HATCHES)]


def linestyle(run: Run, label: str) -> str:
    return LINESTYLES[variant_index(run, label) % len(LINESTYLES)]


def us_axis(axis) -> None:
    """A log axis in microseconds, labelled at 1, 2 and 5 of every decade."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axis.set_minor_formatter(NullFormatter())


def legend_outside(fig: Figure, axis, **kwargs) -> None:
    """The legend to the right of the data, never on it."""
    handles, labels = axis.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, **kwargs)


def main_labels(run: Run) -> list[str]:
    """The claim group's arms, its A/A copy left out: what notebooks 01 and 02 compare."""
    group = run.model.claim
    return list(group.arms) if group else []


def bound_note(run: Run) -> str:
    return f"hatched: load generator above {saturated_fraction(run):.0%} of a core"


def finite(value: float | None, instead: float) -> float:
    """`value`, or `instead` where it is missing or not finite (a one-repeat interval)."""
    return value if value is not None and math.isfinite(value) else instead


def error_bars(deltas, lows, highs) -> list[list[float]]:
    """Matplotlib's asymmetric error bars for estimates with 95% intervals; no bar where an
    interval is missing (one repeat gives an estimate and no interval)."""
    below = [d - finite(lo, d) for d, lo in zip(deltas, lows, strict=True)]
    above = [finite(hi, d) - d for d, hi in zip(deltas, highs, strict=True)]
    return [below, above]


def percent_axis(axis) -> None:
    """An x axis of shares (0..1) labelled as percentages."""
    axis.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")


def log_floor(axis, values) -> None:
    """The log axis starts at the 1, 2 or 5 of a decade just below the lowest value shown, so
    that every line has a labelled value under it."""
    low = min((v for v in values if v and math.isfinite(v) and v > 0), default=None)
    if low is not None:
        decade = 10 ** math.floor(math.log10(low))
        axis.set_ylim(bottom=max(m * decade for m in (1, 2, 5) if m * decade <= low))
