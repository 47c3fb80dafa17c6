"""The bill at scale: a capacity model built from measured CPU per request, and its check.

The model is deliberately simple, so that every figure can be traced to a measurement:
- one request of a scheme costs `server_us` of app-server CPU plus `postgres_us` and `redis_us`
  of store CPU (closed loop, each server alone, the busiest point: CPU time over requests);
- cores needed at a rate = rate x CPU per request / 1e6, at 100% busy (divide by the utilisation
  you run at: at 50% you need twice as many);
- a PostgreSQL node of `pg_node_cores` cores serves `pg_node_cores x 1e6 / postgres_us` lookups
  per second (backends are processes: lookups spread over cores); a Redis node runs commands on
  one thread, so one node serves about `1e6 / redis_us` per second, whatever its core count;
- read replicas multiply the lookup capacity and add the replication lag to the revocation
  window; an in-process cache with TTL t takes the lookups off the store and makes t the window.

The check: the same model predicts the closed-loop throughput of this machine's two-worker
servers from the one-worker measurements: the cores the servers may use (shared with their
stores) against the load generator's cores, whichever runs out first.
"""

from __future__ import annotations

import math
from typing import Any

from bench.analysis.runs import Run, busiest_closed, cell_rows, points

RATES = (10_000, 100_000, 1_000_000)
# Below this much store CPU per request a scheme does not ask that store on every request: what
# is left is background work (the JWT server's pool keeping its connections) spread over requests.
LOOKUP_FLOOR_US = 1.0
PG_NODE_CORES = 16  # a large but ordinary PostgreSQL primary
SCHEMES = (  # (name, kind, facts): the designs the notebook prices, found by what they are
    ("JWT",                            "jwt_auth", {"revocable": False}),
    ("sessions in PostgreSQL",         "session",  {"store": "postgres", "cache_ttl_s": 0.0}),
    ("sessions in Redis",              "session",  {"store": "redis", "cache_ttl_s": 0.0}),
    ("sessions in PostgreSQL, cached", "session",  {"store": "postgres",
                                                    "cache_ttl_s": lambda ttl: ttl > 0}),
    ("JWT with a jti denylist",        "jwt_auth", {"revocable": True}),
)  # fmt: skip  # a table: one scheme per row


def scheme_servers(run: Run) -> list[tuple[str, str]]:
    """(scheme, label) for every scheme the run has a server for."""
    found = []
    for scheme, kind, facts in SCHEMES:
        if (label := run.model.find(kind, **facts)) is not None:
            found.append((scheme, label))
    return found


def _busiest_point(run: Run, label: str) -> dict[str, Any] | None:
    """Where this server was measured at its highest utilisation: each alone in closed loop,
    or an arm at a fixed rate; the cell whose servers' cores were busiest."""
    candidates = [
        p
        for p in points(cell_rows(run))
        if p["label"] == label
        and p["cpu_server_us"] is not None
        and ((p["model"] == "closed" and not p["paired"]) or p["model"] == "fixed_rate")
    ]
    return max(candidates, key=lambda p: (p.get("cores_busy") or 0, p["ok_rps"]), default=None)


def _measured_at(point: dict[str, Any]) -> str:
    where = (
        f"closed loop, {point['users']} users, alone"
        if point["model"] == "closed"
        else f"{point['rate']:g} req/s in total, arms at once"
    )
    busy = f", servers' core {point['cores_busy']:.0%} busy" if point.get("cores_busy") else ""
    return f"{where}, {point['ok_rps']:,.0f} req/s{busy}"


