"""Database distance: the session server with its store 0 to 5 ms further away, paired against
JWT; where the lookup starts to dominate the response."""

from __future__ import annotations

from typing import Any

from bench.analysis import verdict_lines, verdicts
from bench.analysis.runs import STORE_NAMES, Run, cell_rows, measured_figures, median, points
from bench.results.cell_records import DbDelay


def _sweep(run: Run, store: str):
    """The distance group of `store` and its delayed session arms, found by their facts."""
    for group in run.model.groups_for("distance"):
        delayed = [
            a
            for a in group.arms
            if run.model.server(a).db_delay_ms is not None and run.model.server(a).store == store
        ]
        if delayed:
            return group, delayed
    return None, []


def distance_rows(run: Run, store: str = "postgres") -> list[dict[str, Any]]:
    """Session servers whose store (PostgreSQL, or Redis) sits behind the delay proxy: set and
    measured distance, the paired verdict against the arm they were compared with (pooled
    medians, both from the same paired cells), the auth share of the response and CPU."""
    group, delayed = _sweep(run, store)
    if group is None:
        return []
    calibrations: dict[str, list[DbDelay]] = {}
    for m in measured_figures(run):
        if m.figures.label in delayed and m.figures.db_delay:
            calibrations.setdefault(m.figures.label, []).append(m.figures.db_delay)
    by_arm = {
        r.a: r
        for r in verdicts.paired_verdicts(run, group=group.name)
        if not r.a_a
        and r.a in delayed
        and run.model.server(r.b).db_delay_ms is None
        and run.model.server(r.b).kind != "session"
    }
    fixed = {
        p["label"]: p
        for p in points(cell_rows(run))
        if p["group"] == group.name and p["model"] == "fixed_rate"
    }
    rows = []
    for label in delayed:
        v, f, cal = by_arm.get(label), fixed.get(label, {}), calibrations.get(label, [])
        rows.append(
            {
                "server": label,
                "store": store,
                "set_rtt_ms": run.model.server(label).db_delay_ms,
                "measured_rtt_ms": median(c.added_rtt_ms for c in cal),
                "rate": v.rate if v else f.get("rate"),
                "p50_us": v.a_us if v else None,
                "auth_share": (f["auth_p50_us"] / f["p50_us"])
                if f.get("auth_p50_us") and f.get("p50_us")
                else None,
                "cpu_proxy_us": f.get("cpu_delay_proxy_us"),
                "versus": v.b if v else None,
                "versus_p50_us": v.b_us if v else None,
                "delta_p50_us": v.delta_us if v else None,
                "ci_low_us": v.ci_low_us if v else None,
                "ci_high_us": v.ci_high_us if v else None,
                "margin_us": v.margin_us if v else None,
                "verdict": v.verdict if v else "not measured",
            }
        )
    return sorted(rows, key=lambda r: r["set_rtt_ms"])


def proxy_cost(run: Run, store: str = "postgres") -> verdicts.PairVerdict | None:
    """The delay proxy's own cost: the arm behind the proxy at 0 ms minus the same server
    reaching its store directly, paired (None when the run has no such pair)."""
    group, delayed = _sweep(run, store)
    if group is None:
        return None
    for r in verdicts.paired_verdicts(run, group=group.name):
        differs = group.pair(r.a, r.b).differs if group.pair(r.a, r.b) else {}
        if r.a in delayed and set(differs) == {"db_delay_ms"} and differs["db_delay_ms"][1] is None:
            return r
    return None


def distance_sentence(run: Run, store: str = "postgres") -> str:
    rows = [r for r in distance_rows(run, store) if r["p50_us"] and r["versus_p50_us"]]
    name = STORE_NAMES[store]
    if len(rows) < 2:
        return f"This run has no paired {name} distance sweep (the full scenario has one)."
    near, far = rows[0], rows[-1]
    text = (
        f"With {name} {far['measured_rtt_ms']:.2f} ms further away (set {far['set_rtt_ms']:g} ms), the "
        f"session server's median at {far['rate']:g} req/s in total rose from {near['p50_us']:,.0f} µs to "
        f"{far['p50_us']:,.0f} µs, {far['p50_us'] / far['versus_p50_us']:.1f}x the {far['versus']} "
        f"server's {far['versus_p50_us']:,.0f} µs measured beside it (pooled medians of the same cells)."
    )
    cost = proxy_cost(run, store)
    if cost is not None:
        text += (
            f" The proxy itself, at 0 ms against the same server reaching {name} directly, "
            f"added {verdict_lines.signed(cost.delta_us)} µs (interval "
            f"{verdict_lines.signed(cost.ci_low_us)} to {verdict_lines.signed(cost.ci_high_us)}): part "
            "of every delayed arm's figure, not of the distance."
        )
    dominated = next((r for r in rows if r["auth_share"] and r["auth_share"] > 0.5), None)
    if dominated:
        text += (
            f" From {dominated['measured_rtt_ms']:.2f} ms of added round trip on, the auth step (the "
            f"lookup) was more than half of the whole response ({dominated['auth_share']:.0%}, by "
            "the server's own Server-Timing)."
        )
    held = [r for r in rows if r["verdict"] == "holds"]
    if not held:
        return text + " By the paired verdict rule, the claim held at none of these distances."
    first = held[0]
    text += (
        f" By the paired verdict rule (interval above a margin of {first['margin_us']:,.0f} µs), "
        f"the claim holds from {first['measured_rtt_ms']:.2f} ms of added round trip on "
        f"({verdict_lines.signed(first['delta_p50_us'])} µs, interval {verdict_lines.signed(first['ci_low_us'])} "
        f"to {verdict_lines.signed(first['ci_high_us'])} µs)"
    )
    text += ": already at the nearest setting." if first is rows[0] else "."
    unsure = [r["server"] for r in rows if r["verdict"] not in ("holds", "no_difference")]
    if unsure:
        text += f" Inconclusive or reversed: {', '.join(unsure)}."
    return text
