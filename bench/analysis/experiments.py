"""The experiments around the claim: the auth step alone, database distance, revocation and
caching, algorithms, availability. Each sentence chooses its words from the data it reports."""

from __future__ import annotations

from typing import Any

from bench.analysis import claim
from bench.analysis.core import (
    STORE_NAMES,
    Run,
    _measured,
    at_rate,
    busiest_closed,
    can_revoke,
    find_server,
    median,
    micro_figure,
    plain,
    server_spec,
    store_of,
)
from servers.jwt_auth import DEFAULT_ALGORITHM


def micro_sentence(run: Run) -> str:
    verify = micro_figure(run, "jwt_verify_HS256")
    lookup = micro_figure(run, "session_lookup_unix_socket") or micro_figure(
        run, "session_lookup_tcp"
    )
    select_1 = micro_figure(run, "select_1_unix_socket") or micro_figure(run, "select_1_tcp")
    sha = micro_figure(run, "session_token_sha256")
    if verify is None or lookup is None:
        return 'This run has no micro-benchmarks (scenario micro = "off").'
    bigger = "slower" if lookup > verify else "faster"
    parts = [
        f"In-process, verifying an HS256 JWT took {verify:.0f} µs and the session lookup took "
        f"{lookup:.0f} µs ({lookup / verify:.1f}x, {bigger})."
    ]
    if select_1 is not None and select_1 < lookup:
        parts.append(
            f"Of the lookup's {lookup:.0f} µs, {select_1:.0f} µs is the bare round trip to "
            f"PostgreSQL (SELECT 1) and {lookup - select_1:.0f} µs the query itself: the trip is "
            "what costs."
        )
    elif select_1 is not None:
        parts.append(
            f"A bare round trip to PostgreSQL (SELECT 1) took {select_1:.0f} µs, no less than the "
            "whole lookup (the two were timed separately, and their difference is within the "
            "noise): the query itself costs next to nothing, the trip is what costs."
        )
    if sha is not None:
        parts.append(f"Hashing the opaque token with sha256 took {sha:.1f} µs.")
    return " ".join(parts)


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


def _verdict_words(verdict: str, slower: str, faster: str) -> str:
    return {
        "holds": slower,
        "reversed": faster,
        "no_difference": "no difference beyond the margin",
    }.get(verdict, "undecided: run longer")


def store_rows(run: Run) -> list[dict[str, Any]]:
    """The paired "stores" group: session on PostgreSQL, session on Redis, JWT, per load."""
    return pair_rows(run, "stores")


def pair_rows(run: Run, group: str) -> list[dict[str, Any]]:
    """Every pair of a paired group (A/A pairs left out), unloaded and at each rate."""
    return [
        {
            "rate": r.rate,
            "a": r.a,
            "b": r.b,
            "a_p50_us": r.a_p50_us,
            "b_p50_us": r.b_p50_us,
            "delta_p50_us": r.delta_p50_us,
            "ci_low_us": r.ci_low_us,
            "ci_high_us": r.ci_high_us,
            "margin_us": r.margin_us,
            "verdict": r.verdict,
        }
        for r in claim.paired_verdicts(run, group=group)
        if not r.a_a
    ]


def store_sentence(run: Run) -> str:
    """Where a Redis session store wins: against JWT and against PostgreSQL, at each load."""
    redis = find_server(run, "session", AUTHBENCH_SESSION_STORE="redis")
    session, jwt = plain(run, "session"), plain(run, "jwt_auth")
    rows = claim.paired_verdicts(run, group="stores")
    if not rows or not redis:
        return "This run has no paired session-store comparison (the full scenario has one)."
    parts = []
    for r in rows:
        if (r.a, r.b) == (redis, jwt):
            words = _verdict_words(
                r.verdict, "JWT is still faster", "Redis sessions are faster than JWT"
            )
            what = "sessions in Redis minus JWT"
        elif (r.a, r.b) == (redis, session):
            words = _verdict_words(
                r.verdict, "Redis is slower than PostgreSQL", "Redis is faster than PostgreSQL"
            )
            what = "sessions in Redis minus sessions in PostgreSQL"
        else:
            continue
        parts.append(
            f"{claim.where(r.rate)}, {what}: {r.delta_p50_us:+,.0f} µs on the median (interval "
            f"{r.ci_low_us:+,.0f} to {r.ci_high_us:+,.0f}, margin ±{r.margin_us:,.0f}): {words}"
        )
    return ("; ".join(parts) + ".") if parts else "No Redis pair in this run's stores group."


