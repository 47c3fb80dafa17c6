"""Where sessions live and what the endpoint reads: sessions in Redis against sessions in
PostgreSQL and JWT, and GET /profile, where every request reads the database anyway."""

from __future__ import annotations

from typing import Any

from bench.analysis import verdict_lines, verdicts
from bench.analysis.model import Server
from bench.analysis.runs import Run, micro_figure, micro_timings
from bench.analysis.verdict_lines import verdict_words
from bench.analysis.verdicts import pair_rows


def store_micro_rows(run: Run) -> list[dict[str, Any]]:
    """Per transport: the session lookup in PostgreSQL against the one in Redis, in-process."""
    timings = micro_timings(run)
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
                    "postgres_us": pg.us_median,
                    "redis_us": kv.us_median,
                    "difference_us": round(kv.us_median - pg.us_median, 1),
                    # Batches' interquartile ranges apart: a difference the batches agree on.
                    "apart": kv.us_p75 < pg.us_p25 or pg.us_p75 < kv.us_p25,
                    "redis_ping_us": micro_figure(run, f"redis_ping_{transport}"),
                    "select_1_us": micro_figure(run, f"select_1_{transport}"),
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


def tag(server: Server) -> str:
    """What a server is, for the store comparisons: jwt, redis, postgres, naive or control."""
    if server.kind == "session":
        if server.store == "redis":
            return "redis"
        return (
            "naive" if server.path == "/profile" and server.profile_query == "naive" else "postgres"
        )
    return "jwt" if server.kind == "jwt_auth" else server.kind


def _tagged(run: Run, question: str) -> list[tuple[str, str, verdicts.PairVerdict]]:
    model = run.model
    return [
        (tag(model.server(r.a)), tag(model.server(r.b)), r)
        for r in verdicts.paired_verdicts(run, question=question)
        if not r.a_a
    ]


def _figures(r: verdicts.PairVerdict) -> str:
    return (
        f"{verdict_lines.signed(r.delta_us)} µs on the median (interval "
        f"{verdict_lines.signed(r.ci_low_us)} to {verdict_lines.signed(r.ci_high_us)}, margin "
        f"±{r.margin_us:,.0f})"
    )


def store_rows(run: Run) -> list[dict[str, Any]]:
    """The paired session-store comparisons: session on PostgreSQL, on Redis, JWT, per load."""
    return pair_rows(run, "stores")


STORE_PAIRS = {
    ("redis", "jwt"): (
        "sessions in Redis minus JWT",
        "JWT is still faster",
        "Redis sessions are faster than JWT",
    ),
    ("redis", "postgres"): (
        "sessions in Redis minus sessions in PostgreSQL",
        "Redis is slower than PostgreSQL",
        "Redis is faster than PostgreSQL",
    ),
}


def _described(run: Run, question: str, words: dict[tuple, tuple[str, str, str]]) -> list[str]:
    """For each tagged pair of a question's groups that `words` names: where, what, the figures,
    and the words for its verdict."""
    parts = []
    for a, b, r in _tagged(run, question):
        if (a, b) in words:
            what, slower, faster = words[(a, b)]
            parts.append(
                f"{verdict_lines.where(r.rate)}, {what}: {_figures(r)}: "
                f"{verdict_words(r.verdict, slower, faster)}"
            )
    return parts


def store_sentence(run: Run) -> str:
    """Where a Redis session store wins: against JWT and against PostgreSQL, at each load."""
    parts = _described(run, "stores", STORE_PAIRS)
    if not parts:
        return "This run has no paired session-store comparison (the full scenario has one)."
    return "; ".join(parts) + "."


def profile_rows(run: Run) -> list[dict[str, Any]]:
    """GET /profile: every pair of the paired /profile comparisons, unloaded and at each rate."""
    return pair_rows(run, "profile")


PROFILE_PAIRS = {
    ("postgres", "jwt"): (
        "the session server with its lookup folded into the data query minus JWT",
        "the session server is still slower by more than the margin",
        "the session server is the faster one",
    ),
    ("redis", "jwt"): (
        "the session server with sessions in Redis (lookup in Redis, then the "
        "data in PostgreSQL) minus JWT",
        "slower",
        "faster",
    ),
    ("redis", "postgres"): (
        "Redis lookup plus data query against the one joined query",
        "two stores cost more than one query",
        "two stores beat one query",
    ),
    ("naive", "postgres"): (
        "asking twice (lookup, then data) instead of once",
        "asking twice costs more than the margin",
        "asking twice is faster",
    ),
}


