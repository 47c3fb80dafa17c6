"""What every figure shares: one colour per server, the CPU palette, axis helpers."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bench.analysis.runs import Run, saturated_fraction

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


MAIN = ("control", "session", "jwt_auth")  # the comparison of notebooks 01 and 02


US = "µs"


def color(label: str, index: int = 0) -> str:
    """The server's own colour; an unknown label always gets the same spare one."""
    if label in COLORS:
        return COLORS[label]
    return SPARE_COLORS[sum(label.encode()) % len(SPARE_COLORS)]


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
    return [label for label in MAIN if label in run.labels]


def bound_note(run: Run) -> str:
    return f"hatched: load generator above {saturated_fraction(run):.0%} of a core"
