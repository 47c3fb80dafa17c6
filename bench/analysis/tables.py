"""Rows shown as text (stdout) or HTML (notebooks), and the summary printed after a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.analysis import answer, curve, curve_words, verdict_lines, verdicts
from bench.analysis.cpu_ratios import cpu_ratio_rows, cpu_ratio_sentence, not_measured_sentence
from bench.analysis.runs import Run, at_rate, saturated_fraction, shown
from bench.analysis.under_load import summary_rows
from bench.results import ResultsError, list_runs


class Table:
    """Rows shown as text (stdout) or HTML (notebooks); None shows as a dash.

    The HTML and the DataFrame are pandas'. The text is not DataFrame.to_string: it has no
    per-column alignment (one `justify` for every header, and it moves the values with them),
    one space between columns, and bools and None in number columns skip the formatters; on
    the reference summary every line came out different and the numbers no longer stood under
    their headers. These dozen lines give the first column left, the numbers right, two spaces.
    """

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.rows = list(rows)
        self.columns = list(columns or (self.rows[0].keys() if self.rows else []))
        self.headers = headers or {}

    @staticmethod
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else ""
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    def _header(self, column: str) -> str:
        return self.headers.get(column, column)

    def __str__(self) -> str:
        grid = [[self._header(c) for c in self.columns]]
        grid += [[self.cell(row.get(c)) for c in self.columns] for row in self.rows]
        widths = [max(len(line[i]) for line in grid) for i in range(len(self.columns))]
        lines = []
        for n, line in enumerate(grid):
            lines.append(
                "  ".join(
                    v.rjust(w) if n and i else v.ljust(w)
                    for i, (v, w) in enumerate(zip(line, widths, strict=True))
                )
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        """The text grid: what a notebook keeps as the table's text, with no object address."""
        return str(self)

    def frame(self):
        """The rows as a pandas DataFrame (raw values, headed columns): to compute with."""
        import pandas as pd

        return pd.DataFrame(
            [[row.get(c) for c in self.columns] for row in self.rows],
            columns=[self._header(c) for c in self.columns],
        )

    def _repr_html_(self) -> str:
        """In a notebook: the DataFrame, with numbers formatted as in the text output."""
        frame = self.frame()
        return frame.to_html(
            index=False, na_rep="-", formatters={h: self.cell for h in frame.columns}
        )


SUMMARY_HEADERS = {
    "server": "server",
    "closed_users": "users",
    "closed_rps": "req/s (closed)",
    "rps_per_core": "req/s per core",
    "cpu_server_us": "server µs/req",
    "cpu_postgres_us": "postgres µs/req",
    "cpu_redis_us": "redis µs/req",
    "cpu_load_generator_us": "locust µs/req",
    "rate": "at req/s",
    "group": "in group",
    "p50_us": "p50 µs",
    "p99_us": "p99 µs",
    "service_p99_us": "p99 µs as sent",
    "load_generator_bound": "locust bound",
}


OUT_OF_VIEW = ("rps_per_core", "cpu_server_us", "cpu_postgres_us", "cpu_redis_us")


def summary_table(run: Run, claim_only: bool = False) -> Table:
    """Per server: closed loop, CPU per request, and at the reference rate p50 and p99 of the
    response time (from each request's intended start) and p99 as sent (service time). An
    external arm's CPU, and its store's, are "not measured". `claim_only`: the claim group's
    arms only (a notebook that leaves the other experiments to their own notebooks)."""
    groups = {label: p["group"] for label, p in at_rate(run).items()}  # whose cells gave p50, p99
    rows = [{**r, "group": groups.get(r["server"])} for r in summary_rows(run)]
    if claim_only and (claim := run.model.claim) is not None:
        rows = [r for r in rows if r["server"] in claim.arms]
    return Table(shown(run, rows, OUT_OF_VIEW), list(SUMMARY_HEADERS), SUMMARY_HEADERS)