def token_size_sentence(run: Run) -> str:
    sizes = (run.micro or {}).get("token_bytes")
    if not sizes:
        return "This run recorded no token sizes."
    opaque = sizes["opaque"]
    others = ", ".join(f"{alg} {size} B" for alg, size in sizes.items() if alg != "opaque")
    largest = max((s for a, s in sizes.items() if a != "opaque"), default=opaque)
    return (
        f"An opaque session token is {opaque} bytes; the JWTs issued here are {others}. Every "
        f"request carries that difference: up to {largest - opaque} extra bytes, {largest / opaque:.0f}x "
        "the opaque token."
    )


def prepared_key_sentence(run: Run) -> str:
    """PyJWT re-checks an HMAC key on every call; what preparing it once saves, in-process."""
    plain_us = micro_figure(run, "jwt_verify_HS256")
    prepared_us = micro_figure(run, "jwt_verify_HS256_prepared_key")
    if plain_us is None or prepared_us is None:
        return "This run has no prepared-key measurement (micro-benchmarks from this version on)."
    change = prepared_us - plain_us
    if abs(change) < 0.05 * plain_us:
        effect = "no measurable change"
    elif change < 0:
        effect = f"{-change:.0f} µs less per call ({-change / plain_us:.0%})"
    else:
        effect = f"{change:.0f} µs more per call, so preparing the key did not pay off here"
    return (
        f"Verifying HS256 as PyJWT's documentation shows took {plain_us:.0f} µs; with the key "
        f"checked once at start-up (AUTHBENCH_JWT_PREPARED_KEY=1) it took {prepared_us:.0f} µs: "
        f"{effect}. PyJWT's HMAC prepare_key looks for PEM, SSH and DER keys and tries to parse "
        "the secret as JSON on every call; the comparisons in these notebooks keep the "
        "documented usage."
    )


def pem_sentence(run: Run) -> str:
    key = micro_figure(run, "jwt_sign_RS256")
    pem = micro_figure(run, "jwt_sign_RS256_pem_string")
    if key is None or pem is None:
        return "This run has no PEM-string measurements."
    return (
        f"Signing RS256 with a key object took {key:.0f} µs; passing the same key as a PEM string "
        f"took {pem:,.0f} µs ({pem / key:.0f}x), because PyJWT parses the PEM on every call."
    )


DISTANCE_GROUPS = {"postgres": "distance", "redis": "redis_distance"}


