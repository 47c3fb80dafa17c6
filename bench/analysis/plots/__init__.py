"""The plots of a run, as matplotlib Figures (no pyplot state: usable headless and in Jupyter).

One question per figure; one colour per server, by what the server is (palette.py); legends off
the data. `draw_all` writes every figure the run has data for into its plots/ folder as PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.analysis.plots.bill_figures import plot_bill, plot_model_check
from bench.analysis.plots.curve_figures import (
    plot_coordinated_omission,
    plot_curve_gap,
    plot_curve_latency,
    plot_curve_utilisation,
    plot_interference,
)
from bench.analysis.plots.experiment_figures import (
    plot_algorithms,
    plot_availability,
    plot_distance,
    plot_revocation,
)
from bench.analysis.plots.load_figures import (
    plot_arrivals,
    plot_cpu_per_request,
    plot_latency_vs_throughput,
    plot_micro,
    plot_percentile_spectrum,
)
from bench.analysis.plots.palette import SERVER_COLORS, color
from bench.analysis.plots.verdict_figures import (
    plot_claim,
    plot_profile,
    plot_runtimes,
    plot_stores,
    plot_variants,
)
from bench.analysis.runs import Run

PLOTS = {
    "claim_verdicts": plot_claim,
    "latency_vs_throughput": plot_latency_vs_throughput,
    "percentile_spectrum": plot_percentile_spectrum,
    "cpu_per_request": plot_cpu_per_request,
    "arrivals": plot_arrivals,
    "micro_benchmarks": plot_micro,
    "database_distance": plot_distance,
    "revocation": plot_revocation,
    "variants": plot_variants,
    "algorithms": plot_algorithms,
    "availability": plot_availability,
    "profile": plot_profile,
    "session_stores": plot_stores,
    "bill_at_scale": plot_bill,
    "model_check": plot_model_check,
    "runtimes": plot_runtimes,
    "curve_latency": plot_curve_latency,
    "curve_gap": plot_curve_gap,
    "curve_utilisation": plot_curve_utilisation,
    "coordinated_omission": plot_coordinated_omission,
    "interference": plot_interference,
}


def draw_all(run: Run, out_dir: Path | None = None, warn=None) -> list[Path]:
    """Every figure the run has data for, as PNG. One figure that cannot be drawn is said in one
    line to `warn` (stderr by default) and the others are still drawn: a run's results are never
    lost to a plot."""
    out_dir = out_dir or run.path / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    warn = warn or (lambda line: print(line, file=sys.stderr))
    written = []
    for name, plot in PLOTS.items():
        try:
            fig = plot(run)
        except Exception as exc:
            warn(f"authbench: warning: {name}.png not drawn: {type(exc).__name__}: {exc}")
            continue
        if fig is None:
            continue
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight", pad_inches=0.1)  # nothing clipped
        written.append(path)
    return written


__all__ = ["PLOTS", "SERVER_COLORS", "color", "draw_all", *(f.__name__ for f in PLOTS.values())]
