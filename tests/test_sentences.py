"""Every computed sentence, pushed each way by small synthetic runs: the words must follow.

A sentence with fixed wording would pass a test that only checks it renders; these tests give
each function data that says one thing, then data that says the opposite, and check the words.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bench import analysis

SERVERS = [
    {"label": "control", "server": "control", "settings": {}},
    {"label": "session", "server": "session", "settings": {}},
    {"label": "jwt_auth", "server": "jwt_auth", "settings": {}},
    {
        "label": "session_cached",
        "server": "session",
        "settings": {"AUTHBENCH_SESSION_CACHE_TTL": "1"},
    },
    {"label": "jwt_denylist", "server": "jwt_auth", "settings": {"AUTHBENCH_JWT_DENYLIST": "1"}},
    {"label": "plain_jwt_named_oddly", "server": "jwt_auth", "settings": {}},
]


def cell(label, model="closed", rate=None, repeat=1, p50=500.0, server_us=100.0, pg_us=0.0):
    server = next(s["server"] for s in SERVERS if s["label"] == label)
    return {
        "id": f"{label}-{model}-{rate}-{repeat}",
        "label": label,
        "server": server,
        "model": model,
        "users": 16 if model == "closed" else 32,
        "rate": rate,
        "repeat": repeat,
        "requests": 1000,
        "ok_rps": 1000.0,
        "error_count": 0,
        "latency_us": {
            "p50": p50,
            "p90": p50 * 1.5,
            "p99": p50 * 3,
            "p99.9": p50 * 5,
            "max": p50 * 10,
            "mean": p50 * 1.1,
        },
        "cpu_us_per_request": {"server": server_us, "postgres": pg_us, "load_generator": 90.0},
        "load_generator_bound": False,
    }


def make_run(cells=(), **extra) -> analysis.Run:
    meta = {
        "status": "complete",
        "scenario": {"servers": SERVERS, "reference_rate": 1000.0},
        "environment": {},
        "cells": list(cells),
        **extra,
    }
    return analysis.Run(Path("/nonexistent/synthetic"), meta)


# --- variants: cost or saving, by sign --------------------------------------------------------


def variant_run(cached_cpu: float, cached_p50: float) -> analysis.Run:
    return make_run(
        [
            cell("session", server_us=150, pg_us=50),
            cell("session_cached", server_us=cached_cpu, pg_us=0),
            cell("session", "fixed_rate", 1000.0, p50=900),
            cell("session_cached", "fixed_rate", 1000.0, p50=cached_p50),
        ]
    )


def test_variant_sentence_says_saved_when_the_cache_saves():
    said = analysis.variant_sentence(variant_run(cached_cpu=60, cached_p50=600))
    assert "session_cached used 140 µs less CPU per request than session" in said
    assert "300 µs faster" in said


def test_variant_sentence_says_more_when_the_cache_costs():
    said = analysis.variant_sentence(variant_run(cached_cpu=2000, cached_p50=1500))
    assert "1,800 µs more CPU per request" in said and "600 µs slower" in said
    assert "less" not in said and "faster" not in said


# --- micro: the part is never larger than the whole -------------------------------------------


def micro_run(lookup: float, select_1: float) -> analysis.Run:
    timings = [
        {"name": "jwt_verify_HS256", "us_median": 40.0},
        {"name": "session_lookup_unix_socket", "us_median": lookup},
        {"name": "select_1_unix_socket", "us_median": select_1},
    ]
    return make_run(micro={"timings": timings})


def test_micro_sentence_splits_the_lookup_when_the_round_trip_is_smaller():
    said = analysis.micro_sentence(micro_run(lookup=120, select_1=100))
    assert "Of the lookup's 120 µs, 100 µs is the bare round trip" in said
    assert "20 µs the query itself" in said


def test_micro_sentence_never_calls_a_larger_round_trip_a_part_of_the_lookup():
    said = analysis.micro_sentence(micro_run(lookup=102, select_1=116))
    assert "Of the lookup" not in said
    assert "116 µs, no less than the whole lookup" in said


def test_micro_sentence_says_faster_or_slower_by_sign():
    assert "slower" in analysis.micro_sentence(micro_run(lookup=120, select_1=100))
    assert "faster" in analysis.micro_sentence(micro_run(lookup=20, select_1=10))


# --- CPU ratio --------------------------------------------------------------------------------


@pytest.mark.parametrize(("session_us", "word"), [(200, "more"), (50, "less")])
def test_cpu_ratio_sentence_follows_the_ratio(session_us, word):
    run = make_run(
        [cell("session", repeat=r, server_us=session_us) for r in (1, 2, 3)]
        + [cell("jwt_auth", repeat=r, server_us=100) for r in (1, 2, 3)]
    )
    said = analysis.cpu_ratio_sentence(run)
    assert f"session costs {word} CPU per request than jwt_auth" in said
    assert "over 3 repeats" in said


def test_cpu_ratio_sentence_without_closed_cells_says_not_measured():
    assert "not measured" in analysis.cpu_ratio_sentence(make_run())


# --- availability: never recovered, nothing recorded, who can revoke --------------------------

OUTAGE = {
    "label": "session",
    "outage_statuses": {"503": 50},
    "events": {"database_down": 3.0, "database_up": 6.2},
    "recovered_after_s": 0.003,
    "slowest_answer_ms": 12.4,
    "revoked_accepted": 0,
}


def test_availability_sentence_rounds_recovery_to_the_probers_resolution():
    said = analysis.availability_sentence(make_run(availability=[OUTAGE]))
    assert "served again within 0.05 s" in said and "0.00 s" not in said
    assert "slowest probe answer" in said and "12 ms" in said


def test_availability_sentence_says_never_recovered_and_not_measured():
    broken = {**OUTAGE, "recovered_after_s": None, "slowest_answer_ms": None}
    said = analysis.availability_sentence(make_run(availability=[broken]))
    assert "never served again before the SIGTERM" in said
    assert "slowest answer is not measured" in said


def test_who_can_revoke_comes_from_kind_and_settings_not_the_label():
    jwt_plain = {**OUTAGE, "label": "plain_jwt_named_oddly", "outage_statuses": {"200": 50},
                 "revoked_accepted": 60}  # fmt: skip
    denylist = {**OUTAGE, "label": "jwt_denylist"}
    said = analysis.availability_sentence(make_run(availability=[jwt_plain, denylist]))
    assert "servers that can revoke (jwt_denylist) accepted a revoked token 0 times" in said
    said = analysis.availability_sentence(make_run(availability=[jwt_plain]))
    assert "can revoke" not in said


# --- distance: the paired rule, both ways -----------------------------------------------------


def distance_run(tmp_path: Path, far_median_us: float):
    """A paired distance group: session 0 ms and 5 ms away against JWT at 800 us."""
    from tests.test_claim import write_paired_run

    run = write_paired_run(
        tmp_path,
        {"session_db_0ms": 810, "jwt_auth": 800, "session_db_5ms": far_median_us},
        a_a=False,
    )
    meta = copy.deepcopy(run.meta)
    group = meta["scenario"]["paired"][0]
    group.update(
        name="distance",
        pairs=[["session_db_0ms", "jwt_auth"], ["session_db_5ms", "jwt_auth"]],
        baseline="jwt_auth",
    )
    for c in meta["cells"]:
        c["group"] = "distance"
        c["arms"] = {
            label: {
                **cell("session", "fixed_rate", 1000.0, repeat=c["repeat"], p50=p50),
                "label": label,
                "db_delay": {"set_rtt_ms": rtt, "added_rtt_ms": rtt + 0.1},
            }
            for label, p50, rtt in (
                ("session_db_0ms", 810, 0),
                ("session_db_5ms", far_median_us, 5),
            )
        }
        c["arms"]["jwt_auth"] = {**cell("jwt_auth", "fixed_rate", 1000.0, p50=800),
                                 "label": "jwt_auth"}  # fmt: skip
    meta["scenario"]["servers"] = [
        *SERVERS,
        {"label": "session_db_0ms", "server": "session", "settings": {}},
        {"label": "session_db_5ms", "server": "session", "settings": {}},
    ]
    (tmp_path / "run.json").write_text(json.dumps(meta))
    return analysis.load(tmp_path)


def test_distance_sentence_uses_the_paired_rule_when_far_is_slower(tmp_path):
    said = analysis.distance_sentence(distance_run(tmp_path, far_median_us=6000))
    assert "the claim holds from 5.10 ms of added round trip on" in said
    assert "already at the nearest setting" not in said


def test_distance_sentence_says_none_when_distance_changes_nothing(tmp_path):
    said = analysis.distance_sentence(distance_run(tmp_path, far_median_us=805))
    assert "held at none of these distances" in said
    rows = analysis.distance_rows(analysis.load(tmp_path))
    assert [r["verdict"] for r in rows] == ["no_difference", "no_difference"]


# --- the prepared HMAC key ---------------------------------------------------------------------


def prepared_run(plain_us: float, prepared_us: float) -> analysis.Run:
    timings = [
        {"name": "jwt_verify_HS256", "us_median": plain_us},
        {"name": "jwt_verify_HS256_prepared_key", "us_median": prepared_us},
    ]
    return make_run(micro={"timings": timings})


def test_prepared_key_sentence_reports_a_saving():
    said = analysis.prepared_key_sentence(prepared_run(40, 30))
    assert "10 µs less per call (25%)" in said


def test_prepared_key_sentence_reports_no_change_or_a_loss():
    assert "no measurable change" in analysis.prepared_key_sentence(prepared_run(40, 39))
    said = analysis.prepared_key_sentence(prepared_run(30, 40))
    assert "did not pay off" in said and "less per call" not in said


def test_failure_mode_sentence_says_open_or_closed_from_the_probes():
    closed = {**OUTAGE, "after_sigterm_statuses": {"0": 12}}
    opened = {**OUTAGE, "label": "jwt_auth", "outage_statuses": {"200": 50}, "revoked_accepted": 9}
    said = analysis.failure_mode_sentence(make_run(availability=[closed, opened]))
    assert "session failed closed" in said
    assert "jwt_auth failed open" in said and "accepted a logged-out token 9 times" in said
    assert "nobody listening at session (12)" in said
    flipped = {**OUTAGE, "outage_statuses": {"200": 50}, "revoked_accepted": 0}
    said = analysis.failure_mode_sentence(make_run(availability=[flipped]))
    assert "session failed open" in said and "closed" not in said


# --- GET /profile -------------------------------------------------------------------------------


def profile_run(tmp_path: Path, session_us: float):
    from tests.test_claim import write_paired_run

    run = write_paired_run(tmp_path, {"session_profile": session_us, "jwt_profile": 900}, a_a=False)
    meta = copy.deepcopy(run.meta)
    meta["scenario"]["paired"][0].update(name="profile", baseline="jwt_profile")
    for c in meta["cells"]:
        c["group"] = "profile"
    meta["scenario"]["servers"] = [
        {"label": "session_profile", "server": "session", "settings": {}, "path": "/profile"},
        {"label": "jwt_profile", "server": "jwt_auth", "settings": {}, "path": "/profile"},
    ]
    (tmp_path / "run.json").write_text(json.dumps(meta))
    return analysis.load(tmp_path)


def test_profile_sentence_follows_the_verdict(tmp_path):
    slower = analysis.profile_sentence(profile_run(tmp_path / "a", 1_200))
    same = analysis.profile_sentence(profile_run(tmp_path / "b", 905))
    assert "the session server is still slower by more than the margin" in slower
    assert "no difference beyond the margin" in same and "still slower" not in same


# --- coordinated omission, calibrated by the control arm ---------------------------------------


def omission_run(session_gap_us: float) -> analysis.Run:
    def fixed(label, p99, gap):
        c = cell(label, "fixed_rate", 1000.0, p50=p99 / 3)
        c["corrected_latency_us"] = {"p50": p99 / 3 + gap, "p99": p99 + gap, "max": p99 * 4 + gap}
        c["late_starts"] = 7
        return c

    return make_run(
        [
            fixed("control", 1500, 1000),
            fixed("jwt_auth", 1800, 950),
            fixed("session", 2500, session_gap_us),
        ]
    )


def test_omission_sentence_names_the_timer_when_nobody_stalls():
    said = analysis.omission_sentence(omission_run(session_gap_us=900))
    assert "1,000 µs above its p99 as sent" in said and "load generator's own timer" in said
    assert "No server's gap stood out" in said and "session added" not in said


def test_omission_sentence_names_a_server_that_queued_beyond_the_timer():
    said = analysis.omission_sentence(omission_run(session_gap_us=4000))
    assert "session added 3,000 µs at 1000 req/s" in said
    assert "(7 requests started late" in said  # whole requests, summed over the cells


def test_auth_time_sentence_follows_how_auth_time_moves_with_load(tmp_path):
    from tests.test_claim import write_paired_run

    run = write_paired_run(tmp_path, {"session": 900, "jwt_auth": 800})
    meta = copy.deepcopy(run.meta)
    meta["micro"] = {"timings": [{"name": "jwt_verify_HS256", "us_median": 30.0}]}
    for c in meta["cells"]:
        c["arms"] = {
            label: {**cell(label, "fixed_rate", 1000.0), "auth_us": {"p50": 40.0}}
            for label in ("session", "jwt_auth")
        }
    (tmp_path / "run.json").write_text(json.dumps(meta))
    said = analysis.auth_time_sentence(analysis.load(tmp_path))
    assert "30 µs in a tight loop" in said and "40 µs at 1000 req/s" in said
    assert "about what it costs in a tight loop" in said


# --- sessions in Redis ---------------------------------------------------------------------------


def store_micro_run(redis_us: float, spread_us: float = 2.0) -> analysis.Run:
    def timing(name, median):
        return {"name": name, "us_median": median, "us_p25": median - spread_us,
                "us_p75": median + spread_us}  # fmt: skip

    timings = [
        timing("session_lookup_unix_socket", 60.0),
        timing("redis_session_lookup_unix_socket", redis_us),
        timing("redis_ping_unix_socket", 40.0),
        timing("select_1_unix_socket", 50.0),
    ]
    return make_run(micro={"timings": timings})


def test_store_micro_sentence_follows_which_lookup_is_faster():
    faster = analysis.store_micro_sentence(store_micro_run(redis_us=45))
    slower = analysis.store_micro_sentence(store_micro_run(redis_us=80))
    overlap = analysis.store_micro_sentence(store_micro_run(redis_us=61, spread_us=5))
    assert "Redis faster by 15 µs" in faster and "slower" not in faster
    assert "Redis slower by 20 µs" in slower and "faster" not in slower
    assert "no clear winner" in overlap and "faster by" not in overlap
    assert "did not time the Redis lookup" in analysis.store_micro_sentence(make_run())


def stores_run(tmp_path: Path, redis_us: float):
    from tests.test_claim import write_paired_run

    run = write_paired_run(
        tmp_path, {"session": 1_000, "session_redis": redis_us, "jwt_auth": 800}, a_a=False
    )
    meta = copy.deepcopy(run.meta)
    meta["scenario"]["paired"][0].update(
        name="stores",
        baseline="jwt_auth",
        pairs=[["session_redis", "jwt_auth"], ["session_redis", "session"]],
    )
    for c in meta["cells"]:
        c["group"] = "stores"
    meta["scenario"]["servers"] = [
        {"label": "session", "server": "session", "settings": {}},
        {"label": "session_redis", "server": "session",
         "settings": {"AUTHBENCH_SESSION_STORE": "redis"}},
        {"label": "jwt_auth", "server": "jwt_auth", "settings": {}},
    ]  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps(meta))
    return analysis.load(tmp_path)


def test_store_sentence_follows_the_verdicts(tmp_path):
    between = analysis.store_sentence(stores_run(tmp_path / "a", 900))
    assert "JWT is still faster" in between and "Redis is faster than PostgreSQL" in between
    beats_all = analysis.store_sentence(stores_run(tmp_path / "b", 600))
    assert "Redis sessions are faster than JWT" in beats_all and "still faster" not in beats_all
    worst = analysis.store_sentence(stores_run(tmp_path / "c", 1_400))
    assert "Redis is slower than PostgreSQL" in worst and "faster than PostgreSQL" not in worst


def test_availability_sentence_names_the_store_that_went_down():
    redis_outage = {**OUTAGE, "label": "session", "store": "redis"}
    said = analysis.availability_sentence(make_run(availability=[redis_outage]))
    assert "while Redis was down" in said and "Redis being ready" in said
    said = analysis.availability_sentence(make_run(availability=[OUTAGE]))
    assert "while PostgreSQL was down" in said and "Redis" not in said


def test_store_micro_sentence_says_what_the_trip_is_worth():
    trip = analysis.store_micro_sentence(store_micro_run(redis_us=45))  # PING 40 of 45 µs
    assert "of either lookup is the client library and the trip" in trip
    heavy = store_micro_run(redis_us=200)  # PING 40 of 200 µs: the store's work dominates
    said = analysis.store_micro_sentence(heavy)
    assert "most of the lookups is the store's own work" in said and "the trip, not" not in said


def test_failure_mode_sentence_names_the_store_that_went_away():
    redis = {**OUTAGE, "store": "redis"}
    assert "without Redis it refused to decide" in analysis.failure_mode_sentence(
        make_run(availability=[redis])
    )


def test_headline_answers_from_the_main_group_only(tmp_path):
    """A second group that pairs session and JWT again (stores) must not be counted twice."""
    run = stores_run(tmp_path, 900)
    meta = copy.deepcopy(run.meta)
    main = copy.deepcopy(meta["scenario"]["paired"][0])
    main.update(name="main", pairs=[["session", "jwt_auth"]])
    meta["scenario"]["paired"].insert(0, main)
    meta["cells"] += [{**copy.deepcopy(c), "group": "main", "id": c["id"] + "-main"}
                      for c in meta["cells"]]  # fmt: skip
    meta["scenario"]["paired"][1]["pairs"].append(["session", "jwt_auth"])
    (tmp_path / "run.json").write_text(json.dumps(meta))
    said = analysis.headline(analysis.load(tmp_path))
    rows = [r for r in analysis.paired_verdicts(analysis.load(tmp_path))
            if (r.a, r.b) == ("session", "jwt_auth")]  # fmt: skip
    assert {r.group for r in rows} == {"main", "stores"}
    main_rows = sum(1 for r in rows if r.group == "main")
    assert f"held in {main_rows} of {main_rows} conditions" in said


def profile_redis_run(tmp_path: Path, redis_us: float):
    from tests.test_claim import write_paired_run

    medians = {"session_profile": 800, "session_redis_profile": redis_us, "jwt_profile": 900}
    run = write_paired_run(tmp_path, medians, a_a=False)
    meta = copy.deepcopy(run.meta)
    meta["scenario"]["paired"][0].update(
        name="profile",
        baseline="jwt_profile",
        pairs=[["session_redis_profile", "jwt_profile"],
               ["session_redis_profile", "session_profile"]],
    )  # fmt: skip
    for c in meta["cells"]:
        c["group"] = "profile"
    redis = {"AUTHBENCH_SESSION_STORE": "redis"}
    meta["scenario"]["servers"] = [
        {"label": "session_profile", "server": "session", "settings": {}, "path": "/profile"},
        {"label": "session_redis_profile", "server": "session", "settings": redis,
         "path": "/profile"},
        {"label": "jwt_profile", "server": "jwt_auth", "settings": {}, "path": "/profile"},
    ]  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps(meta))
    return analysis.load(tmp_path)


def test_profile_sentence_follows_the_redis_verdicts(tmp_path):
    slower = analysis.profile_sentence(profile_redis_run(tmp_path / "a", 1_300))
    assert "then the data in PostgreSQL) minus JWT: +" in slower
    assert "two stores cost more than one query" in slower
    faster = analysis.profile_sentence(profile_redis_run(tmp_path / "b", 600))
    assert "then the data in PostgreSQL) minus JWT: -" in faster
    assert "two stores beat one query" in faster
    assert "cost more than one query" not in faster