def distance_rows(run: Run, store: str = "postgres") -> list[dict[str, Any]]:
    """Session servers whose store (PostgreSQL, or Redis) sits behind the delay proxy: set and
    measured distance, latency, CPU, and the paired verdict against JWT (notebook 01's rule)."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for _, figures, _ in _measured(run):
        if figures.get("db_delay") and store_of(server_spec(run, figures["label"])) == store:
            by_label.setdefault(figures["label"], []).append(figures)
    group = DISTANCE_GROUPS[store]
    verdicts = {r.a: r for r in claim.paired_verdicts(run, group=group) if not r.a_a}
    fixed, closed = at_rate(run), busiest_closed(run)
    rows = []
    for label, measured in by_label.items():
        f, c, v = fixed.get(label, {}), closed.get(label, {}), verdicts.get(label)
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


def revocation_rows(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "server": r["label"],
            "hosts": r.get("hosts"),
            "logout_status": r["logout_status"],
            "accepted_after_logout": r["accepted_after_logout"],
            "last_accepted_ms": r["last_accepted_ms"],
            "still_accepted_at_end": r["still_accepted_at_end"],
            "probe_for_s": r["probe_for_s"],
            "token_valid_for_s": r.get("token_valid_for_s"),
        }
        for r in run.meta.get("revocation") or []
    ]


def revocation_sentence(run: Run) -> str:
    rows = revocation_rows(run)
    if not rows:
        return "This run has no revocation experiment (the full scenario has one)."
    at_once = [r["server"] for r in rows if r["accepted_after_logout"] == 0]
    parts = []
    if at_once:
        parts.append(
            f"After logout, {', '.join(at_once)} refused the token from the very next request"
        )
    for r in rows:
        if r["accepted_after_logout"] and not r["still_accepted_at_end"]:
            parts.append(
                f"{r['server']} kept accepting it for {r['last_accepted_ms']:,.0f} ms on a host that had not "
                "handled the logout"
            )
        elif r["still_accepted_at_end"]:
            valid = (
                f", and it stays valid for another {r['token_valid_for_s']:,.0f} s (until exp)"
                if r["token_valid_for_s"]
                else ""
            )
            parts.append(
                f"{r['server']} still accepted it when probing stopped after {r['probe_for_s']:g} s{valid}"
            )
    return "; ".join(parts) + "."


def variant_pairs(run: Run) -> list[tuple[str, str]]:
    """(plain server, variant) for every revocation or caching variant of the scenario, found
    by kind and settings: a JWT server with the jti denylist on, a session server with a cache."""
    pairs = []
    for spec in run.meta["scenario"].get("servers", []):
        kind, settings = spec.get("server"), spec.get("settings", {})
        varies = (kind == "jwt_auth" and can_revoke(spec)) or (
            kind == "session" and float(settings.get("AUTHBENCH_SESSION_CACHE_TTL", "0") or 0) > 0
        )
        base = plain(run, kind)
        if varies and base is not None:
            pairs.append((base, spec["label"]))
    return pairs


def variant_rows(run: Run) -> list[dict[str, Any]]:
    """What a variant costs or saves against its base: CPU per request and median latency."""
    fixed, closed = at_rate(run), busiest_closed(run)
    rows = []
    for base, variant in variant_pairs(run):
        if variant not in fixed and variant not in closed:
            continue
        for label in (base, variant):
            rows.append(
                {
                    "server": label,
                    "cpu_service_us": closed.get(label, {}).get("cpu_service_us"),
                    "cpu_postgres_us": closed.get(label, {}).get("cpu_postgres_us"),
                    "rate": fixed.get(label, {}).get("rate"),
                    "p50_us": fixed.get(label, {}).get("p50_us"),
                    "p99_us": fixed.get(label, {}).get("p99_us"),
                }
            )
    return rows


def variant_sentence(run: Run) -> str:
    """What each variant did against its base; the verbs follow the signs of the differences."""
    rows = {r["server"]: r for r in variant_rows(run)}
    parts = []
    for base, variant in variant_pairs(run):
        b, v = rows.get(base), rows.get(variant)
        if not b or not v or b["cpu_service_us"] is None or v["cpu_service_us"] is None:
            continue
        cpu = v["cpu_service_us"] - b["cpu_service_us"]
        text = (
            f"{variant} used {abs(cpu):,.0f} µs {'more' if cpu > 0 else 'less'} CPU per request "
            f"than {base} ({v['cpu_service_us']:,.0f} against {b['cpu_service_us']:,.0f} µs, server "
            "plus database)"
        )
        if v["p50_us"] and b["p50_us"]:
            lat = v["p50_us"] - b["p50_us"]
            text += (
                f", and its median response was {abs(lat):,.0f} µs "
                f"{'slower' if lat > 0 else 'faster'} ({v['p50_us']:,.0f} against {b['p50_us']:,.0f} µs)"
            )
        parts.append(text)
    if not parts:
        return "This run has no denylist or cache variants (the full scenario has them)."
    return "; ".join(parts) + "."


def algorithms(run: Run) -> dict[str, str]:
    """{label: algorithm} for the plain JWT servers of the scenario (no denylist), by setting."""
    found = {}
    for spec in run.meta["scenario"].get("servers", []):
        settings = spec.get("settings", {})
        if spec.get("server") == "jwt_auth" and not can_revoke(spec) and len(settings) <= 1:
            algorithm = settings.get("AUTHBENCH_JWT_ALG", DEFAULT_ALGORITHM)
            if set(settings) <= {"AUTHBENCH_JWT_ALG"} and algorithm not in found.values():
                found[spec["label"]] = algorithm
    return found


def algorithm_rows(run: Run) -> list[dict[str, Any]]:
    fixed, closed = at_rate(run), busiest_closed(run)
    sizes = (run.micro or {}).get("token_bytes", {})
    rows = []
    for label, algorithm in algorithms(run).items():
        if label not in fixed and label not in closed:
            continue
        rows.append(
            {
                "server": label,
                "algorithm": algorithm,
                "verify_us_in_process": micro_figure(run, f"jwt_verify_{algorithm}"),
                "sign_us_in_process": micro_figure(run, f"jwt_sign_{algorithm}"),
                "cpu_server_us": closed.get(label, {}).get("cpu_server_us"),
                "p50_us": fixed.get(label, {}).get("p50_us"),
                "token_bytes": sizes.get(algorithm),
            }
        )
    return rows


def algorithm_sentence(run: Run) -> str:
    rows = [r for r in algorithm_rows(run) if r["cpu_server_us"]]
    if len(rows) < 2:
        return "This run compares no JWT algorithms end to end (the full scenario does)."
    cheapest = min(rows, key=lambda r: r["cpu_server_us"])
    dearest = max(rows, key=lambda r: r["cpu_server_us"])
    largest = max(
        (r for r in rows if r["token_bytes"]), key=lambda r: r["token_bytes"], default=None
    )
    text = (
        f"Per request, the server spent {cheapest['cpu_server_us']:.0f} µs of CPU with {cheapest['algorithm']} and "
        f"{dearest['cpu_server_us']:.0f} µs with {dearest['algorithm']} ({dearest['cpu_server_us'] / cheapest['cpu_server_us']:.2f}x)."
    )
    if largest:
        text += f" {largest['algorithm']} tokens were the largest on the wire, {largest['token_bytes']} bytes."
    return text


def availability_rows(run: Run) -> list[dict[str, Any]]:
    rows = []
    for r in run.meta.get("availability") or []:
        if "skipped" in r:
            rows.append({"server": r["label"], "skipped": r["skipped"]})
            continue
        rows.append(
            {
                "server": r["label"],
                "outage_statuses": ", ".join(
                    f"{n}x {code}" for code, n in r["outage_statuses"].items()
                ),
                "revoked_accepted": r["revoked_accepted"],
                "slowest_answer_ms": r["slowest_answer_ms"],
                "recovered_after_s": r["recovered_after_s"],
                "unanswered_before_sigterm": r["unanswered_before_sigterm"],
            }
        )
    return rows


PROBE_INTERVAL_S = 0.05  # the availability prober asks every 50 ms: no finer than that


def availability_sentence(run: Run) -> str:
    results = [r for r in run.meta.get("availability") or [] if "skipped" not in r]
    if not results:
        return "This run has no availability experiment (the full scenario has one; it needs the embedded PostgreSQL)."
    parts = []
    for r in results:
        outage = r["outage_statuses"]
        total = sum(outage.values())
        ok = outage.get("200", 0)
        down = r["events"]["database_up"] - r["events"]["database_down"]
        store = STORE_NAMES[r.get("store", "postgres")]
        if total == 0:
            what = f"{r['label']}: no probe landed inside the outage"
        elif ok == total:
            what = f"{r['label']} answered all {total} probes with 200 while {store} was down for {down:.1f} s"
        else:
            codes = ", ".join(f"{n} x {code}" for code, n in outage.items())
            recovered = r.get("recovered_after_s")
            if recovered is None:
                back = "and never served again before the SIGTERM"
            else:
                # The prober asks every 50 ms: say no more precisely than that.
                step = PROBE_INTERVAL_S
                back = f"and served again within {max(step, -(-recovered // step) * step):.2f} s of {store} being ready"
            what = f"{r['label']} answered {codes} while {store} was down, {back}"
        parts.append(what)
    text = "; ".join(parts) + "."
    slowest = [r["slowest_answer_ms"] for r in results if r.get("slowest_answer_ms") is not None]
    if slowest:
        text += (
            f" The slowest probe answer (one request at a time, every 50 ms; the loaded requests "
            f"are in the figure) took {max(slowest):,.0f} ms."
        )
    else:
        text += " No probe answer was recorded, so the slowest answer is not measured."
    revoking = [r for r in results if can_revoke(server_spec(run, r["label"]))]
    if revoking:
        revoked = sum(r["revoked_accepted"] for r in revoking)
        names = ", ".join(r["label"] for r in revoking)
        text += (
            f" The servers that can revoke ({names}) accepted a revoked token {revoked} "
            f"{'time' if revoked == 1 else 'times'}."
        )
    return text


def failure_mode_sentence(run: Run) -> str:
    """How each server failed while PostgreSQL was down, read from what the prober saw: open
    (kept answering 200), closed (refused to decide: 503) or otherwise; then after SIGTERM."""
    results = [r for r in run.meta.get("availability") or [] if "skipped" not in r]
    if not results:
        return "This run has no availability experiment, so no failure mode was observed."
    parts = []
    for r in results:
        outage = r["outage_statuses"]
        total = sum(outage.values())
        refused, served = outage.get("503", 0), outage.get("200", 0)
        store = STORE_NAMES[r.get("store", "postgres")]
        if total == 0:
            mode = "was not probed during the outage"
        elif served == total:
            mode = f"failed open: it kept answering 200 without {store}"
            if r["revoked_accepted"]:
                mode += f", and accepted a logged-out token {r['revoked_accepted']} times"
        elif refused == total:
            mode = f"failed closed: without {store} it refused to decide (503)"
        else:
            codes = ", ".join(f"{n} x {code}" for code, n in outage.items())
            mode = f"answered a mix while {store} was down ({codes})"
        parts.append(f"{r['label']} {mode}")
    text = "; ".join(parts) + "."
    after = [(r["label"], r.get("after_sigterm_statuses", {}).get("0", 0)) for r in results]
    nobody = [f"{label} ({n})" for label, n in after if n]
    if nobody:
        text += (
            " After SIGTERM, probes found nobody listening at "
            + ", ".join(nobody)
            + ": uvicorn stopped accepting and let in-flight requests finish."
        )
    return text


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
    rows = claim.paired_verdicts(run, group="profile")
    if not rows or not session or not jwt:
        return "This run has no paired GET /profile comparison (the full scenario has one)."
    parts = []
    for r in rows:
        if (r.a, r.b) == (session, jwt):
            parts.append(
                f"{claim.where(r.rate)}, the session server with its lookup folded into the data "
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
                f"{claim.where(r.rate)}, the session server with sessions in Redis (lookup in "
                f"Redis, then the data in PostgreSQL) minus JWT: {r.delta_p50_us:+,.0f} µs "
                f"(interval {r.ci_low_us:+,.0f} to {r.ci_high_us:+,.0f}): "
                + _verdict_words(r.verdict, "slower", "faster")
            )
        elif redis and (r.a, r.b) == (redis, session):
            parts.append(
                f"{claim.where(r.rate)}, Redis lookup plus data query against the one joined "
                f"query: {r.delta_p50_us:+,.0f} µs (interval {r.ci_low_us:+,.0f} to "
                f"{r.ci_high_us:+,.0f}): "
                + _verdict_words(
                    r.verdict, "two stores cost more than one query", "two stores beat one query"
                )
            )
        elif naive and (r.a, r.b) == (naive, session):
            parts.append(
                f"{claim.where(r.rate)}, asking twice (lookup, then data) instead of once cost "
                f"{r.delta_p50_us:+,.0f} µs (interval {r.ci_low_us:+,.0f} to {r.ci_high_us:+,.0f}; "
                f"{r.verdict.replace('_', ' ')})"
            )
    return ("; ".join(parts) + ".") if parts else "No session-versus-JWT pair on /profile here."
