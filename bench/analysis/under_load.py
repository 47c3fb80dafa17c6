"""Under load: the summary per server, latency at a fixed rate, saturation, tails, averages,
coordinated omission and the load generator's own cost; each sentence computed from the run."""

from __future__ import annotations

from typing import Any

from bench.analysis.runs import Run, at_rate, busiest_closed, cell_rows, micro_figure, points


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
                "cpu_redis_us": c.get("cpu_redis_us"),
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
                f"{label}: auth {row['auth_p50_us']:.0f} µs of a {row['p50_us']:.0f} µs median "
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
        f"The tail is far from the median: for {worst['server']}, p99.9 was {worst['p99_9_us']:,.0f} µs, "
        f"{worst['p99_9_us'] / worst['p50_us']:.1f}x its median of {worst['p50_us']:,.0f} µs."
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
        f"For {row['server']}, the mean was {row['mean_us']:,.0f} µs, yet p99 was {row['p99_us']:,.0f} µs "
        f"and the slowest request {row['max_us']:,.0f} µs ({row['max_us'] / row['mean_us']:.0f}x the mean): "
        "an average hides exactly the requests users complain about."
    )


def omission_rows(run: Run) -> list[dict[str, Any]]:
    """Fixed-rate points of the main comparison: p99 as sent against p99 from the intended start.

    Part of that gap is the load generator's own timer (gevent sleeps in whole milliseconds):
    the same for every server of a paired cell. The control server does nothing, so its gap is
    that timer alone; `beyond_timer_us` is each server's gap minus the control's at that rate.
    Late starts are totals over the repeats (whole requests, never halves).
    """
    main = [
        r
        for r in cell_rows(run)
        if r["model"] == "fixed_rate" and r["group"] in ("", "main") and not r["a_a_copy"]
        and r["corrected_p99_us"] is not None
    ]  # fmt: skip
    rows = []
    for p in points(main):
        late = sum(
            r["late_starts"] for r in main if (r["label"], r["rate"]) == (p["label"], p["rate"])
        )
        rows.append(
            {
                "server": p["label"],
                "rate": p["rate"],
                "p99_us": p["p99_us"],
                "corrected_p99_us": p["corrected_p99_us"],
                "gap_us": round(p["corrected_p99_us"] - p["p99_us"], 1),
                "late_starts": int(late),
            }
        )
    timer = {r["rate"]: r["gap_us"] for r in rows if r["server"] == "control"}
    for r in rows:
        r["beyond_timer_us"] = (
            round(r["gap_us"] - timer[r["rate"]], 1) if r["rate"] in timer else None
        )
    return sorted(rows, key=lambda r: (r["rate"], r["server"]))


def omission_sentence(run: Run) -> str:
    """What the gap between 'as sent' and 'from the intended start' says in this run: the load
    generator's timer (the control's gap) and whatever a server adds beyond it."""
    rows = omission_rows(run)
    if not rows:
        return "This run has no fixed-rate cells."
    control = [r for r in rows if r["server"] == "control"]
    others = [r for r in rows if r["beyond_timer_us"] is not None and r["server"] != "control"]
    if not control or not others:
        worst = max(rows, key=lambda r: r["gap_us"])
        return (
            f"At {worst['rate']:g} req/s, {worst['server']}'s p99 was {worst['p99_us']:,.0f} µs as sent and "
            f"{worst['corrected_p99_us']:,.0f} µs from the intended start; without a control arm this run "
            "cannot tell the load generator's timer from a stall."
        )
    timer = max(control, key=lambda r: r["gap_us"])
    worst = max(others, key=lambda r: r["beyond_timer_us"])
    text = (
        f"The control server does nothing, yet its p99 from the intended start was up to "
        f"{timer['gap_us']:,.0f} µs above its p99 as sent (at {timer['rate']:g} req/s): that gap is the "
        "load generator's own timer, the same for every server measured beside it."
    )
    # A server cannot truly come in below the control: how far any did is this run's noise.
    noise = max(0.0, -min(r["beyond_timer_us"] for r in others))
    if worst["beyond_timer_us"] > max(2 * noise, 0.1 * timer["gap_us"]):
        text += (
            f" Beyond it, {worst['server']} added {worst['beyond_timer_us']:,.0f} µs at {worst['rate']:g} req/s "
            f"({worst['late_starts']:,} requests started late over the repeats): that part is the server's "
            "own queueing, which a closed-loop tester would not see."
        )
    else:
        text += (
            f" No server's gap stood out from the control's by more than the noise between them "
            f"(servers came in up to {noise:,.0f} µs below the control, which only noise can do): at "
            "these rates nothing stalled long enough to hide from a closed-loop tester. The outage "
            "in 06-availability is a real stall."
        )
    return text