def summary_text(run: Run) -> str:
    """What `make bench` prints at the end: the answer first, then the numbers behind it."""
    lines = [answer.headline(run), "", str(summary_table(run))]
    rows = verdicts.paired_verdicts(run, quantile=None)
    if rows:
        lines += [
            "",
            "Paired verdicts (a - b at each quantile of response time, or of service time "
            "unloaded; 95% interval over the repeats, margin, verdict, requests):",
        ]
        lines += [verdict_lines.verdict_line(row) for row in rows]
        if warning := verdict_lines.a_a_warning(rows):
            lines += ["", warning]
    lines += curve_text(run)
    if cpu_ratio_rows(run):
        lines += ["", cpu_ratio_sentence(run)]
    if run.model.external:
        lines += ["", not_measured_sentence(run)]
    if any(r["load_generator_bound"] for r in summary_rows(run)):
        lines.append(
            f"'locust bound': the load generator used over {saturated_fraction(run):.0%} of a "
            "core in that cell; its req/s says more about Locust than the server (compare CPU "
            "per request instead)."
        )
    lines += ["", SCOPE]
    return "\n".join(lines)


CURVE_HEADERS = {
    "server": "server",
    "rate": "req/s offered",
    "load_fraction": "of capacity",
    "achieved_rps": "req/s answered",
    "utilisation": "core busy",
    "p50_us": "p50 µs",
    "p99_us": "p99 µs",
    "p50_service_us": "p50 µs as sent",
    "p99_service_us": "p99 µs as sent",
    "late_fraction": "late",
    "driver": "driver",
}


def curve_table(run: Run) -> Table:
    """The load curve: each server alone at each rate, response time (from the intended start)
    and service time (as sent), medians over the repeats; shares as percentages."""
    rows = []
    for p in curve.curve_rows(run):
        row = {k: getattr(p, k) for k in CURVE_HEADERS}
        for share in ("load_fraction", "utilisation", "late_fraction"):
            row[share] = None if row[share] is None else f"{row[share]:.0%}"
        row["late_fraction"] += "" if p.schedule_kept else " (schedule not kept)"
        rows.append(row)
    return Table(shown(run, rows, ("utilisation",)), list(CURVE_HEADERS), CURVE_HEADERS)


def curve_text(run: Run) -> list[str]:
    """The load curve's lines for `bench verdict` and the summary: its table, the gap at every
    load and quantile, and what it says; [] without a curve."""
    gaps = curve.gap_rows(run)
    if not curve.curve_rows(run):
        return []
    lines = ["", "Load curve (each server alone on the servers' core, open loop):"]
    lines += [str(curve_table(run)), ""]
    lines += [verdict_lines.verdict_line(row) for row in gaps]
    return [
        *lines,
        "",
        curve_words.curve_sentence(run),
        curve_words.service_time_sentence(run),
        curve_words.curve_model_sentence(run),
        curve_words.interference_sentence(run),
    ]


def verdict_text(run: Run) -> str:
    """What `authbench verdict` prints: every paired verdict, the A/A warning if any, the load
    curve if the run has one, and the CPU ratios in a sentence; ResultsError for a run with
    neither paired cells nor a curve."""
    rows = verdicts.paired_verdicts(run, quantile=None)
    if not rows and not curve.curve_rows(run):
        raise ResultsError(f"{run.path} has no paired cells: no verdict to give")
    lines = [
        f"{run.path}: a - b at each quantile (response time from the intended start at a fixed "
        f"rate, service time unloaded), 95% interval ({verdicts.METHOD}), margin, requests"
    ]
    lines += [verdict_lines.verdict_line(row) for row in rows]
    if warning := verdict_lines.a_a_warning(rows):
        lines.append(warning)
    lines += curve_text(run)
    if cpu_ratio_rows(run):
        lines += ["", cpu_ratio_sentence(run)]
    if run.model.external:
        lines += ["", not_measured_sentence(run)]
    return "\n".join(lines)


