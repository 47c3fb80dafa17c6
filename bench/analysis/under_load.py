"""Under load: the summary per server, latency at a fixed rate, saturation, tails, averages,
coordinated omission and the load generator's own cost; each sentence computed from the run.

The claim group (the paired group that answers the article's question) is what these read: its
arms by role (its headline pair, its control found by kind), never by label.
"""

from __future__ import annotations

from typing import Any

from bench.analysis.runs import Run, at_rate, busiest_closed, cell_rows, micro_figure, points


def claim_arms(run: Run) -> list[str]:
    """The claim group's arms, A/A copy left out; [] without one."""
    group = run.model.claim
    return [a for a in group.arms] if group else []


def _control(run: Run) -> str | None:
    return next((a for a in claim_arms(run) if run.model.server(a).kind == "control"), None)


def summary_rows(run: Run) -> list[dict[str, Any]]:
    """Per server label: saturation, CPU per request by process, and at the reference rate the
    response time (from the intended start) with the service time's p99 beside it."""
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
                "p50_us": f.get("corrected_p50_us", f.get("p50_us")),
                "p99_us": f.get("corrected_p99_us", f.get("p99_us")),
                "service_p99_us": f.get("p99_us"),
                "auth_p50_us": f.get("auth_p50_us"),
                "load_generator_bound": bool(
                    c.get("load_generator_bound") or f.get("load_generator_bound")
                ),
            }
        )
    return rows


def fixed_rate_rows(run: Run, rate: float | None = None) -> list[dict[str, Any]]:
    """The claim group's arms at one rate (the reference rate by default), folded over repeats
    (medians of the per-repeat figures, with their spread): response time, from each request's
    intended start, as the verdicts judge it; the auth step's share is of that median."""
    points_at = at_rate(run, rate)
    return [
        {
            "server": label,
            "rate": p["rate"],
            "p50_us": p["corrected_p50_us"],
            "p99_us": p["corrected_p99_us"],
            "p99_9_us": p.get("corrected_p99_9_us"),
            "auth_p50_us": p["auth_p50_us"],
            "auth_share": round(p["auth_p50_us"] / p["corrected_p50_us"], 3)
            if p["auth_p50_us"] is not None and p["corrected_p50_us"]
            else None,
            "cpu_server_us": p["cpu_server_us"],
            "cpu_service_us": p["cpu_service_us"],
            "repeats": p["repeats"],
            "p50_spread_us": p.get("corrected_p50_spread_us"),
        }
        for label in claim_arms(run)
        if (p := points_at.get(label))
    ]


def auth_share_sentence(run: Run, rate: float | None = None) -> str:
    """How much of the median response the server itself reports as auth (Server-Timing), for
    the claim's headline pair; the same figures as the table beside it."""
    group = run.model.claim
    rows = {r["server"]: r for r in fixed_rate_rows(run, rate)}
    parts = []
    for label in (group.headline.a, group.headline.b) if group else ():
        row = rows.get(label)
        if row and row["auth_share"] is not None:
            parts.append(
                f"{label}: auth {row['auth_p50_us']:.0f} µs of a {row['p50_us']:.0f} µs "
                f"median ({row['auth_share']:.0%})"
            )
    if not parts:
        return "This run has no Server-Timing figures at a fixed rate."
    return "By the servers' own Server-Timing, " + "; ".join(parts) + "."


def saturation_sentence(run: Run) -> str:
    rows = [r for r in summary_rows(run) if r["rps_per_core"]]
    if not rows:
        return "This run has no closed-loop cells with their CPU measured."
    best = max(rows, key=lambda r: r["rps_per_core"])
    worst = min(rows, key=lambda r: r["rps_per_core"])
    text = (
        f"Per core of server plus database, {best['server']} could serve about "
        f"{best['rps_per_core']:,} requests per second and {worst['server']} about "
        f"{worst['rps_per_core']:,} ({best['rps_per_core'] / worst['rps_per_core']:.1f}x)."
    )
    bound = [r["server"] for r in rows if r["load_generator_bound"]]
    if bound:
        whose = "its" if len(bound) == 1 else "their"
        text += (
            f" The load generator was the bottleneck for {', '.join(bound)}: {whose} measured "
            "req/s is Locust's limit, which is why CPU per request is the figure to compare."
        )
    return text