def cost_rows(run: Run) -> list[dict[str, Any]]:
    """Per scheme the run measured: CPU µs per request by process (server, PostgreSQL, Redis),
    each taken where that server was busiest (the figure closest to a loaded production
    server: idle time between requests makes every request dearer), with where that was. An
    external arm's CPU is not measured: it prices no scheme (bill_sentence says so)."""
    rows = []
    for scheme, label in scheme_servers(run):
        point = _busiest_point(run, label)
        if point is None:
            continue
        rows.append(
            {
                "scheme": scheme,
                "server": label,
                "server_us": point.get("cpu_server_us") or 0.0,
                "postgres_us": point.get("cpu_postgres_us") or 0.0,
                "redis_us": point.get("cpu_redis_us") or 0.0,
                "measured_at": _measured_at(point),
                "cores_busy": point.get("cores_busy"),
                "hit_rate": point.get("cache_hit_share")
                if run.model.server(label).cache_ttl_s
                else None,
                "closed_rps": point["ok_rps"],
                "users": point["users"],
                "closed_loop": point["model"] == "closed",
            }
        )
    return rows


def named(cost: dict[str, Any]) -> str:
    """A scheme's name, with the hit rate a cached design's figure holds for."""
    hit = cost.get("hit_rate")
    name = cost["scheme"] + (f" (measured at {hit:.0%} cache hits)" if hit is not None else "")
    if cost.get("closed_loop", True):
        return name
    # Only a fixed-rate figure, where idle time between requests makes each one dearer: it
    # cannot be set beside the closed-loop figures without saying so.
    busy = f", core {cost['cores_busy']:.0%} busy" if cost.get("cores_busy") else ""
    return f"{name}\n[a fixed-rate figure{busy}: dearer than closed loop, not comparable]"


def capacity_rows(
    run: Run, rates: tuple[float, ...] = RATES, pg_node_cores: int = PG_NODE_CORES
) -> list[dict[str, Any]]:
    """Per scheme and rate: app cores, store cores, and store nodes at 100% busy. A scheme
    measured only at a fixed rate is left out (`unpriced` says which and why)."""
    rows = []
    for cost in (c for c in cost_rows(run) if c["closed_loop"]):
        asks_pg, asks_redis = (cost[k] >= LOOKUP_FLOOR_US for k in ("postgres_us", "redis_us"))
        pg_per_node = pg_node_cores * 1e6 / cost["postgres_us"] if asks_pg else None
        redis_per_node = 1e6 / cost["redis_us"] if asks_redis else None
        for rate in rates:
            rows.append(
                {
                    "scheme": cost["scheme"],
                    "named": named(cost),
                    "closed_loop": cost["closed_loop"],
                    "rate": rate,
                    "app_cores": rate * cost["server_us"] / 1e6,
                    "postgres_cores": rate * cost["postgres_us"] / 1e6,
                    "redis_cores": rate * cost["redis_us"] / 1e6,
                    "postgres_nodes": math.ceil(rate / pg_per_node) if pg_per_node else 0,
                    "redis_nodes": math.ceil(rate / redis_per_node) if redis_per_node else 0,
                }
            )
    return rows


def unpriced(run: Run) -> str:
    """The schemes the bill leaves out, and why: measured only at a fixed rate with the arms at
    once, a figure that idle time between requests makes dearer than the closed-loop ones."""
    left = [c for c in cost_rows(run) if not c["closed_loop"]]
    if not left:
        return ""
    names = "; ".join(
        c["scheme"] + (f" (core {c['cores_busy']:.0%} busy)" if c.get("cores_busy") else "")
        for c in left
    )
    return (
        f" Left out of the bill: {names}, measured only at a fixed rate with the arms at once, "
        "where each request costs more CPU than in the closed loop the others are priced from: "
        "set beside them it would look dearer than it is. 04-revocation-and-caching compares a "
        "cached session server with the uncached one measured in the same cells."
    )


