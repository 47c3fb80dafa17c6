"""Rows shown as text (stdout) or HTML (notebooks), and the summary printed after a run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.analysis import verdicts
from bench.analysis.runs import Run, saturated_fraction
from bench.analysis.under_load import summary_rows
from bench.analysis.verdicts import cpu_ratio_sentence


class Table:
    """Rows shown as text (stdout) or HTML (notebooks); None shows as a dash."""

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
    "p50_us": "p50 µs",
    "p99_us": "p99 µs",
    "corrected_p99_us": "p99 µs (from intended start)",
    "load_generator_bound": "locust bound",
}


def summary_table(run: Run) -> Table:
    return Table(summary_rows(run), list(SUMMARY_HEADERS), SUMMARY_HEADERS)


def summary_text(run: Run) -> str:
    lines = [str(summary_table(run))]
    rows = verdicts.paired_verdicts(run)
    if rows:
        lines += ["", "Paired verdicts (a - b, median, 95% interval, margin, verdict):"]
        lines += [verdicts.verdict_line(row) for row in rows]
        if warning := verdicts.a_a_warning(rows):
            lines += ["", warning]
    if {"session", "jwt_auth"} <= set(run.labels):
        lines += ["", cpu_ratio_sentence(run)]
    if any(r["load_generator_bound"] for r in summary_rows(run)):
        lines.append(
            f"'locust bound': the load generator used over {saturated_fraction(run):.0%} of a core in that cell; its "
            "req/s says more about Locust than the server (compare CPU per request instead)."
        )
    return "\n".join(lines)


def compare_rows(a: Run, b: Run) -> list[dict[str, Any]]:
    """Per server label present in both runs: the summary figures side by side, b / a."""
    rows_a = {r["server"]: r for r in summary_rows(a)}
    rows_b = {r["server"]: r for r in summary_rows(b)}
    out = []
    for label in [lbl for lbl in rows_a if lbl in rows_b]:
        ra, rb = rows_a[label], rows_b[label]
        row = {"server": label}
        for key in ("rps_per_core", "cpu_server_us", "cpu_postgres_us", "p50_us", "p99_us"):
            row[f"{key}_a"], row[f"{key}_b"] = ra[key], rb[key]
            row[f"{key}_ratio"] = (
                round(rb[key] / ra[key], 2) if ra[key] and rb[key] is not None else None
            )
        out.append(row)
    return out


# --------------------------------------------------------------------------------------------
# Computed sentences for the notebooks: each one from the numbers of the loaded run only.