def tail_sentence(run: Run, rate: float | None = None) -> str:
    rows = [r for r in fixed_rate_rows(run, rate) if r["p50_us"] and r["p99_9_us"]]
    if not rows:
        return "This run has no fixed-rate cells."
    worst = max(rows, key=lambda r: r["p99_9_us"] / r["p50_us"])
    ratio = worst["p99_9_us"] / worst["p50_us"]
    far = "far from" if ratio >= 3 else "close to"
    return (
        f"The tail is {far} the median: for {worst['server']}, p99.9 was "
        f"{worst['p99_9_us']:,.0f} µs, {ratio:.1f}x its median of {worst['p50_us']:,.0f} µs."
    )


def averages_rows(run: Run, rate: float | None = None) -> list[dict[str, Any]]:
    """The claim group's arms at one rate: mean, median, p99 and slowest response time."""
    at = at_rate(run, rate)
    return [
        {
            "server": label,
            "mean_us": p.get("corrected_mean_us"),
            "p50_us": p["corrected_p50_us"],
            "p99_us": p["corrected_p99_us"],
            "max_us": p["corrected_max_us"],
        }
        for label in claim_arms(run)
        if (p := at.get(label))
    ]


def averages_sentence(run: Run, rate: float | None = None) -> str:
    rows = [r for r in averages_rows(run, rate) if r["mean_us"] and r["p99_us"]]
    if not rows:
        return "This run has no fixed-rate cells."
    row = max(rows, key=lambda r: r["max_us"] / r["mean_us"])
    hides = row["max_us"] / row["mean_us"] >= 3
    return (
        f"For {row['server']}, the mean was {row['mean_us']:,.0f} µs, p99 {row['p99_us']:,.0f} µs "
        f"and the slowest request {row['max_us']:,.0f} µs ({row['max_us'] / row['mean_us']:.0f}x "
        "the mean)"
        + (
            ": an average hides exactly the requests users complain about."
            if hides
            else ": here the mean happens to say most of it, which a skewed run would not."
        )
    )


def omission_rows(run: Run) -> list[dict[str, Any]]:
    """Fixed-rate points of the claim group: p99 as sent against p99 from the intended start.

    Part of that gap is the load generator's own timer: the same for every server of a paired
    cell. The control does nothing, so its gap is that timer alone; `beyond_timer_us` is each
    server's gap minus the control's at that rate. Late starts are totals over the repeats.
    """
    group = run.model.claim
    arms = set(claim_arms(run))
    main = [
        r
        for r in cell_rows(run)
        if group
        and r["model"] == "fixed_rate"
        and r["group"] == group.name
        and r["label"] in arms
        and r["corrected_p99_us"] is not None
    ]
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
    control = _control(run)
    timer = {r["rate"]: r["gap_us"] for r in rows if r["server"] == control}
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
    control = _control(run)
    timers = [r for r in rows if r["server"] == control]
    others = [r for r in rows if r["beyond_timer_us"] is not None and r["server"] != control]
    if not timers or not others:
        worst = max(rows, key=lambda r: r["gap_us"])
        return (
            f"At {worst['rate']:g} req/s, {worst['server']}'s p99 was {worst['p99_us']:,.0f} µs as "
            f"sent and {worst['corrected_p99_us']:,.0f} µs from the intended start; without a "
            "control arm this run cannot tell the load generator's timer from a stall."
        )
    timer = max(timers, key=lambda r: r["gap_us"])
    worst = max(others, key=lambda r: r["beyond_timer_us"])
    text = (
        f"The control server does nothing, yet its p99 from the intended start was up to "
        f"{timer['gap_us']:,.0f} µs above its p99 as sent (at {timer['rate']:g} req/s): that gap "
        "is the load generator's own timing. It is not the same for every server beside it: "
        f"over every rate, the others' gaps differed from the control's by {_spread(others)}."
    )
    noise = max(0.0, -min(r["beyond_timer_us"] for r in others))
    if worst["beyond_timer_us"] > max(2 * noise, 0.1 * timer["gap_us"]):
        text += (
            f" Beyond it, {worst['server']} added {worst['beyond_timer_us']:,.0f} µs at "
            f"{worst['rate']:g} req/s ({worst['late_starts']:,} requests started late over the "
            "repeats): that part is the server's own queueing, which a closed-loop tester would "
            "not see."
        )
    else:
        text += (
            f" No server's gap stood out from the control's by more than the noise between them "
            f"(servers came in up to {noise:,.0f} µs below the control, which only noise can do): "
            "at these rates nothing stalled long enough to hide from a closed-loop tester. The "
            "outage in 06-availability is a real stall."
        )
    return text