def saturation_rows(run: Run, pg_node_cores: int = PG_NODE_CORES) -> list[dict[str, Any]]:
    """Where one store node runs out: requests per second of one PostgreSQL primary of
    `pg_node_cores` cores, and of one Redis node (one command thread)."""
    rows = []
    for cost in (c for c in cost_rows(run) if c["closed_loop"]):  # as the bill: closed loop
        if cost["postgres_us"] >= LOOKUP_FLOOR_US:  # asks PostgreSQL on every request
            rows.append(
                {
                    "scheme": cost["scheme"],
                    "store": f"one PostgreSQL primary, {pg_node_cores} cores",
                    "store_us_per_request": cost["postgres_us"],
                    "saturates_at_rps": pg_node_cores * 1e6 / cost["postgres_us"],
                }
            )
        if cost["redis_us"] >= LOOKUP_FLOOR_US:
            rows.append(
                {
                    "scheme": cost["scheme"],
                    "store": "one Redis node (one command thread)",
                    "store_us_per_request": cost["redis_us"],
                    "saturates_at_rps": 1e6 / cost["redis_us"],
                }
            )
    return rows


def revocation_window_rows(run: Run) -> list[dict[str, Any]]:
    """How long a logged-out token keeps working in each design: measured where the run has the
    revocation experiment, else what the design allows by construction."""
    measured = {r.label: r for r in run.record.revocation}
    rows = []
    for scheme, label in scheme_servers(run):
        server = run.model.server(label)
        probe = measured.get(label)
        cache_s = server.cache_ttl_s
        if not server.revocable:
            lifetime = probe.token_valid_for_s if probe else None
            window = (
                f"the token's lifetime ({lifetime:,.0f} s left at logout)"
                if lifetime
                else "the token's lifetime"
            )
        elif cache_s:
            window = f"up to the cache TTL ({cache_s:g} s) on hosts that did not handle the logout"
        else:
            window = "none: refused on the next request"
        rows.append(
            {
                "scheme": scheme,
                "window": window,
                "accepted_after_logout": probe.accepted_after_logout if probe else None,
                "last_accepted_ms": probe.last_accepted_ms if probe else None,
            }
        )
    rows.append(
        {
            "scheme": "sessions on read replicas",
            "window": "the replication lag (not measured here: one machine, no replica)",
            "accepted_after_logout": None,
            "last_accepted_ms": None,
        }
    )
    return rows


def _cores(run: Run) -> tuple[int, int] | int | None:
    """Cores of the servers (with their stores) and of the load generator, as pinned; or the
    machine's core count, shared by all of them, for a run with --no-pin."""
    layout = run.record.settings.cpu_layout
    if layout:
        return len(layout.servers), len(layout.load_generator)
    return run.record.environment.cpu_count


def model_check_rows(run: Run) -> list[dict[str, Any]]:
    """For every closed-loop server with more than one worker: the throughput the model
    predicts from its one-worker twin's CPU per request, against the measured throughput."""
    cores = _cores(run)
    closed = busiest_closed(run)
    rows = []
    for server in run.model.servers.values():
        if server.workers == 1 or server.label not in closed or cores is None:
            continue
        twin = run.model.find(
            server.kind,
            path=server.path,
            store=server.store,
            revocable=server.revocable,
            algorithm=server.algorithm,
            cache_ttl_s=server.cache_ttl_s,
        )
        if twin is None or twin not in closed:
            continue
        one, many = closed[twin], closed[server.label]
        workers = server.workers
        service_us = one["cpu_service_us"]
        generator_us = one["cpu_load_generator_us"] or 0.0
        if isinstance(cores, tuple):  # pinned apart: whichever side runs out first
            server_cores, generator_cores = cores
            serving = server_cores * 1e6 / service_us
            sending = generator_cores * 1e6 / generator_us if generator_us else math.inf
            bottleneck = "servers' cores" if serving <= sending else "load generator"
        else:  # unpinned: every process shares every core
            server_cores = generator_cores = cores
            serving = sending = cores * 1e6 / (service_us + generator_us)
            bottleneck = "machine's cores, shared"
        predicted = min(serving, sending)
        rows.append(
            {
                "server": server.label,
                "workers": workers,
                "from": twin,
                "service_us": service_us,
                "service_us_measured": many["cpu_service_us"],
                "load_generator_us": generator_us,
                "server_cores": server_cores,
                "generator_cores": generator_cores,
                "predicted_rps": predicted,
                "bottleneck": bottleneck,
                "measured_rps": many["ok_rps"],
                "one_worker_rps": one["ok_rps"],
                "error_fraction": many["ok_rps"] / predicted - 1,
            }
        )
    return rows