def profile_sentence(run: Run) -> str:
    """Where every request reads the database anyway: what the session lookup still costs when
    folded into the data query, against JWT, and what folding it saved; words by verdict."""
    parts = _described(run, "profile", PROFILE_PAIRS)
    if not any((a, b) == ("postgres", "jwt") for a, b, _ in _tagged(run, "profile")):
        return "This run has no paired GET /profile comparison (the full scenario has one)."
    return "; ".join(parts) + "."


def same_pair_rows(run: Run) -> list[dict[str, Any]]:
    """The claim's headline pair wherever a group measured it (the same two servers), per rate:
    each group's estimate, the number of arms sharing the load, and each arm's own rate."""
    group = run.model.claim
    if group is None:
        return []
    head = (group.headline.a, group.headline.b)
    rows = []
    for g in run.model.groups:
        arms = len(g.arms) + (1 if g.a_a else 0)
        for r in verdicts.paired_verdicts(run, group=g.name):
            if (r.a, r.b) == head:
                rows.append(
                    {
                        "group": g.name,
                        "question": g.question,
                        "arms": arms,
                        "rate": r.rate,
                        "rate_per_arm": r.rate / arms if r.rate else None,
                        "delta_p50_us": r.delta_us,
                        "ci_low_us": r.ci_low_us,
                        "ci_high_us": r.ci_high_us,
                        "verdict": r.verdict,
                    }
                )
    return rows


def _meet(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return max(a["ci_low_us"], b["ci_low_us"]) <= min(a["ci_high_us"], b["ci_high_us"])


def overlap_words(rs: list[dict[str, Any]]) -> str:
    """Which groups' intervals overlap and which lie apart, pair by pair. On a line, intervals
    that overlap pairwise share a point, so "all overlap" is every pair overlapping."""
    pairs = [(a, b) for i, a in enumerate(rs) for b in rs[i + 1 :]]
    meet = [(a, b) for a, b in pairs if _meet(a, b)]
    if len(meet) == len(pairs):
        return "Their intervals overlap: the figures differ by no more than their own uncertainty."
    if not meet:
        order = sorted(rs, key=lambda r: r["ci_low_us"])
        return (
            "Their intervals do not overlap: "
            + ", ".join(r["group"] for r in order)
            + " from lowest to highest."
        )
    said = [f"{a['group']} and {b['group']} overlap" for a, b in meet]
    touched = {r["group"] for pair in meet for r in pair}
    for r in rs:
        if r["group"] in touched:
            continue
        others = [o for o in rs if o is not r]
        both = "both" if len(others) == 2 else "all the others"
        if all(r["ci_high_us"] < o["ci_low_us"] for o in others):
            said.append(f"{r['group']} lies below {both}")
        elif all(r["ci_low_us"] > o["ci_high_us"] for o in others):
            said.append(f"{r['group']} lies above {both}")
        else:
            said.append(f"{r['group']} overlaps none of the others")
    apart = [
        f"{a['group']} and {b['group']} do not"
        for a, b in pairs
        if not _meet(a, b) and a["group"] in touched and b["group"] in touched
    ]
    return "Their intervals do not all overlap: " + "; ".join(said + apart) + "."


def same_pair_sentence(run: Run) -> str:
    """Why one pair measured in two groups at the same total rate gives two figures."""
    rows = [r for r in same_pair_rows(run) if r["rate"] is not None]
    by_rate: dict[float, list[dict[str, Any]]] = {}
    for r in rows:
        by_rate.setdefault(r["rate"], []).append(r)
    shared = {rate: rs for rate, rs in by_rate.items() if len({r["group"] for r in rs}) > 1}
    if not shared:
        return "No other group of this run measured the claim's pair at the same rate."
    rate, rs = max(shared.items(), key=lambda kv: len(kv[1]))
    parts = [
        f"{r['group']} ({r['arms']} arms, {r['rate_per_arm']:,.0f} req/s each): "
        f"{verdict_lines.signed(r['delta_p50_us'])} µs [{verdict_lines.signed(r['ci_low_us'])}, "
        f"{verdict_lines.signed(r['ci_high_us'])}]"
        for r in rs
    ]
    text = (
        f"At {rate:g} req/s in total the same pair was measured in {len(rs)} groups: "
        + "; ".join(parts)
        + ". "
        + overlap_words(rs)
        + " "
    )
    shares = (
        "the same total rate is shared by a different number of arms, so each server gets a "
        "different rate and the core a different mix of work, and they ran at other moments"
        if len({r["arms"] for r in rs}) > 1
        else "each server got the same share of the rate, but the core a different mix of "
        "work, and they ran at other moments"
    )
    return text + (
        f"The groups are different cells: {shares}. Compare figures within one group, not "
        "across groups."
    )