def load_generator_sentence(run: Run) -> str:
    rows = [r for r in summary_rows(run) if r["cpu_load_generator_us"] and r["cpu_server_us"]]
    control = next((r for r in rows if r["server"] == "control"), rows[0] if rows else None)
    if control is None:
        return "This run has no closed-loop CPU figures."
    return (
        f"Locust spent {control['cpu_load_generator_us']:.0f} µs of CPU per request against the "
        f"{control['server']} server, which itself spent {control['cpu_server_us']:.0f} µs "
        f"({control['cpu_load_generator_us'] / control['cpu_server_us']:.1f}x): on a small machine the "
        "load generator, not the server, runs out of CPU first."
    )


# --------------------------------------------------------------------------------------------
# Experiments: database distance, revocation and caching, algorithms, availability.


def auth_time_rows(run: Run) -> list[dict[str, Any]]:
    """The servers' own Server-Timing figure for the auth step: in-process (the micro-benchmark),
    then over HTTP one request at a time, then at each paired rate. Why the same step costs
    more on a server than in a loop: cold caches and wake-ups between requests."""
    folded = [
        p
        for p in points(cell_rows(run))
        if p["paired"] and p["group"] in ("", "main") and not p["a_a_copy"]
    ]
    in_process = {
        "jwt_auth": micro_figure(run, "jwt_verify_HS256"),
        "session": micro_figure(run, "session_lookup_unix_socket"),
    }
    rows = []
    for label in ("session", "jwt_auth"):
        mine = [p for p in folded if p["label"] == label]
        row: dict[str, Any] = {"server": label, "in_process_us": in_process[label]}
        for p in sorted(mine, key=lambda p: -1 if p["model"] == "closed" else p["rate"]):
            key = "unloaded_us" if p["model"] == "closed" else f"at_{p['rate']:g}_rps_us"
            row[key] = p["auth_p50_us"]
        if len(row) > 2:
            rows.append(row)
    return rows


def auth_time_sentence(run: Run) -> str:
    rows = {r["server"]: r for r in auth_time_rows(run)}
    jwt = rows.get("jwt_auth")
    if not jwt or jwt.get("in_process_us") is None:
        return "This run lacks the micro-benchmark or the paired cells needed to compare."
    loaded = {k: v for k, v in jwt.items() if k.startswith("at_") and v is not None}
    if not loaded:
        return "This run has no paired cells at a fixed rate."
    busiest = max(loaded, key=lambda k: float(k[3:].split("_")[0]))
    text = (
        f"Verifying a JWT took {jwt['in_process_us']:.0f} µs in a tight loop in one process, "
        f"{jwt.get('unloaded_us') or float('nan'):.0f} µs on the server one request at a time, and "
        + ", ".join(f"{v:.0f} µs at {k[3:].split('_')[0]} req/s" for k, v in loaded.items())
        + " (medians of the server's own Server-Timing)."
    )
    ratio = loaded[busiest] / jwt["in_process_us"]
    quietest = min(loaded, key=lambda k: float(k[3:].split("_")[0]))
    if ratio > 1.5:
        text += (
            f" Even at the busiest rate the step cost {ratio:.1f}x its in-process figure: a tight loop "
            "keeps everything in cache, a server handles other work in between."
        )
    else:
        text += " At the busiest rate it cost about what it costs in a tight loop."
    if loaded[quietest] > 1.3 * loaded[busiest]:
        text += (
            f" And the quieter the server, the slower the same step ({loaded[quietest]:.0f} µs at "
            f"{quietest[3:].split('_')[0]} req/s), consistent with caches going cold and the core "
            "idling between requests (not measured here)."
        )
    return text
