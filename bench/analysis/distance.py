"""Database distance: the session server with its store 0 to 5 ms further away, paired against
JWT; where the lookup starts to dominate the response."""

from __future__ import annotations

from typing import Any

from bench.analysis import verdicts
from bench.analysis.runs import (
    STORE_NAMES,
    Run,
    at_rate,
    busiest_closed,
    measured_figures,
    median,
    server_spec,
    store_of,
)

DISTANCE_GROUPS = {"postgres": "distance", "redis": "redis_distance"}


def distance_rows(run: Run, store: str = "postgres") -> list[dict[str, Any]]:
    """Session servers whose store (PostgreSQL, or Redis) sits behind the delay proxy: set and
    measured distance, latency, CPU, and the paired verdict against JWT (notebook 01's rule)."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for _, figures, _ in measured_figures(run):
        if figures.get("db_delay") and store_of(server_spec(run, figures["label"])) == store:
            by_label.setdefault(figures["label"], []).append(figures)
    group = DISTANCE_GROUPS[store]
    by_arm = {r.a: r for r in verdicts.paired_verdicts(run, group=group) if not r.a_a}
    fixed, closed = at_rate(run), busiest_closed(run)
    rows = []
    for label, measured in by_label.items():
        f, c, v = fixed.get(label, {}), closed.get(label, {}), by_arm.get(label)
        rows.append(
            {
                "server": label,
                "store": store,
                "set_rtt_ms": measured[0]["db_delay"]["set_rtt_ms"],
                "measured_rtt_ms": median(x["db_delay"]["added_rtt_ms"] for x in measured),
                "rate": f.get("rate"),
                "p50_us": f.get("p50_us"),
                "p99_us": f.get("p99_us"),
                "auth_p50_us": f.get("auth_p50_us"),
                "cpu_service_us": c.get("cpu_service_us"),
                "versus": v.b if v else None,
                "versus_p50_us": v.b_p50_us if v else None,
                "delta_p50_us": v.delta_p50_us if v else None,
                "ci_low_us": v.ci_low_us if v else None,
                "ci_high_us": v.ci_high_us if v else None,
                "margin_us": v.margin_us if v else None,
                "verdict": v.verdict if v else "not measured",
            }
        )
    return sorted(rows, key=lambda r: r["set_rtt_ms"])


def distance_sentence(run: Run, store: str = "postgres") -> str:
    rows = [r for r in distance_rows(run, store) if r["p50_us"] and r["versus_p50_us"]]
    name = STORE_NAMES[store]
    if len(rows) < 2:
        return f"This run has no paired {name} distance sweep (the full scenario has one)."
    near, far = rows[0], rows[-1]
    jwt = far["versus_p50_us"]
    text = (
        f"With {name} {far['measured_rtt_ms']:.2f} ms further away (set {far['set_rtt_ms']:g} ms), the "
        f"session server's median at {far['rate']:g} req/s in total rose from {near['p50_us']:,.0f} µs to "
        f"{far['p50_us']:,.0f} µs, {far['p50_us'] / jwt:.1f}x the {far['versus']} server's {jwt:,.0f} µs "
        "measured beside it."
    )
    dominated = next(
        (r for r in rows if r["auth_p50_us"] and r["auth_p50_us"] > r["p50_us"] / 2), None
    )
    if dominated:
        text += (
            f" From {dominated['measured_rtt_ms']:.2f} ms of added round trip on, the auth step (the lookup) "
            f"was more than half of the whole response ({dominated['auth_p50_us']:,.0f} of "
            f"{dominated['p50_us']:,.0f} µs)."
        )
    held = [r for r in rows if r["verdict"] == "holds"]
    if not held:
        text += " By the paired verdict rule, the claim held at none of these distances."
    else:
        first = held[0]
        text += (
            f" By the paired verdict rule (interval above a margin of {first['margin_us']:,.0f} µs), "
            f"the claim holds from {first['measured_rtt_ms']:.2f} ms of added round trip on "
            f"({first['delta_p50_us']:+,.0f} µs, interval {first['ci_low_us']:+,.0f} to "
            f"{first['ci_high_us']:+,.0f} µs)"
        )
        if first is rows[0]:
            text += (
                f": already at the nearest setting, where the proxy adds only its own hop "
                f"({first['measured_rtt_ms']:.2f} ms)."
            )
        else:
            text += "."
        unsure = [r["server"] for r in rows if r["verdict"] not in ("holds", "no_difference")]
        if unsure:
            text += f" Undecided or reversed: {', '.join(unsure)}."
    return text