def verdict_json(run: Run) -> list[dict[str, Any]]:
    """What `authbench verdict --json` prints: the paired verdicts (kind "latency"), the load
    curve's gaps (kind "latency", group "curve") and points (kind "curve"), the CPU ratios."""
    found = [row.as_json() for row in verdicts.paired_verdicts(run, quantile=None)]
    found += [row.as_json() for row in curve.gap_rows(run)]
    found += [row.as_json() for row in curve.curve_rows(run)]
    return found + [row.as_json() for row in cpu_ratio_rows(run)]


SCOPE = (
    "These intervals are about this machine and these repeats: they say how sure this run is "
    "of its own figures, not what another machine would measure. On another machine the level "
    "moves (`python -m bench compare` shows two runs side by side)."
)


def compare_rows(a: Run, b: Run) -> list[dict[str, Any]]:
    """The claim's verdicts of two runs side by side, per pair and rate present in both: each
    run's estimate and interval, and whether the intervals overlap."""

    def keyed(run: Run) -> dict[tuple, verdicts.PairVerdict]:
        group = run.model.claim
        found = verdicts.paired_verdicts(run, group=group.name) if group else []
        return {(r.a, r.b, r.rate): r for r in found}

    rows_a, rows_b = keyed(a), keyed(b)
    out = []
    for key in [k for k in rows_a if k in rows_b]:
        ra, rb = rows_a[key], rows_b[key]
        out.append(
            {
                "pair": f"{ra.a} - {ra.b}",
                "rate": ra.rate,
                "a_delta_us": ra.delta_us,
                "a_interval": f"[{ra.ci_low_us:+,.0f}, {ra.ci_high_us:+,.0f}]",
                "a_verdict": ra.verdict,
                "b_delta_us": rb.delta_us,
                "b_interval": f"[{rb.ci_low_us:+,.0f}, {rb.ci_high_us:+,.0f}]",
                "b_verdict": rb.verdict,
                "overlap": max(ra.ci_low_us, rb.ci_low_us) <= min(ra.ci_high_us, rb.ci_high_us),
                "same_verdict": ra.verdict == rb.verdict,
            }
        )
    return out


def compare_sentence(a: Run, b: Run) -> str:
    """What two runs' side-by-side rows say: the method agreeing with itself, or the machine."""
    rows = compare_rows(a, b)
    if not rows:
        return f"{a.name} and {b.name} have no paired claim comparison in common."
    same = sum(r["same_verdict"] for r in rows)
    apart = [r for r in rows if not r["overlap"]]
    machines = [run.record.environment.hostname for run in (a, b)]
    cpus = [run.record.environment.cpu_model for run in (a, b)]
    text = f"The two runs reach the same verdict in {same} of {len(rows)} comparisons."
    if apart and (machines[0] != machines[1] or cpus[0] != cpus[1]):
        text += (
            f" In {len(apart)} the intervals do not overlap, and the runs were made on "
            "different machines: the machine moved the number (each interval is about its "
            "own machine and repeats), not the method."
        )
    elif apart:
        text += (
            f" In {len(apart)} the intervals do not overlap although the machine is the "
            "same: something changed between the runs (load from other work, a change in "
            "the code or the scenario); run both again."
        )
    else:
        text += " Every pair of intervals overlaps."
    return text


def compare_text(a: Run, b: Run) -> str:
    """`python -m bench compare`: both runs' folders, the side-by-side rows, what they say."""
    rows = compare_rows(a, b)
    if not rows:
        raise ResultsError(f"{a.name} and {b.name} have no paired claim comparison in common")
    return f"a: {a.path}\nb: {b.path}\n\n{Table(rows)}\n\n{compare_sentence(a, b)}"


def runs_text(root: Path) -> str:
    """`python -m bench list`: the past runs under `root` and how they ended."""
    rows = list_runs(root)
    if not rows:
        return f"no runs under {root}/ yet: make bench"
    columns = ["path", "status", "scenario", "cells", "planned_cells", "started_at", "problem"]
    return str(Table(rows, columns))


# --------------------------------------------------------------------------------------------
# Computed sentences for the notebooks: each one from the numbers of the loaded run only.
