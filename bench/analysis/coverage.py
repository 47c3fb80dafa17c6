"""Do the intervals earn their name? Coverage measured across repeated runs of one scenario.

Three measures, over runs of the same scenario on the same machine:
- **A/A coverage**: the share of A/A rows (a server against a copy of itself, where the truth
  is zero) whose interval contains zero. A 95% interval should, about 95% of the time.
- **Overlap of consecutive runs**: for the claim's headline pair at every rate, and for its CPU
  ratios, the share of consecutive runs whose intervals overlap. Two honest 95% intervals of
  the same quantity overlap far more often than 95% of the time; failing to is a sign that the
  intervals are narrower than the run-to-run truth.
- **Spread against width**: the standard deviation of the estimates between runs against the
  standard error the intervals imply (half-width over the method's quantile: Student's t with
  repeats - 1 degrees of freedom, or 1.96 for the bootstrap): near 1 when honest, above 1 when
  the intervals are too narrow.
Each is computed for the method in use and for the hierarchical bootstrap used before it.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scipy import stats

from bench.analysis.cpu_ratios import cpu_ratio_rows
from bench.analysis.intervals import bootstrap_ratio_of_means, hierarchical_bootstrap
from bench.analysis.latency_files import paired_data
from bench.analysis.runs import Run, cell_rows
from bench.analysis.verdicts import paired_verdicts
from bench.results import ResultsError

NORMAL_97_5 = 1.96


def _bootstrap_rows(run: Run) -> list[dict[str, Any]]:
    """Every pair the verdicts have, with the old method's interval instead."""
    data = paired_data(run)
    rows = []
    for r in paired_verdicts(run):
        cells = data[(r.group, r.rate)]
        repeats = [cells[k] for k in sorted(cells) if r.a in cells[k] and r.b in cells[k]]
        delta, low, high = hierarchical_bootstrap(
            [x[r.a] for x in repeats], [x[r.b] for x in repeats]
        )
        rows.append(
            {
                "a": r.a,
                "b": r.b,
                "rate": r.rate,
                "a_a": r.a_a,
                "group": r.group,
                "question": r.question,
                "delta": delta,
                "low": low,
                "high": high,
                "quantile": NORMAL_97_5,
            }
        )
    return rows


def _current_rows(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "a": r.a,
            "b": r.b,
            "rate": r.rate,
            "a_a": r.a_a,
            "group": r.group,
            "question": r.question,
            "delta": r.delta_us,
            "low": r.ci_low_us,
            "high": r.ci_high_us,
            "quantile": float(stats.t.ppf(0.975, r.repeats - 1)),
        }
        for r in paired_verdicts(run)
        if r.repeats > 1
    ]


METHODS = {
    "t over repeats (in use)": _current_rows,
    "hierarchical bootstrap (before)": _bootstrap_rows,
}


def _overlap(x: dict[str, Any], y: dict[str, Any]) -> bool:
    return max(x["low"], y["low"]) <= min(x["high"], y["high"])


def coverage(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per method: A/A coverage, overlaps of consecutive runs, spread against width."""
    found = []
    for method, rows_of in METHODS.items():
        per_run = [[r for r in rows_of(run) if r["question"] == "claim"] for run in runs]
        a_a = [r for rows in per_run for r in rows if r["a_a"]]
        heads = [
            {
                (r["a"], r["b"], r["rate"]): r
                for r in rows
                if not r["a_a"] and (r["a"], r["b"]) == _head(run)
            }
            for run, rows in zip(runs, per_run, strict=True)
        ]
        pairs = [(x[k], y[k]) for x, y in itertools.pairwise(heads) for k in x if k in y]
        ratios = _ratio_overlaps(runs, current=method.endswith("(in use)"))
        found.append(
            {
                "method": method,
                "runs": len(runs),
                "a_a_rows": len(a_a),
                "a_a_contain_zero": _share([r["low"] <= 0 <= r["high"] for r in a_a]),
                "latency_pairs": len(pairs),
                "latency_overlap": _share([_overlap(x, y) for x, y in pairs]),
                "cpu_pairs": len(ratios),
                "cpu_overlap": _share(ratios) if ratios else None,
                "spread_over_width": _spread_over_width(heads),
            }
        )
    return found


# The shares `authbench coverage` shows as percentages: 95%, not a rounded 0.9.
SHARES = ("a_a_contain_zero", "latency_overlap", "cpu_overlap")


def complete_runs_of(runs: Sequence[Run], scenario: str) -> list[Run]:
    """The complete runs of `scenario` (its name, or the path of its .toml) among `runs`, the
    runs coverage compares; ResultsError when there are fewer than two."""
    found = [
        r
        for r in runs
        if r.record.status == "complete" and r.record.scenario.name == Path(scenario).stem
    ]
    if len(found) < 2:
        raise ResultsError(
            f"coverage needs at least two complete runs of the {scenario} "
            f"scenario, found {len(found)}"
        )
    return found


def coverage_shown(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """The rows of `coverage`, its shares as percentages: what `authbench coverage` prints."""
    return [
        {k: f"{v:.0%}" if k in SHARES and v is not None else v for k, v in row.items()}
        for row in coverage(runs)
    ]


def _head(run: Run) -> tuple[str, str]:
    group = run.model.claim
    return (group.headline.a, group.headline.b) if group else ("", "")


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def _ratio_intervals(run: Run, current: bool) -> dict[tuple, tuple[float, float]]:
    found = {}
    for r in cpu_ratio_rows(run):
        key = (r.what, r.model, r.rate, r.users)
        if current:
            found[key] = (r.ci_low, r.ci_high)
        else:
            xs, ys = _per_repeat_cpu(run, r)
            found[key] = bootstrap_ratio_of_means(xs, ys)[1:]
    return found


def _per_repeat_cpu(run: Run, row) -> tuple[list[float], list[float]]:
    role = "server" if row.what == "server process" else "service"
    by_repeat: dict[int, dict[str, float]] = {}
    for r in cell_rows(run):
        same = (
            r["model"] == "closed"
            and not r["paired"]
            and row.model == "closed"
            and r["users"] == row.users
        ) or (
            r["paired"]
            and row.model == "paired"
            and r["rate"] == row.rate
            and r["group"] == run.model.claim.name
        )
        if same and r["label"] in (row.a, row.b):
            by_repeat.setdefault(r["repeat"], {})[r["label"]] = r[f"cpu_{role}_us"]
    both = [v for v in by_repeat.values() if row.a in v and row.b in v]
    return [v[row.a] for v in both], [v[row.b] for v in both]


def _ratio_overlaps(runs: Sequence[Run], current: bool) -> list[bool]:
    keyed = [_ratio_intervals(run, current) for run in runs]
    flags = []
    for x, y in itertools.pairwise(keyed):
        for key in x.keys() & y.keys():
            flags.append(max(x[key][0], y[key][0]) <= min(x[key][1], y[key][1]))
    return flags


def _spread_over_width(heads: list[dict[tuple, dict[str, Any]]]) -> float | None:
    """Median over rates of SD(estimates between runs) / mean implied standard error."""
    ratios = []
    for key in set().union(*heads) if heads else ():
        mine = [h[key] for h in heads if key in h]
        if len(mine) < 3:
            continue
        spread = statistics.stdev(r["delta"] for r in mine)
        implied = statistics.mean((r["high"] - r["low"]) / 2 / r["quantile"] for r in mine)
        if implied > 0:
            ratios.append(spread / implied)
    return round(statistics.median(ratios), 2) if ratios else None
