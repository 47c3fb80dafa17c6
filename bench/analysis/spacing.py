"""How requests arrive: the claim's headline pair with random (Poisson) and with evenly spaced
arrivals, rate by rate, in one run (notebook 02, section 2; the README's arrivals block).

Two groups that differ in their arrival process may also differ in their arm count (the claim
group runs an A/A copy, the uniform group may not): the total rate is then the same but each
server's own share of it is not, and the sentence says so instead of calling them alike.
"""

from __future__ import annotations

from typing import Any

from bench.analysis.runs import Run, cell_rows


def arrivals_rows(run: Run) -> list[dict[str, Any]]:
    """The claim's headline pair per arrival process and rate: the paired difference, its
    interval and verdict, the group's arm count and each arm's share of the rate, the realised
    gap CV and how busy the servers' core was."""
    from bench.analysis.verdicts import paired_verdicts

    group = run.model.claim
    if group is None:
        return []
    head = (group.headline.a, group.headline.b)
    rows = []
    for g in (group, *run.model.groups_for("arrivals")):
        cells = [r for r in cell_rows(run) if r["paired"] and r["group"] == g.name]
        arms = len(g.arms) + bool(g.a_a)  # the total rate is shared among them
        for v in paired_verdicts(run, group=g.name):
            if (v.a, v.b) != head or v.rate is None:
                continue
            mine = [r for r in cells if r["rate"] == v.rate and r["label"] == v.a]
            rows.append(
                {
                    "arrivals": g.arrivals or "poisson",
                    "rate": v.rate,
                    "arms": arms,
                    "rate_per_arm": round(v.rate / arms, 1),
                    "gap_cv": _median(r["gap_cv"] for r in mine),
                    "cores_busy": _median(r["cores_busy"] for r in mine),
                    "delta_p50_us": v.delta_us,
                    "ci_low_us": v.ci_low_us,
                    "ci_high_us": v.ci_high_us,
                    "verdict": v.verdict,
                }
            )
    return sorted(rows, key=lambda r: (r["rate"], r["arrivals"]))


def servers_per_process(run: Run) -> dict[str, int]:
    """How many servers share the total rate in each arrival process's group (the claim group's
    A/A copy counted): {"poisson": 4, "uniform": 3} when the uniform group has no A/A arm."""
    group = run.model.claim
    if group is None:
        return {}
    return {
        g.arrivals or "poisson": len(g.arms) + bool(g.a_a)
        for g in (group, *run.model.groups_for("arrivals"))
    }


def per_server_words(rate: float, servers: dict[str, int]) -> str:
    """Each server's own rate at a total `rate`, per arrival process: "62.5 req/s each with
    random arrivals (4 servers), 83.3 with evenly spaced ones (3)"; one figure when alike."""
    if len(set(servers.values())) == 1:
        n = next(iter(servers.values()))
        return f"{rate / n:,.1f} req/s each ({n} servers)"
    said = {"poisson": "with random arrivals", "uniform": "with evenly spaced ones"}
    parts = [
        f"{rate / n:,.1f} req/s each {said.get(p, p)} ({n} servers)"
        for p, n in sorted(servers.items())
    ]
    return ", ".join(parts)


def arrivals_title(run: Run) -> str:
    """The arrivals figure's title: the same total rates, and among how many servers each
    arrival process shared them (so whether each server's own rate was the same)."""
    servers = servers_per_process(run)
    first = "Evenly spaced against random arrivals, at the same total rates"
    if len(set(servers.values())) <= 1:
        n = next(iter(servers.values()), 0)
        return f"{first}\n(shared by {n} servers either way: each server's own rate the same too)"
    return (
        f"{first}\n(random arrivals shared by {servers.get('poisson')} servers, evenly spaced "
        f"ones by {servers.get('uniform')}: each server's own rate differs)"
    )


def _median(values) -> float | None:
    present = sorted(v for v in values if v is not None)
    return present[len(present) // 2] if present else None


def _alike(both: dict[float, dict[str, dict[str, Any]]]) -> str:
    """What stayed the same between the two groups: the total rate always, each server's own
    rate only when both groups have as many arms."""
    first = next(iter(both.values()))
    random_arms, even_arms = first["poisson"]["arms"], first["uniform"]["arms"]
    if random_arms == even_arms:
        return "The same servers at the same rates, only the arrivals changed: "
    return (
        f"The same servers at the same total rates, but not at the same rate each: the random "
        f"arrivals were shared among {random_arms} arms, the evenly spaced ones among "
        f"{even_arms}, so both the spacing and each server's own rate changed: "
    )


def arrivals_sentence(run: Run) -> str:
    """How much of the difference under load the arrival process decides, rate by rate."""
    by_rate: dict[float, dict[str, dict[str, Any]]] = {}
    for r in arrivals_rows(run):
        by_rate.setdefault(r["rate"], {})[r["arrivals"]] = r
    both = {rate: x for rate, x in by_rate.items() if {"poisson", "uniform"} <= set(x)}
    if not both:
        return (
            "This run measured one arrival process only (the full scenario measures the "
            "claim with evenly spaced arrivals too)."
        )
    parts = []
    for rate, x in sorted(both.items()):
        p, u = x["poisson"], x["uniform"]
        ratio = p["delta_p50_us"] / u["delta_p50_us"] if u["delta_p50_us"] > 0 else None
        times = f" ({ratio:.1f}x)" if ratio else ""
        shares = per_server_words(rate, {"poisson": p["arms"], "uniform": u["arms"]})
        parts.append(
            f"at {rate:g} req/s in total ({shares}), {p['delta_p50_us']:+,.0f} µs with random "
            f"arrivals against {u['delta_p50_us']:+,.0f} µs with evenly spaced ones{times}"
        )
    larger = [
        rate
        for rate, x in sorted(both.items())
        if x["poisson"]["delta_p50_us"] > 1.2 * x["uniform"]["delta_p50_us"]
    ]
    text = _alike(both) + "; ".join(parts)
    if len(larger) > len(both) / 2:
        ratios = [
            x["poisson"]["delta_p50_us"] / x["uniform"]["delta_p50_us"]
            for x in both.values()
            if x["uniform"]["delta_p50_us"] > 0
        ]
        low, high = f"{min(ratios):.1f}x", f"{max(ratios):.1f}x"
        span = low if low == high else f"{low} to {high}"
        held = (
            f"at every rate ({len(both)} of {len(both)})"
            if len(larger) == len(both)
            else f"at {len(larger)} of {len(both)} rates, not at "
            + ", ".join(f"{rate:g}" for rate in sorted(set(both) - set(larger)))
            + " req/s"
        )
        return text + (
            f". With random arrivals the difference was larger by more than a fifth {held}: "
            f"{span} the evenly spaced one's (a question to test, not an answer: does a request "
            "that lands while the core is busy with another one wait longer behind the session "
            "server's work?)."
        )
    return text + ". Here the arrival process did not change the difference by more than a fifth."
