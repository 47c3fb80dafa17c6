"""Under load: the summary per server, latency at a fixed rate, saturation, tails, averages,
coordinated omission and the load generator's own cost; each sentence computed from the run."""

from __future__ import annotations

from typing import Any

from bench.analysis.core import Run, _count, at_rate, busiest_closed, cell_rows, points


def summary_rows(run: Run) -> list[dict[str, Any]]:
    """Per server label: saturation, CPU per request by process, latency at the reference rate."""
    closed, fixed = busiest_closed(run), at_rate(run)
    rows = []
    for label in run.labels:
        c, f = closed.get(label, {}), fixed.get(label, {})
        service = c.get("cpu_service_us")
        rows.append(
            {
                "server": label,
                "closed_users": c.get("users"),
                "closed_rps": c.get("ok_rps"),
                "rps_per_core": round(1e6 / service) if service else None,
                "cpu_server_us": c.get("cpu_server_us"),
                "cpu_postgres_us": c.get("cpu_postgres_us"),
                "cpu_load_generator_us": c.get("cpu_load_generator_us"),
                "rate": f.get("rate"),
                "p50_us": f.get("p50_us"),
                "p99_us": f.get("p99_us"),
                "corrected_p99_us": f.get("corrected_p99_us"),
                "auth_p50_us": f.get("auth_p50_us"),
                "load_generator_bound": bool(
                    c.get("load_generator_bound") or f.get("load_generator_bound")
                ),
            }
        )
    return rows


def fixed_rate_rows(run: Run, rate: float | None = None) -> list[dict[str, Any]]:
    points_at = at_rate(run, rate)
    return [
        {
            "server": label,
            "rate": p["rate"],
            "p50_us": p["p50_us"],
            "p99_us": p["p99_us"],
            "p99_9_us": p["p99_9_us"],
            "auth_p50_us": p["auth_p50_us"],
            "cpu_service_us": p["cpu_service_us"],
            "repeats": p["repeats"],
            "p50_spread_us": p["p50_spread_us"],
        }
        for label, p in points_at.items()
    ]


def auth_share_sentence(run: Run, rate: float | None = None) -> str:
    """How much of the median response the server itself reports as auth (Server-Timing)."""
    rows = {r["server"]: r for r in fixed_rate_rows(run, rate)}
    parts = []
    for label in ("session", "jwt_auth"):
        row = rows.get(label)
        if row and row["auth_p50_us"] is not None and row["p50_us"]:
            parts.append(
                f"{label}: auth {row['auth_p50_us']:.0f} us of a {row['p50_us']:.0f} us median "
                f"({row['auth_p50_us'] / row['p50_us']:.0%})"
            )
    if not parts:
        return "This run has no Server-Timing figures at a fixed rate."
    return "By the servers' own Server-Timing, " + "; ".join(parts) + "."


def saturation_sentence(run: Run) -> str:
    rows = [r for r in summary_rows(run) if r["rps_per_core"]]
    if not rows:
        return "This run has no closed-loop cells."
    best = max(rows, key=lambda r: r["rps_per_core"])
    worst = min(rows, key=lambda r: r["rps_per_core"])
    text = (
        f"Per core of server plus database, {best['server']} could serve about {best['rps_per_core']:,} "
        f"requests per second and {worst['server']} about {worst['rps_per_core']:,} "
        f"({best['rps_per_core'] / worst['rps_per_core']:.1f}x)."
    )
    bound = [r["server"] for r in rows if r["load_generator_bound"]]
    if bound:
        whose = "its" if len(bound) == 1 else "their"
        text += (
            f" The load generator was the bottleneck for {', '.join(bound)}: {whose} measured req/s "
            "is Locust's limit, which is why CPU per request is the figure to compare."
        )
    return text


def tail_sentence(run: Run, rate: float | None = None) -> str:
    rows = [r for r in fixed_rate_rows(run, rate) if r["p50_us"] and r["p99_9_us"]]
    if not rows:
        return "This run has no fixed-rate cells."
    worst = max(rows, key=lambda r: r["p99_9_us"] / r["p50_us"])
    return (
        f"The tail is far from the median: for {worst['server']}, p99.9 was {worst['p99_9_us']:,.0f} us, "
        f"{worst['p99_9_us'] / worst['p50_us']:.1f}x its median of {worst['p50_us']:,.0f} us."
    )


def averages_rows(run: Run, rate: float | None = None) -> list[dict[str, Any]]:
    return [
        {
            "server": label,
            "mean_us": p["mean_us"],
            "p50_us": p["p50_us"],
            "p99_us": p["p99_us"],
            "max_us": p["max_us"],
        }
        for label, p in at_rate(run, rate).items()
    ]


def averages_sentence(run: Run, rate: float | None = None) -> str:
    rows = [r for r in averages_rows(run, rate) if r["mean_us"] and r["p99_us"]]
    if not rows:
        return "This run has no fixed-rate cells."
    row = max(rows, key=lambda r: r["max_us"] / r["mean_us"])
    return (
        f"For {row['server']}, the mean was {row['mean_us']:,.0f} us, yet p99 was {row['p99_us']:,.0f} us "
        f"and the slowest request {row['max_us']:,.0f} us ({row['max_us'] / row['mean_us']:.0f}x the mean): "
        "an average hides exactly the requests users complain about."
    )


def omission_rows(run: Run) -> list[dict[str, Any]]:
    """Fixed-rate points: service time versus latency from the intended start."""
    rows = []
    for p in points(cell_rows(run)):
        if p["model"] != "fixed_rate" or p["corrected_p99_us"] is None:
            continue
        rows.append(
            {
                "server": p["label"],
                "rate": p["rate"],
                "ok_rps": p["ok_rps"],
                "p99_us": p["p99_us"],
                "corrected_p99_us": p["corrected_p99_us"],
                "hidden_us": round(p["corrected_p99_us"] - p["p99_us"], 1),
                "late_starts": p["late_starts"],
            }
        )
    return sorted(rows, key=lambda r: (r["server"], r["rate"]))


def omission_sentence(run: Run) -> str:
    rows = omission_rows(run)
    if not rows:
        return "This run has no fixed-rate cells."
    row = max(rows, key=lambda r: r["corrected_p99_us"] / max(r["p99_us"], 1))
    return (
        f"At {row['rate']:g} req/s, {row['server']}'s p99 looked like {row['p99_us']:,.0f} us when timed "
        f"from when each request was sent, but {row['corrected_p99_us']:,.0f} us when timed from when it "
        f"should have been sent ({row['corrected_p99_us'] / max(row['p99_us'], 1):.1f}x): "
        f"{_count(row['late_starts'], 'request')} could not even start on time. A closed-loop tester never "
        "sees that wait, because it simply sends less while the server is slow."
    )


def load_generator_sentence(run: Run) -> str:
    rows = [r for r in summary_rows(run) if r["cpu_load_generator_us"] and r["cpu_server_us"]]
    control = next((r for r in rows if r["server"] == "control"), rows[0] if rows else None)
    if control is None:
        return "This run has no closed-loop CPU figures."
    return (
        f"Locust spent {control['cpu_load_generator_us']:.0f} us of CPU per request against the "
        f"{control['server']} server, which itself spent {control['cpu_server_us']:.0f} us "
        f"({control['cpu_load_generator_us'] / control['cpu_server_us']:.1f}x): on a small machine the "
        "load generator, not the server, runs out of CPU first."
    )


# --------------------------------------------------------------------------------------------
# Experiments: database distance, revocation and caching, algorithms, availability.