def _spread(others: list[dict[str, Any]]) -> str:
    """The smallest and largest `beyond_timer_us` over every rate, each with where it was."""
    low = min(others, key=lambda r: r["beyond_timer_us"])
    high = max(others, key=lambda r: r["beyond_timer_us"])
    return " to ".join(
        f"{r['beyond_timer_us']:+,.0f} µs ({r['server']} at {r['rate']:,.0f} req/s)"
        for r in (low, high)
    )


def load_generator_sentence(run: Run) -> str:
    """What the load generator spent per request against the control, beside the server."""
    rows = [r for r in summary_rows(run) if r["cpu_load_generator_us"] and r["cpu_server_us"]]
    control = _control(run)
    row = next((r for r in rows if r["server"] == control), rows[0] if rows else None)
    if row is None:
        return "This run has no closed-loop CPU figures."
    ratio = row["cpu_load_generator_us"] / row["cpu_server_us"]
    text = (
        f"Locust spent {row['cpu_load_generator_us']:.0f} µs of CPU per request against the "
        f"{row['server']} server, which itself spent {row['cpu_server_us']:.0f} µs ({ratio:.1f}x)"
    )
    if ratio > 1:
        return (
            text + ": on a small machine the load generator, not the server, runs out of CPU first."
        )
    return text + ": here the server, not the load generator, is the dearer side."


def auth_time_rows(run: Run) -> list[dict[str, Any]]:
    """The auth step of the claim's headline pair as each server reports it (Server-Timing),
    beside the same step in a tight loop (the micro-benchmark): one request at a time, then at
    each paired rate."""
    group = run.model.claim
    if group is None:
        return []
    folded = [p for p in points(cell_rows(run)) if p["paired"] and p["group"] == group.name]
    rows = []
    for label in (group.headline.a, group.headline.b):
        server = run.model.server(label)
        loop = (
            micro_figure(run, f"jwt_verify_{server.algorithm}")
            if server.kind == "jwt_auth"
            else micro_figure(run, "session_lookup_unix_socket")
            if server.kind == "session"
            else None
        )
        row: dict[str, Any] = {"server": label, "in_process_us": loop}
        for p in sorted(
            (p for p in folded if p["label"] == label),
            key=lambda p: -1 if p["model"] == "closed" else p["rate"],
        ):
            key = "unloaded_us" if p["model"] == "closed" else f"at_{p['rate']:g}_rps_us"
            row[key] = p["auth_p50_us"]
        if len(row) > 2:
            rows.append(row)
    return rows


def _load_of(key: str) -> float:
    return 0.0 if key == "unloaded_us" else float(key[3:].split("_")[0])


def auth_time_sentence(run: Run) -> str:
    """The same step in a loop and on a server, for the headline pair's b (the JWT server)."""
    rows = auth_time_rows(run)
    row = rows[-1] if rows else None
    if not row or row.get("in_process_us") is None:
        return "This run lacks the micro-benchmark or the paired cells needed to compare."
    on_server = {
        k: v
        for k, v in row.items()
        if (k.startswith("at_") or k == "unloaded_us") and v is not None
    }
    if not on_server:
        return "This run has no paired cells."
    busiest = max(on_server, key=_load_of)
    quietest = min(on_server, key=_load_of)

    def at(key: str) -> str:
        return "one request at a time" if key == "unloaded_us" else f"at {_load_of(key):g} req/s"

    text = (
        f"{row['server']}'s auth step took {row['in_process_us']:.0f} µs in a tight loop in one "
        "process, and on the server "
        + ", ".join(f"{v:.0f} µs {at(k)}" for k, v in on_server.items())
        + " (medians of the server's own Server-Timing)."
    )
    ratio = on_server[busiest] / row["in_process_us"]
    if ratio > 1.5:
        text += (
            f" At the busiest load the step cost {ratio:.1f}x its in-process figure: a "
            "tight loop keeps everything in cache, a server does other work in between."
        )
    else:
        text += " At the busiest load it cost about what it costs in a tight loop."
    if on_server[quietest] > 1.3 * on_server[busiest]:
        text += (
            f" The quietest load ({at(quietest)}) was the slowest for the same step "
            f"({on_server[quietest]:.0f} µs), consistent with caches going cold and the core "
            "idling between requests (not measured here)."
        )
    elif on_server[busiest] > 1.3 * on_server[quietest]:
        text += (
            f" The busier the server, the slower the same step ({on_server[busiest]:.0f} µs "
            f"{at(busiest)} against {on_server[quietest]:.0f} µs {at(quietest)}): requests "
            "queue behind each other inside the step."
        )
    return text
