"""Where sessions live and what the endpoint reads: sessions in Redis against sessions in
PostgreSQL and JWT, and GET /profile, where every request reads the database anyway."""

from __future__ import annotations

from typing import Any

from bench.analysis import verdicts
from bench.analysis.runs import Run, find_server, plain
from bench.analysis.verdicts import pair_rows, verdict_words


def store_micro_rows(run: Run) -> list[dict[str, Any]]:
    """Per transport: the session lookup in PostgreSQL against the one in Redis, in-process."""
    timings = {t["name"]: t for t in (run.micro or {}).get("timings", [])}
    rows = []
    for transport in ("unix_socket", "tcp"):
        pg, kv = (
            timings.get(f"session_lookup_{transport}"),
            timings.get(f"redis_session_lookup_{transport}"),
        )
        if pg and kv:
            rows.append(
                {
                    "transport": transport.replace("_", " "),
                    "postgres_us": pg["us_median"],
                    "redis_us": kv["us_median"],
                    "difference_us": round(kv["us_median"] - pg["us_median"], 1),
                    # Batches' interquartile ranges apart: a difference the batches agree on.
                    "apart": kv["us_p75"] < pg["us_p25"] or pg["us_p75"] < kv["us_p25"],
                    "redis_ping_us": timings.get(f"redis_ping_{transport}", {}).get("us_median"),
                    "select_1_us": timings.get(f"select_1_{transport}", {}).get("us_median"),
                }
            )
    return rows


def store_micro_sentence(run: Run) -> str:
    """Is a Redis GET faster than the indexed PostgreSQL lookup? Words from sign and spread."""
    rows = store_micro_rows(run)
    if not rows:
        return "This run did not time the Redis lookup (the full micro-benchmarks do)."
    parts = []
    for r in rows:
        if not r["apart"]:
            verdict = "no clear winner: the two ranges of batch timings overlap"
        elif r["redis_us"] < r["postgres_us"]:
            verdict = f"Redis faster by {-r['difference_us']:.0f} µs"
        else:
            verdict = f"Redis slower by {r['difference_us']:.0f} µs"
        parts.append(
            f"over {r['transport']}, the Redis lookup took {r['redis_us']:.0f} µs against "
            f"{r['postgres_us']:.0f} µs for PostgreSQL ({verdict})"
        )
    text = "In-process, one call at a time: " + "; ".join(parts) + "."
    first = rows[0]
    ping, select_1 = first["redis_ping_us"], first["select_1_us"]
    if ping and select_1:
        text += (
            f" The bare round trips ({first['transport']}): PING {ping:.0f} µs, "
            f"SELECT 1 {select_1:.0f} µs"
        )
        trip_share = min(ping / first["redis_us"], select_1 / first["postgres_us"])
        if trip_share >= 0.5:
            text += (
                f": at least {min(trip_share, 1):.0%} of either lookup is the client library and "
                "the trip, not the store's own work."
            )
        else:
            text += ": most of the lookups is the store's own work, not the trip."
    return text


def store_rows(run: Run) -> list[dict[str, Any]]:
    """The paired "stores" group: session on PostgreSQL, session on Redis, JWT, per load."""
    return pair_rows(run, "stores")


def store_sentence(run: Run) -> str:
    """Where a Redis session store wins: against JWT and against PostgreSQL, at each load."""
    redis = find_server(run, "session", AUTHBENCH_SESSION_STORE="redis")
    session, jwt = plain(run, "session"), plain(run, "jwt_auth")
    rows = verdicts.paired_verdicts(run, group="stores")
    if not rows or not redis:
        return "This run has no paired session-store comparison (the full scenario has one)."
    parts = []
    for r in rows:
        if (r.a, r.b) == (redis, jwt):
            words = verdict_words(
                r.verdict, "JWT is still faster", "Redis sessions are faster than JWT"
            )
            what = "sessions in Redis minus JWT"
        elif (r.a, r.b) == (redis, session):
            words = verdict_words(
                r.verdict, "Redis is slower than PostgreSQL", "Redis is faster than PostgreSQL"
            )
            what = "sessions in Redis minus sessions in PostgreSQL"
        else:
            continue
        parts.append(
            f"{verdicts.where(r.rate)}, {what}: {r.delta_p50_us:+,.0f} µs on the median (interval "
            f"{r.ci_low_us:+,.0f} to {r.ci_high_us:+,.0f}, margin ±{r.margin_us:,.0f}): {words}"
        )
    return ("; ".join(parts) + ".") if parts else "No Redis pair in this run's stores group."


def profile_rows(run: Run) -> list[dict[str, Any]]:
    """GET /profile: every pair of the paired "profile" group, unloaded and at each rate."""
    return pair_rows(run, "profile")


def profile_sentence(run: Run) -> str:
    """Where every request reads the database anyway: what the session lookup still costs when
    folded into the data query, against JWT, and what folding it saved; words by verdict."""
    session = find_server(run, "session", "/profile")
    naive = find_server(run, "session", "/profile", AUTHBENCH_PROFILE_QUERY="naive")
    jwt = find_server(run, "jwt_auth", "/profile")
    redis = find_server(run, "session", "/profile", AUTHBENCH_SESSION_STORE="redis")
    rows = verdicts.paired_verdicts(run, group="profile")
    if not rows or not session or not jwt:
        return "This run has no paired GET /profile comparison (the full scenario has one)."
    parts = []
    for r in rows:
        if (r.a, r.b) == (session, jwt):
            parts.append(
                f"{verdicts.where(r.rate)}, the session server with its lookup folded into the data "
                f"query minus JWT: {r.delta_p50_us:+,.0f} µs on the median (interval "
                f"{r.ci_low_us:+,.0f} to {r.ci_high_us:+,.0f}, margin ±{r.margin_us:,.0f}): "
                + {
                    "holds": "the session server is still slower by more than the margin",
                    "no_difference": "no difference beyond the margin",
                    "reversed": "the session server is the faster one",
                }.get(r.verdict, "undecided: run longer")
            )
        elif redis and (r.a, r.b) == (redis, jwt):
            parts.append(
                f"{verdicts.where(r.rate)}, the session server with sessions in Redis (lookup in "
                f"Redis, then the data in PostgreSQL) minus JWT: {r.delta_p50_us:+,.0f} µs "
                f"(interval {r.ci_low_us:+,.0f} to {r.ci_high_us:+,.0f}): "
                + verdict_words(r.verdict, "slower", "faster")
            )
        elif redis and (r.a, r.b) == (redis, session):
            parts.append(
                f"{verdicts.where(r.rate)}, Redis lookup plus data query against the one joined "
                f"query: {r.delta_p50_us:+,.0f} µs (interval {r.ci_low_us:+,.0f} to "
                f"{r.ci_high_us:+,.0f}): "
                + verdict_words(
                    r.verdict, "two stores cost more than one query", "two stores beat one query"
                )
            )
        elif naive and (r.a, r.b) == (naive, session):
            parts.append(
                f"{verdicts.where(r.rate)}, asking twice (lookup, then data) instead of once cost "
                f"{r.delta_p50_us:+,.0f} µs (interval {r.ci_low_us:+,.0f} to {r.ci_high_us:+,.0f}; "
                f"{r.verdict.replace('_', ' ')})"
            )
    return ("; ".join(parts) + ".") if parts else "No session-versus-JWT pair on /profile here."