def model_check_sentence(run: Run, close_enough: float = 0.10) -> str:
    """Prediction against measurement, in words chosen by the size and sign of the miss."""
    rows = model_check_rows(run)
    if not rows:
        return "This run has no multi-worker closed-loop cells to check the model against."
    parts = []
    for r in rows:
        miss = r["error_fraction"]
        if abs(miss) <= close_enough:
            how = f"within {close_enough:.0%} of the prediction ({miss:+.0%})"
        elif miss < 0:
            how = f"{-miss:.0%} below the prediction: the model is optimistic here"
        else:
            how = f"{miss:.0%} above the prediction: the model is pessimistic here"
        text = (
            f"{r['server']} ({r['workers']} workers): predicted {r['predicted_rps']:,.0f} req/s "
            f"(limited by the {r['bottleneck']}), measured {r['measured_rps']:,.0f} req/s, {how}"
        )
        grew = r["service_us_measured"] / r["service_us"] - 1 if r["service_us_measured"] else 0
        if abs(grew) > close_enough:
            text += (
                f" (a request cost {r['service_us_measured']:,.0f} µs of server and store CPU with "
                f"{r['workers']} workers against {r['service_us']:,.0f} µs with one: "
                f"{abs(grew):.0%} {'more' if grew > 0 else 'less'}, which the model assumes constant)"
            )
        parts.append(text)
    return "; ".join(parts) + "."


def _nodes(n: int) -> str:
    return f"{n} node" + ("" if n == 1 else "s")


def bill_sentence(run: Run, rate: float = 1_000_000, pg_node_cores: int = PG_NODE_CORES) -> str:
    """At `rate`: app cores per scheme and the store behind it, from the measured costs."""
    rows = [r for r in capacity_rows(run, (rate,), pg_node_cores)]
    outside = ", ".join(run.model.external)
    if not rows and outside:
        return (
            f"The bill needs CPU per request, not measured for the external arms ({outside}): "
            "their servers run out of the harness's view."
        )
    if not rows:
        return (
            "This run has no closed-loop cells to price (run the default or full scenario)."
            + unpriced(run)
        )
    jwt = next((r for r in rows if r["scheme"] == "JWT"), None)
    parts = []
    for r in rows:
        text = f"{r['named'].replace(chr(10), ' ')}: {r['app_cores']:,.0f} app cores"
        if r["postgres_nodes"]:
            text += f" + {r['postgres_cores']:,.0f} PostgreSQL cores ({_nodes(r['postgres_nodes'])} of {pg_node_cores} cores)"
        if r["redis_nodes"]:
            text += f" + {r['redis_cores']:,.0f} Redis cores ({_nodes(r['redis_nodes'])})"
        parts.append(text)
    text = f"At {rate:,.0f} requests per second, at 100% busy: " + "; ".join(parts) + "."
    session = next((r for r in rows if r["scheme"] == "sessions in PostgreSQL"), None)
    if jwt and session:
        extra = session["app_cores"] + session["postgres_cores"] - jwt["app_cores"]
        more = "more" if extra >= 0 else "fewer"
        text += (
            f" Sessions in PostgreSQL need {abs(extra):,.0f} {more} cores in all than JWT "
            f"({(session['app_cores'] + session['postgres_cores']) / jwt['app_cores']:.2f}x)."
        )
    if outside:
        text += f" Not priced: {outside} (external arms: their CPU was not measured)."
    return text + unpriced(run)
