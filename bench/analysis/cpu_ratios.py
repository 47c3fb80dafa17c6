"""CPU per request of the headline pair, by role and at stated load, and the verdict on their ratio.

Two figures, never mixed: the **server process** alone (what the app server's cores do per
request) and the **server plus its store** (adding the PostgreSQL backends or Redis that served
that server's requests). Each is measured at every load the run has: each server alone in
closed loop (the busiest the harness can make a server), and at each fixed rate of the paired
groups (both arms measured in the same cell). A server that idles between requests spends
more per request (wake-ups, cold caches), so a figure is only meaningful with the load it was
measured at, which every row carries: requests per second and how busy the servers' core was.
Each figure is the geometric mean over the repeats, so that a_us / b_us is the ratio itself.

The ratio a/b gets the same rule as latency: a t interval over the per-repeat ratios (on their
logarithm), against a margin of the group's margin fraction: `more` (the interval lies above
1 + margin), `less` (below 1 / (1 + margin)), `no_difference` (inside both), else
`inconclusive`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from bench.analysis.intervals import RATIO_METHOD, ratio_interval
from bench.analysis.runs import Run, cell_rows, median, without_timing

WHAT = {"server": "server process", "service": "server plus its store"}
CPU_VERDICTS = ("more", "less", "no_difference", "inconclusive")


@dataclass(frozen=True)
class CpuRatio:
    what: str
    load: str
    model: str  # "closed" (each server alone) or "paired" (the arms at once, at a fixed rate)
    rate: float | None
    users: int
    a: str
    b: str
    a_us: float
    b_us: float
    a_rps: float
    b_rps: float
    cores_busy: float | None
    ratio: float
    ci_low: float
    ci_high: float
    margin: float
    verdict: str
    repeats: int
    kind: str = "cpu_ratio"
    method: str = RATIO_METHOD

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json(self) -> dict[str, Any]:
        """The row as `authbench verdict --json` gives it: the keys of JSON_KEYS, in order."""
        found = self.as_dict()
        return {k: found[k] for k in JSON_KEYS}


# What `authbench verdict --json` gives of a CPU ratio, in this order (verdicts.JSON_KEYS: the
# same for a latency verdict).
JSON_KEYS = (
    "kind",
    "what",
    "load",
    "model",
    "rate",
    "users",
    "a",
    "b",
    "a_us",
    "b_us",
    "ratio",
    "ci_low",
    "ci_high",
    "margin",
    "verdict",
    "repeats",
    "cores_busy",
    "method",
)


def decide_ratio(low: float, high: float, margin: float) -> str:
    if low != low or high != high:  # nan: one repeat
        return "inconclusive"
    if low > 1 + margin:
        return "more"
    if high < 1 / (1 + margin):
        return "less"
    if 1 / (1 + margin) <= low and high <= 1 + margin:
        return "no_difference"
    return "inconclusive"


def _load(model: str, users: int, rate: float | None) -> str:
    if model == "closed":
        return f"closed loop, {users} users, each server alone"
    return f"{rate:g} req/s in total, arms at once"


def cpu_ratio_rows(run: Run) -> list[CpuRatio]:
    """The headline pair of the claim group, a over b, per role and load point."""
    group = run.model.claim
    if group is None:
        return []
    a, b = group.headline.a, group.headline.b
    points: dict[tuple, dict[int, dict[str, dict]]] = {}
    for row in cell_rows(run):
        paired = row["paired"] and row["group"] == group.name and row["model"] == "fixed_rate"
        alone = row["model"] == "closed" and not row["paired"]
        if row["label"] in (a, b) and (paired or alone):
            key = ("paired" if paired else "closed", row["users"], row["rate"])
            points.setdefault(key, {}).setdefault(row["repeat"], {})[row["label"]] = row
    rows = []
    for (model, users, rate), by_repeat in sorted(points.items(), key=_order):
        both = [v for _, v in sorted(by_repeat.items()) if a in v and b in v]
        for role, what in WHAT.items():
            xs = [v[a][f"cpu_{role}_us"] for v in both]
            ys = [v[b][f"cpu_{role}_us"] for v in both]
            found = ratio_interval(xs, ys, run.model.thresholds.confidence)
            if found is None:
                continue
            ratio, low, high, repeats = found
            rows.append(
                CpuRatio(
                    what=what,
                    load=_load(model, users, rate),
                    model=model,
                    rate=rate,
                    users=users,
                    a=a,
                    b=b,
                    a_us=round(_geomean(xs), 1),
                    b_us=round(_geomean(ys), 1),
                    a_rps=median(v[a]["ok_rps"] for v in both),
                    b_rps=median(v[b]["ok_rps"] for v in both),
                    cores_busy=median(v[a].get("cores_busy") for v in both),
                    ratio=ratio,
                    ci_low=low,
                    ci_high=high,
                    margin=group.margin_fraction,
                    verdict=decide_ratio(low, high, group.margin_fraction),
                    repeats=repeats,
                )
            )
    return rows


def _geomean(values) -> float:
    """The geometric mean: with it, a_us / b_us is exactly the ratio the interval is about."""
    present = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in present) / len(present)) if present else float("nan")


def _order(item) -> tuple:
    (model, users, rate), _ = item
    return (model != "closed", rate or 0, users)


def _words(row: CpuRatio) -> str:
    interval = (
        f"{row.ratio:.2f}x, 95% interval {row.ci_low:.2f}x to {row.ci_high:.2f}x over "
        f"{row.repeats} repeats"
        if row.repeats > 1
        else f"{row.ratio:.2f}x, one repeat"
    )
    judged = {
        "more": f"{row.a} costs more, by more than the {row.margin:.0%} margin",
        "less": f"{row.a} costs less, by more than the {row.margin:.0%} margin",
        "no_difference": f"no difference beyond the {row.margin:.0%} margin",
    }.get(row.verdict, "inconclusive: the interval crosses the margin")
    return f"{row.a} {row.a_us:,.0f} µs against {row.b} {row.b_us:,.0f} µs ({interval}): {judged}"


def cpu_ratio_sentence(run: Run) -> str:
    """CPU per request at the busiest load the run has, server process and with the store, each
    judged by the rule, with the load it was measured at."""
    rows = cpu_ratio_rows(run)
    if not rows:
        return "This run has no CPU figures for the claim's pair: CPU per request not measured."
    closed = [r for r in rows if r.model == "closed"] or rows
    busiest = max(closed, key=lambda r: (r.cores_busy or 0, r.a_rps))
    chosen = {
        r.what: r
        for r in closed
        if (r.model, r.users, r.rate) == (busiest.model, busiest.users, busiest.rate)
    }
    busy = f", the servers' core {busiest.cores_busy:.0%} busy" if busiest.cores_busy else ""
    text = (
        f"CPU per request ({busiest.load}, {busiest.a} at {busiest.a_rps:,.0f} req/s{busy}): "
        f"the server process alone, {_words(chosen[WHAT['server']])}"
    )
    if WHAT["service"] in chosen:
        text += f"; with its store's own work, {_words(chosen[WHAT['service']])}"
    return text + "."


def _names(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def not_measured_sentence(run: Run) -> str:
    """What this run could not measure because some arms were external (deployments reached at
    their URL, started by no one here): their CPU per request and their stores', how busy their
    servers were, and their auth time where their answers carried no Server-Timing."""
    outside = run.model.external
    if not outside:
        return ""
    urls = ", ".join(f"{label} at {run.model.server(label).url}" for label in outside)
    text = (
        f"Not measured: the CPU per request of {_names(outside)} and of their stores, and how "
        f"busy their servers were (external arms: {urls}; their processes run where the harness "
        "cannot read their CPU, so no CPU ratio or capacity extrapolation is given for them, "
        "only the closed loop's achieved rate as a lower bound)"
    )
    untimed = without_timing(run)
    if untimed:
        text += f"; the auth time of {_names(untimed)} (their answers carried no Server-Timing)"
    return text + "."
