"""Every computed sentence, pushed each way: the words must follow the data.

A sentence with fixed wording would pass a test that only checks it renders. Here every
`analysis.*_sentence` gets a synthetic run that says one thing and another that says the
opposite (FLIPS); the words must change and say the right thing each time. A new sentence
without an entry in FLIPS fails `test_every_sentence_is_pushed_both_ways`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench import analysis
from bench.results import write_run
from bench.run.scenario import PairedSpec, ServerSpec
from tests.support import curve_runs, synthetic
from tests.support.synthetic import claim_run, write

PG = ServerSpec("session", "session")
JWT = ServerSpec("jwt_auth", "jwt_auth")
CONTROL = ServerSpec("control", "control")


def closed_cells(
    session_us: float, jwt_us: float = 75.0, pg_us: float = 25.0, control_us=30.0, generator_us=None
) -> list[dict]:
    cells = []
    for r in (1, 2, 3):
        wobble = (0, 2, -2)[r - 1]
        cells += [
            synthetic.closed_cell("session", "session", r, session_us + wobble, pg_us),
            synthetic.closed_cell("jwt_auth", "jwt_auth", r, jwt_us + wobble),
            synthetic.closed_cell("control", "control", r, control_us + wobble),
        ]
    if generator_us is not None:
        for c in cells:
            c["cpu_us_per_request"]["load_generator"] = generator_us
    return cells


def micro(**figures: float) -> dict:
    return synthetic.micro({"opaque": 43, "HS256": 288, "RS256": 587}, **figures)


# --- the claim ---------------------------------------------------------------------------------


def answer_runs(tmp):
    slower = write(tmp / "a", *claim_run(tmp / "a", 1_100))
    faster = write(tmp / "b", *claim_run(tmp / "b", 600))
    return slower, faster


def with_closed(tmp, first: list[dict], second: list[dict]):
    """Two claim runs alike but for their closed-loop cells: `first` in one, `second` in the
    other."""
    runs = []
    for name, closed in (("a", first), ("b", second)):
        sc, cells = claim_run(tmp / name, 1_000)
        runs.append(write(tmp / name, sc, cells + closed))
    return tuple(runs)


def cpu_runs(tmp):
    return with_closed(tmp, closed_cells(150, pg_us=60), closed_cells(40, pg_us=5))


def auth_share_runs(tmp):
    sc, cells = claim_run(tmp / "a", 1_000)
    big = write(tmp / "a", sc, cells)
    sc, cells = claim_run(tmp / "b", 1_000)
    for c in cells:
        for arm in c["arms"].values():
            arm["auth_us"] = {"p50": 5.0}
    small = write(tmp / "b", sc, cells)
    return big, small


def flips_runs(tmp):
    distance = PairedSpec(
        ("far", "jwt_auth"),
        (("far", "jwt_auth"),),
        name="d",
        question="distance",
        rates=(1000.0,),
        unloaded=False,
    )
    far = ServerSpec("far", "session", db_delay_ms=5.0)
    sc, cells = claim_run(
        tmp / "a", 1_000, groups=(distance,), servers=(far,), extra={"far": 6_000}
    )
    for c in cells:
        if "far" in c["arms"]:
            c["arms"]["far"]["db_delay"] = synthetic.db_delay(5, 5.2)
    with_distance = write(tmp / "a", sc, cells)
    bare = write(tmp / "b", *claim_run(tmp / "b", 1_000))
    return with_distance, bare


def context_runs(tmp):
    """One run with its micro-benchmarks (how fast its machine was), one without."""
    sc, cells = claim_run(tmp / "a", 1_100)
    timed = write(tmp / "a", sc, cells, micro=micro(jwt_verify_HS256=25))
    return timed, write(tmp / "b", *claim_run(tmp / "b", 2_000))


def pair_run(path, session: float, wobble=(0, 0, 0)):
    """session against JWT alone (no A/A copy), at 1,000 req/s: `wobble` moves the session
    server alone from repeat to repeat, so the repeats' differences spread by it."""
    group = synthetic.claim_group(
        arms=("session", "jwt_auth"), pairs=(("session", "jwt_auth"),), a_a=None, unloaded=False
    )
    sc = synthetic.scenario(groups=(group,))
    medians = lambda arm, repeat, rate: (  # noqa: E731
        {"session": session + wobble[repeat - 1], "jwt_auth": 800}[arm]
    )
    return write(path, sc, synthetic.paired_cells(path, sc, medians))


def wobbling_claim(path):
    """The claim group, the session server's median wobbling by ±25 µs between repeats: its
    verdicts decide at 95%, and not all of them would at Bonferroni's level."""
    sc = synthetic.scenario(groups=(synthetic.claim_group(unloaded=False),))
    table = {"session": 940, "jwt_auth": 800, "jwt_auth_aa": 800, "control": 400}
    medians = lambda arm, repeat, rate: (  # noqa: E731
        table[arm] + (-25, 25, 0)[repeat - 1] * (arm == "session")
    )
    return write(path, sc, synthetic.paired_cells(path, sc, medians))


def comparisons_runs(tmp):
    return pair_run(tmp / "a", 1_600), wobbling_claim(tmp / "b")


def repeats_runs(tmp):
    return write(tmp / "a", *claim_run(tmp / "a", 1_600)), wobbling_claim(tmp / "b")


# --- under load ------------------------------------------------------------------------------


def tail_runs(tmp):
    sc, cells = claim_run(tmp / "a", 1_000)
    heavy = write(tmp / "a", sc, cells)
    sc, cells = claim_run(tmp / "b", 1_000)
    for c in cells:
        for arm in c["arms"].values():
            for lat in (arm["latency_us"], arm["corrected_latency_us"]):
                lat.update({"p99.9": lat["p50"] * 1.5, "max": lat["p50"] * 1.8, "mean": lat["p50"]})
    light = write(tmp / "b", sc, cells)
    return heavy, light


def saturation_runs(tmp):
    return with_closed(
        tmp,
        closed_cells(150, jwt_us=40, pg_us=60, control_us=20),
        closed_cells(80, jwt_us=78, pg_us=0, control_us=76),
    )


def generator_runs(tmp):
    return with_closed(tmp, closed_cells(80, generator_us=200), closed_cells(80, generator_us=10))


def omission_runs(tmp):
    def gaps(session_gap):
        def extra(cell, arm):
            p50 = 1000.0
            gap = session_gap if arm == "session" else 300.0
            return {
                "corrected_latency_us": {"p50": p50, "p99": 3 * p50 + gap, "max": 10 * p50},
                "latency_us": {
                    "p50": p50,
                    "p90": 1.5 * p50,
                    "p99": 3 * p50,
                    "p99.9": 5 * p50,
                    "max": 10 * p50,
                    "mean": 1.1 * p50,
                },
            }

        return extra

    sc = synthetic.scenario(groups=(synthetic.claim_group(),))
    timer = write(
        tmp / "a", sc, synthetic.paired_cells(tmp / "a", sc, lambda *_: 900, extra=gaps(310))
    )
    queued = write(
        tmp / "b", sc, synthetic.paired_cells(tmp / "b", sc, lambda *_: 900, extra=gaps(2_000))
    )
    return timer, queued


def auth_time_runs(tmp):
    def runs(path, busy_auth):
        sc = synthetic.scenario(
            groups=(synthetic.claim_group(unloaded=True, rates=(250.0, 2000.0)),)
        )
        cells = synthetic.paired_cells(path, sc, lambda *_: 900)
        for c in cells:
            for arm in c["arms"].values():
                arm["auth_us"] = {
                    "p50": 40.0 if c["rate"] is None else busy_auth if c["rate"] == 2000 else 45.0
                }
        return write(
            path, sc, cells, micro=micro(jwt_verify_HS256=30, session_lookup_unix_socket=60)
        )

    return runs(tmp / "a", 200.0), runs(tmp / "b", 41.0)


def arrivals_runs(tmp):
    def runs(path, uniform_session):
        uniform = synthetic.claim_group(
            name="even", question="arrivals", arrivals="uniform", a_a=None, unloaded=False
        )
        sc = synthetic.scenario(groups=(synthetic.claim_group(), uniform))
        medians = lambda arm, repeat, rate: {"session": 1_200, "jwt_auth": 800}.get(arm, 700)  # noqa: E731
        cells = synthetic.paired_cells(path, sc, medians)
        # The uniform group's cells: the session arm closer to JWT.
        sc_uniform = synthetic.scenario(groups=(uniform,))
        even = synthetic.paired_cells(
            path,
            sc_uniform,
            lambda arm, r, rate: {"session": uniform_session, "jwt_auth": 800}.get(arm, 700),
            seed=9,
        )
        return write(path, sc, [c for c in cells if c["group"] != "even"] + even)

    return runs(tmp / "a", 900), runs(tmp / "b", 1_200)


def averages_runs(tmp):
    return tail_runs(tmp)


# --- the auth step alone -----------------------------------------------------------------------


def micro_runs(tmp):
    sc = synthetic.scenario()
    slower = write(
        tmp / "a",
        sc,
        [],
        micro=micro(
            jwt_verify_HS256=30,
            session_lookup_unix_socket=60,
            select_1_unix_socket=50,
            session_token_sha256=0.6,
        ),
    )
    faster = write(
        tmp / "b",
        sc,
        [],
        micro=micro(
            jwt_verify_HS256=90,
            session_lookup_unix_socket=60,
            select_1_unix_socket=70,
            session_token_sha256=0.6,
        ),
    )
    return slower, faster


def token_runs(tmp):
    sc = synthetic.scenario()
    big = write(tmp / "a", sc, [], micro=micro(jwt_verify_HS256=30))
    small_micro = synthetic.micro({"opaque": 43, "HS256": 60}, jwt_verify_HS256=30)
    small = write(tmp / "b", sc, [], micro=small_micro)
    return big, small


def prepared_runs(tmp):
    sc = synthetic.scenario()
    saving = write(
        tmp / "a", sc, [], micro=micro(jwt_verify_HS256=40, jwt_verify_HS256_prepared_key=30)
    )
    loss = write(
        tmp / "b", sc, [], micro=micro(jwt_verify_HS256=30, jwt_verify_HS256_prepared_key=40)
    )
    return saving, loss


def pem_runs(tmp):
    sc = synthetic.scenario()
    dear = write(
        tmp / "a", sc, [], micro=micro(jwt_sign_RS256=900, jwt_sign_RS256_pem_string=90_000)
    )
    cheap = write(tmp / "b", sc, [], micro=micro(jwt_sign_RS256=900, jwt_sign_RS256_pem_string=950))
    return dear, cheap


def store_micro_runs(tmp):
    sc = synthetic.scenario()
    figures = dict(
        session_lookup_unix_socket=60, select_1_unix_socket=50, redis_ping_unix_socket=40
    )
    faster = write(tmp / "a", sc, [], micro=micro(redis_session_lookup_unix_socket=45, **figures))
    slower = write(tmp / "b", sc, [], micro=micro(redis_session_lookup_unix_socket=90, **figures))
    return faster, slower


# --- stores, /profile, distance, variants, algorithms, runtimes --------------------------------

REDIS = ServerSpec("kv", "session", {"AUTHBENCH_SESSION_STORE": "redis"})


def group_run(path, servers, group, medians, **extra):
    sc = synthetic.scenario(servers=(CONTROL, PG, JWT, *servers), groups=(group,))
    return write(path, sc, synthetic.paired_cells(path, sc, medians), **extra)


def store_runs(tmp):
    group = PairedSpec(
        ("kv", "session", "jwt_auth"),
        (("kv", "jwt_auth"), ("kv", "session")),
        name="s",
        question="stores",
        rates=(1000.0,),
        unloaded=False,
    )
    slow = group_run(
        tmp / "a",
        (REDIS,),
        group,
        lambda a, r, rate: {"kv": 1_200, "session": 900, "jwt_auth": 800}[a],
    )
    fast = group_run(
        tmp / "b",
        (REDIS,),
        group,
        lambda a, r, rate: {"kv": 600, "session": 900, "jwt_auth": 800}[a],
    )
    return slow, fast


def profile_runs(tmp):
    joined = ServerSpec("pp", "session", path="/profile")
    jwt_p = ServerSpec("jp", "jwt_auth", path="/profile")
    group = PairedSpec(
        ("pp", "jp"), (("pp", "jp"),), name="p", question="profile", rates=(1000.0,), unloaded=False
    )
    slower = group_run(
        tmp / "a", (joined, jwt_p), group, lambda a, r, rate: {"pp": 1_300, "jp": 900}[a]
    )
    faster = group_run(
        tmp / "b", (joined, jwt_p), group, lambda a, r, rate: {"pp": 600, "jp": 900}[a]
    )
    return slower, faster


def same_pair_runs(tmp):
    stores = PairedSpec(
        ("session", "jwt_auth", "kv"),
        (("session", "jwt_auth"),),
        name="s",
        question="stores",
        rates=(1000.0,),
        unloaded=False,
    )

    def runs(path, other_session):
        sc = synthetic.scenario(
            servers=(CONTROL, PG, JWT, REDIS), groups=(synthetic.claim_group(), stores)
        )

        def medians(
            arm,
            repeat,
            rate,
        ):
            return {"session": 1_100, "jwt_auth": 800}.get(arm, 700)

        cells = [c for c in synthetic.paired_cells(path, sc, medians) if c["group"] == "main"]
        sc_s = synthetic.scenario(servers=(CONTROL, PG, JWT, REDIS), groups=(stores,))
        cells += synthetic.paired_cells(
            path,
            sc_s,
            lambda a, r, rate: {"session": other_session, "jwt_auth": 800}.get(a, 700),
            seed=3,
        )
        return write(path, sc, cells)

    return runs(tmp / "a", 1_100), runs(tmp / "b", 2_500)


def distance_runs(tmp):
    far = ServerSpec("far", "session", db_delay_ms=5.0)
    near = ServerSpec("near", "session", db_delay_ms=0.0)
    group = PairedSpec(
        ("near", "far", "jwt_auth"),
        (("near", "jwt_auth"), ("far", "jwt_auth")),
        name="d",
        question="distance",
        rates=(1000.0,),
        unloaded=False,
    )

    def runs(path, far_median):
        sc = synthetic.scenario(servers=(CONTROL, PG, JWT, near, far), groups=(group,))
        cells = synthetic.paired_cells(
            path, sc, lambda a, r, rate: {"near": 850, "far": far_median, "jwt_auth": 800}[a]
        )
        for c in cells:
            c["arms"]["near"]["db_delay"] = synthetic.db_delay(0, 0.05)
            c["arms"]["far"]["db_delay"] = synthetic.db_delay(5, 5.1)
        return write(path, sc, cells)

    return runs(tmp / "a", 6_000), runs(tmp / "b", 830)


def variant_runs(tmp):
    cached = ServerSpec("sc", "session", {"AUTHBENCH_SESSION_CACHE_TTL": "1"})
    group = PairedSpec(
        ("sc", "session"),
        (("sc", "session"),),
        name="v",
        question="variants",
        rates=(1000.0,),
        unloaded=False,
        tokens=5000,
    )
    saves = group_run(
        tmp / "a", (cached,), group, lambda a, r, rate: {"sc": 500, "session": 900}[a]
    )
    costs = group_run(
        tmp / "b", (cached,), group, lambda a, r, rate: {"sc": 1_500, "session": 900}[a]
    )
    return saves, costs


def algorithm_runs(tmp):
    rs = ServerSpec("rs", "jwt_auth", {"AUTHBENCH_JWT_ALG": "RS256"})
    group = PairedSpec(
        ("jwt_auth", "rs"),
        (("rs", "jwt_auth"),),
        name="a",
        question="algorithms",
        rates=(1000.0,),
        unloaded=False,
    )
    slower = group_run(
        tmp / "a",
        (rs,),
        group,
        lambda a, r, rate: {"rs": 1_300, "jwt_auth": 800}[a],
        micro=micro(jwt_verify_HS256=30),
    )
    level = group_run(
        tmp / "b",
        (rs,),
        group,
        lambda a, r, rate: {"rs": 805, "jwt_auth": 800}[a],
        micro=micro(jwt_verify_HS256=30),
    )
    return slower, level


def runtime_runs(tmp, inconclusive: bool = False, unloaded: bool = False):
    node = [ServerSpec(f"{k}_node", k, runtime="node") for k in ("session", "jwt_auth", "control")]
    groups = (
        PairedSpec(
            ("session", "jwt_auth", "control"),
            (("session", "jwt_auth"),),
            name="py",
            question="runtimes",
            rates=(1000.0,),
            unloaded=unloaded,
        ),
        PairedSpec(
            ("session_node", "jwt_auth_node", "control_node"),
            (("session_node", "jwt_auth_node"),),
            name="nd",
            question="runtimes",
            rates=(1000.0,),
            unloaded=unloaded,
        ),
    )

    def runs(path, node_session):
        sc = synthetic.scenario(servers=(CONTROL, PG, JWT, *node), groups=groups)

        def medians(a, r, rate):
            return {
                "session": 1_100,
                "jwt_auth": 800,
                "session_node": node_session(r) if callable(node_session) else node_session,
                **({"session_node": 805} if unloaded and rate is None else {}),
                "jwt_auth_node": 800,
            }.get(a, 500)

        return write(path, sc, synthetic.paired_cells(path, sc, medians))

    if inconclusive:  # Node's difference swings from repeat to repeat: its interval is wide
        return runs(tmp / "a", 1_100), runs(
            tmp / "b", lambda repeat: (700, 1_400, 1_000)[repeat - 1]
        )
    return runs(tmp / "a", 1_100), runs(tmp / "b", 780)


# --- experiments outside the grid ---------------------------------------------------------------

OUTAGE = synthetic.availability()


def availability_runs(tmp):
    sc = synthetic.scenario()
    recovered = write(tmp / "a", sc, [], availability=[OUTAGE])
    never = write(
        tmp / "b",
        sc,
        [],
        availability=[{**OUTAGE, "recovered_after_s": None, "slowest_answer_ms": None}],
    )
    return recovered, never


def failure_runs(tmp):
    sc = synthetic.scenario()
    closed = write(tmp / "a", sc, [], availability=[OUTAGE])
    opened = write(tmp / "b", sc, [], availability=[{**OUTAGE, "outage_statuses": {"200": 50}}])
    return closed, opened


def revocation_runs(tmp):
    sc = synthetic.scenario()
    refused = write(tmp / "a", sc, [], revocation=[synthetic.revocation()])
    kept = synthetic.revocation(
        "jwt_auth",
        "jwt_auth",
        accepted_after_logout=300,
        last_accepted_ms=2990.0,
        still_accepted_at_end=True,
        token_valid_for_s=3596,
    )
    return refused, write(tmp / "b", sc, [], revocation=[kept])


def capacity_runs(tmp):
    two = ServerSpec("s2", "session", workers=2)

    def runs(path, measured_rps):
        sc = synthetic.scenario(servers=(CONTROL, PG, JWT, two))
        cells = closed_cells(80, pg_us=25, generator_us=20)
        cells += [
            synthetic.closed_cell("s2", "session", r, 90, 25, rps=measured_rps) for r in (1, 2, 3)
        ]
        layout = {"cpu_layout": {"servers": [1], "load_generator": [0]}, "pinned": True}
        return write(path, sc, cells, settings=layout)

    return runs(tmp / "a", 9_500), runs(tmp / "b", 4_000)


def bill_runs(tmp):
    sc = synthetic.scenario()
    dear = write(tmp / "a", sc, closed_cells(150, pg_us=60))
    cheap = write(tmp / "b", sc, closed_cells(40, jwt_us=90, pg_us=5))
    return dear, cheap


# FLIPS: sentence -> (two runs that say opposite things, words in the first, words in the second)
FLIPS: dict[str, tuple[Callable, str, str]] = {
    "answer_sentence": (answer_runs, "the claim holds here", "the claim is reversed here"),
    "flips_sentence": (flips_runs, "further away the difference was", "is not in this run"),
    "context_sentence": (
        context_runs,
        "verifying an HS256 JWT took 25.0 µs in-process",
        "This run has no micro-benchmark",
    ),
    "comparisons_sentence": (
        comparisons_runs,
        "conclusive latency verdicts would stand at that level",
        "would become inconclusive at that level",
    ),
    "repeats_sentence": (repeats_runs, "were already enough", "repeats would be needed"),
    "cpu_ratio_sentence": (cpu_runs, "session costs more", "session costs less"),
    "auth_share_sentence": (auth_share_runs, "(33%)", "(1%)"),
    "tail_sentence": (tail_runs, "far from the median", "close to the median"),
    "averages_sentence": (averages_runs, "an average hides", "the mean happens to say"),
    "saturation_sentence": (saturation_runs, "(10.5x)", "(1.1x)"),
    "load_generator_sentence": (
        generator_runs,
        "runs out of CPU first",
        "the server, not the load generator",
    ),
    "omission_sentence": (
        omission_runs,
        "No server's gap stood out",
        "that part is the server's own queueing",
    ),
    "auth_time_sentence": (
        auth_time_runs,
        "The busier the server, the slower",
        "about what it costs in a tight loop",
    ),
    "arrivals_sentence": (
        arrivals_runs,
        "With random arrivals the difference was larger",
        "did not change the difference",
    ),
    "micro_sentence": (micro_runs, "(2.0x, slower)", "(0.7x, faster)"),
    "token_size_sentence": (token_runs, "up to 544 extra bytes", "up to 17 extra bytes"),
    "prepared_key_sentence": (prepared_runs, "less per call", "did not pay off"),
    "pem_sentence": (pem_runs, "(100x)", "(1x)"),
    "store_micro_sentence": (store_micro_runs, "Redis faster", "Redis slower"),
    "store_sentence": (store_runs, "JWT is still faster", "Redis sessions are faster than JWT"),
    "profile_sentence": (
        profile_runs,
        "still slower by more than the margin",
        "the session server is the faster one",
    ),
    "same_pair_sentence": (
        same_pair_runs,
        "Their intervals overlap",
        "Their intervals do not overlap",
    ),
    "distance_sentence": (distance_runs, "the claim holds from", "held at none of these distances"),
    "variant_sentence": (
        variant_runs,
        "faster by more than the margin",
        "slower by more than the margin",
    ),
    "algorithm_sentence": (algorithm_runs, "slower than HS256", "no difference beyond the margin"),
    "runtime_sentence": (
        runtime_runs,
        "the verdict is the same on all 2 runtimes",
        "The runtimes disagree",
    ),
    "availability_sentence": (
        availability_runs,
        "served again within 0.05 s",
        "never served again",
    ),
    "failure_mode_sentence": (failure_runs, "failed closed", "failed open"),
    "revocation_sentence": (
        revocation_runs,
        "refused the token from the very next request",
        "still accepted it",
    ),
    "model_check_sentence": (capacity_runs, "within 10%", "below the prediction"),
    "bill_sentence": (bill_runs, "more cores in all than JWT", "fewer cores in all than JWT"),
    # The load curve (tests/support/curve_runs.py; tests/analysis/test_curve.py pushes the other cases)
    "curve_sentence": (
        curve_runs.everywhere_and_never,
        "by more than the margin at the median at every load of the curve; at p99 at every load",
        "at the median at no load of the curve",
    ),
    "curve_model_sentence": (
        curve_runs.model_holds_and_misses,
        "response time at every load of the curve",
        "M/M/1 missed at",
    ),
    "service_time_sentence": (
        curve_runs.hidden_and_not,
        "the queue that a closed-loop or service-time tester leaves out",
        "service time was within",
    ),
    "utilisation_sentence": (
        curve_runs.idle_and_busy,
        "as an idle core does",
        "within 20% of what the service demand predicts",
    ),
    "interference_sentence": (
        curve_runs.together_and_alone,
        "within the ±",
        "larger at once than alone by more than the margin",
    ),
}


def sentence_names() -> list[str]:
    return list(synthetic.run_sentences())


def test_every_sentence_is_pushed_both_ways():
    assert sorted(sentence_names()) == sorted(FLIPS)


@pytest.mark.parametrize("name", sorted(FLIPS))
def test_the_words_follow_the_data(tmp_path, name):
    build, one, other = FLIPS[name]
    first, second = build(tmp_path)
    said_first, said_second = getattr(analysis, name)(first), getattr(analysis, name)(second)
    assert said_first != said_second
    assert one in said_first and one not in said_second, said_first
    assert other in said_second and other not in said_first, said_second


def test_compare_sentence_blames_the_machine_only_when_the_machines_differ(tmp_path):
    a = write(tmp_path / "a", *claim_run(tmp_path / "a", 1_000))
    b = write(tmp_path / "b", *claim_run(tmp_path / "b", 2_000))
    moved = b.record.model_copy(deep=True)
    moved.environment.hostname = "elsewhere"
    write_run(tmp_path / "b", moved)
    other_machine = analysis.load(tmp_path / "b")
    assert "the machine moved the number" in analysis.compare_sentence(a, other_machine)
    assert "something changed between the runs" in analysis.compare_sentence(a, b)
    assert "Every pair of intervals overlaps" in analysis.compare_sentence(a, a)


def test_the_numbers_said_are_the_numbers_shown(tmp_path):
    """The auth share in the sentence is the table's; the CPU ratio's µs are its a_us/b_us."""
    sc, cells = claim_run(tmp_path, 1_000)
    run = write(tmp_path, sc, cells + closed_cells(100, pg_us=20))
    rows = {r["server"]: r for r in analysis.fixed_rate_rows(run)}
    said = analysis.auth_share_sentence(run)
    for label in ("session", "jwt_auth"):
        assert f"({rows[label]['auth_share']:.0%})" in said
        assert f"{rows[label]['p50_us']:.0f} µs median" in said
    ratios = analysis.cpu_ratio_rows(run)
    said = analysis.cpu_ratio_sentence(run)
    for r in (x for x in ratios if x.model == "closed"):
        assert f"{r.a_us:,.0f} µs against jwt_auth {r.b_us:,.0f} µs ({r.ratio:.2f}x" in said
        assert r.a_us / r.b_us == pytest.approx(r.ratio, abs=0.002)


def test_the_spectrum_counts_are_the_requests_recorded(tmp_path):
    """The spectrum's titles count each server's requests over every repeat: the requests the
    cells recorded for that arm, not the cell's total split by the number of arms."""
    from bench.analysis.plots import plot_percentile_spectrum

    sc, cells = claim_run(tmp_path, 1_000)
    run = write(tmp_path, sc, cells)
    per_arm = {}
    for cell in cells:
        if cell["rate"] == 1000:
            for label, arm in cell["arms"].items():
                per_arm[label] = per_arm.get(label, 0) + arm["requests"]
    shown = {per_arm[label] for label in ("session", "jwt_auth", "control")}
    (title,) = [axis.get_title() for axis in plot_percentile_spectrum(run).axes if axis.get_title()]
    assert title == f"1000 req/s in total; {min(shown):,} requests per server", title


def test_a_figure_that_fails_is_said_and_the_others_are_drawn(tmp_path, monkeypatch):
    """A run's figures are drawn one by one: one that cannot be drawn (here a plot raising, as a
    one-repeat interval once did) is one line, and every other figure is still written."""
    from bench.analysis import plots

    run = write(tmp_path / "run", *claim_run(tmp_path / "run", 1_000))

    def broken(_run):
        raise ValueError("Axis limits cannot be NaN or Inf")

    monkeypatch.setitem(plots.PLOTS, "claim_verdicts", broken)
    said = []
    written = plots.draw_all(run, tmp_path / "plots", warn=said.append)
    assert said == [
        "authbench: warning: claim_verdicts.png not drawn: ValueError: Axis limits "
        "cannot be NaN or Inf"
    ]
    assert {p.name for p in written} >= {"latency_vs_throughput.png", "percentile_spectrum.png"}


def test_a_one_repeat_run_draws_its_verdicts_without_intervals(tmp_path):
    from bench.analysis import plots

    run = write(tmp_path / "run", *claim_run(tmp_path / "run", 1_000, repeats=1))
    said = []
    written = plots.draw_all(run, tmp_path / "plots", warn=said.append)
    assert not said
    assert "claim_verdicts.png" in {p.name for p in written}


def test_a_run_of_runtimes_answers_per_runtime_not_with_no_answer(tmp_path):
    """The runtimes scenario has no claim group: its headline is the per-runtime answer, and
    it follows the data (the Node pair level in one run, slower in the other)."""
    agree, disagree = runtime_runs(tmp_path)
    said = analysis.headline(agree), analysis.headline(disagree)
    assert all("no answer" not in s for s in said), said
    assert "the verdict is the same on all 2 runtimes" in said[0]
    assert "The runtimes disagree: the claim holds on" in said[1]


def test_the_unloaded_verdicts_are_said_apart_from_the_loaded_ones(tmp_path):
    """Node's session level with JWT one request at a time (no_difference) while both runtimes
    hold under load: the sentence must not let "the same on all" cover the unloaded rows."""
    agree, _ = runtime_runs(tmp_path / "x")
    split, _ = runtime_runs(tmp_path / "y", unloaded=True)
    said, quiet = analysis.runtime_sentence(split), analysis.runtime_sentence(agree)
    assert "Under that load the verdict is the same on all 2 runtimes" in said, said
    assert "Unloaded (one request at a time) the runtimes do not all agree" in said, said
    assert "no_difference on Node.js" in said and "holds on Python" in said, said
    assert "Unloaded" not in quiet  # no unloaded rows, nothing said about them


def test_an_inconclusive_runtime_is_not_called_a_disagreement(tmp_path):
    """Python decided, Node's interval crossing the margin: the sentence says this run cannot
    decide on Node, not that the runtimes disagree, nor that they agree."""
    _, mixed = runtime_runs(tmp_path, inconclusive=True)
    said = analysis.runtime_sentence(mixed)
    assert "This run cannot decide on Node.js" in said, said
    assert "disagree" not in said and "the same on all" not in said, said


def test_the_headline_puts_the_effect_beside_the_network_and_its_own_interval(tmp_path):
    """The effect as a share of each stated round trip, the digits its interval gives meaning
    to, and the machine's speed: all computed from the run."""
    from bench.analysis.answer import meaningful

    timed, _ = context_runs(tmp_path)
    row = analysis.headline_row(timed)
    said = analysis.context_sentence(timed)
    effect = abs(row.delta_us)
    assert f"{effect:,.0f} µs is {effect / 500:.0%} of the round trip a client in the same" in said
    far = effect / 150_000  # shares under 10% get one decimal, under 0.1% two
    far_said = f"{far:.1%}" if far >= 0.001 else f"{far:.2%}"
    assert f"{far_said} of the round trip a client on another continent" in said
    figure, _ = meaningful(row.delta_us, row.ci_low_us, row.ci_high_us)
    assert f"read it as {figure}" in said
    assert said in analysis.headline(timed)
    assert meaningful(119, 64, 173) == ("+120 ± 50 µs", 10)
    assert meaningful(1_234, 1_000, 1_468) == ("+1,200 ± 200 µs", 100)
    assert meaningful(5, float("nan"), float("nan")) is None


def test_the_headline_says_each_servers_share_of_the_rate(tmp_path):
    """Four arms (the A/A copy included) at 1,000 req/s in total: 250 each."""
    run = write(tmp_path, *claim_run(tmp_path, 1_000))
    assert "1,000 requests per second in total, 250 to each of its 4 servers" in (
        analysis.answer_sentence(run)
    )


def test_repeats_needed_is_the_smallest_n_whose_interval_is_narrow_enough():
    from scipy import stats

    def half_width(s, n):
        return stats.t.ppf(0.975, n - 1) * s / n**0.5

    values = [10.0, 20.0, 30.0]  # s = 10
    for h in (50.0, 10.0, 5.0, 1.0):
        n = analysis.repeats_needed(values, h)
        assert half_width(10.0, n) <= h and (n == 2 or half_width(10.0, n - 1) > h), (h, n)
    assert analysis.repeats_needed(values, 10.0) == 7  # t(6) 10 / √7 = 9.2; t(5) 10 / √6 = 10.5
    assert analysis.repeats_needed([5.0], 1.0) is None  # no spread to go on
    assert analysis.repeats_needed([5.0, 5.0], 1.0) == 2


def test_repeats_needed_is_found_where_the_fixed_point_iteration_bounces():
    """s = 22.2 µs, h = 31.8 µs (the reference run's 250 req/s median): iterating
    n = (t(n-1) s / h)^2 from n = 2 bounces between 79 and 2 for ever. By hand, with scipy's t:
    n = 4 gives 3.182 × 22.2 / √4 = 35.3 > 31.8, n = 5 gives 2.776 × 22.2 / √5 = 27.6 <= 31.8."""
    from scipy import stats

    assert stats.t.ppf(0.975, 3) * 22.2 / 4**0.5 > 31.8 >= stats.t.ppf(0.975, 4) * 22.2 / 5**0.5
    assert analysis.repeats_needed([0.0, 22.2, 44.4], 31.8) == 5  # sd of these three: 22.2
    assert analysis.repeats_needed([0.0, 22.2, 44.4], 1e-9, most=50) == 50  # not even 50 would do


def test_the_arrivals_sentence_and_block_give_each_servers_own_rate(tmp_path):
    """Four arms against three at the same total rate: the sentence, the README block and the
    figure's title state each group's rate per server; equal arm counts give one figure."""
    from bench.analysis import generated, spacing

    different, _ = arrivals_runs(tmp_path)
    said = analysis.arrivals_sentence(different)
    assert "250.0 req/s each with random arrivals (4 servers)" in said, said
    assert "333.3 req/s each with evenly spaced ones (3 servers)" in said, said
    block = generated.arrivals(different)
    assert "| 250.0 / 333.3 req/s |" in block and "different numbers of servers" in block
    title = spacing.arrivals_title(different)
    assert title.endswith(
        "shared by 4 servers, evenly spaced ones by 3: each server's own rate differs)"
    )
    assert spacing.per_server_words(1_000.0, {"poisson": 4, "uniform": 4}) == (
        "250.0 req/s each (4 servers)"
    )


def test_a_scheme_measured_only_at_a_fixed_rate_is_left_out_of_the_bill(tmp_path):
    """The cached session server measured only as an arm at a fixed rate: its CPU per request
    is not comparable with the closed-loop figures, so the bill leaves it out and says why;
    with a closed-loop figure of its own it is priced like the others."""
    cached = ServerSpec("sc", "session", {"AUTHBENCH_SESSION_CACHE_TTL": "1"})
    group = PairedSpec(
        ("sc", "jwt_auth"), (("sc", "jwt_auth"),), name="v", question="variants", rates=(1000.0,)
    )
    sc = synthetic.scenario(servers=(CONTROL, PG, JWT, cached), groups=(group,))
    paired = synthetic.paired_cells(tmp_path / "f", sc, lambda a, r, rate: 900)
    fixed = write(tmp_path / "f", sc, closed_cells(80) + paired)
    said = analysis.bill_sentence(fixed)
    assert "Left out of the bill: sessions in PostgreSQL, cached" in said, said
    schemes = {r["scheme"] for r in analysis.capacity_rows(fixed)}
    assert "sessions in PostgreSQL, cached" not in schemes and "JWT" in schemes
    cells = closed_cells(80) + [
        synthetic.closed_cell("sc", "session", r, 90, 10) for r in (1, 2, 3)
    ]
    alone = synthetic.scenario(servers=(CONTROL, PG, JWT, cached))
    closed = write(tmp_path / "closed", alone, cells)
    assert "Left out of the bill" not in analysis.bill_sentence(closed)
    assert "sessions in PostgreSQL, cached" in {r["scheme"] for r in analysis.capacity_rows(closed)}


def test_the_control_gap_is_not_called_the_same_for_every_server(tmp_path):
    """The other servers' gaps land on either side of the control's: the sentence gives their
    spread over every rate instead of calling the control's gap everyone's."""
    timer, queued = omission_runs(tmp_path)
    for run in (timer, queued):
        said = analysis.omission_sentence(run)
        assert "the same for every server" not in said.replace("not the same for every", "")
        beyond = [
            r["beyond_timer_us"] for r in analysis.omission_rows(run) if r["server"] != "control"
        ]
        assert f"by {min(beyond):+,.0f} µs (" in said and f"to {max(beyond):+,.0f} µs (" in said
    assert analysis.omission_sentence(timer) != analysis.omission_sentence(queued)


def test_arrivals_are_called_alike_only_when_each_server_got_the_same_share(tmp_path):
    """The claim group has four arms (its A/A copy), the uniform group three: the same total
    rate is not the same rate per server, and the sentence must not say it is."""
    different, _ = arrivals_runs(tmp_path)
    said = analysis.arrivals_sentence(different)
    assert "not at the same rate each" in said and "among 4 arms" in said and "among 3" in said
    assert "only the arrivals changed" not in said
    shares = {(r["arrivals"], r["rate_per_arm"]) for r in analysis.arrivals_rows(different)}
    assert shares == {("poisson", 250.0), ("uniform", 333.3)}


def test_the_summary_table_can_show_the_claim_group_alone(tmp_path):
    """Notebook 02's table: the claim group's arms only, so the other experiments' servers stay
    unseen until their own notebooks ask to predict them; without the flag every server."""
    extra = ServerSpec("jwt_rs256", "jwt_auth", {"AUTHBENCH_JWT_ALG": "RS256"})
    group = PairedSpec(
        ("jwt_rs256", "jwt_auth"),
        (("jwt_rs256", "jwt_auth"),),
        name="alg",
        question="algorithms",
        rates=(1000.0,),
    )
    run = write(tmp_path, *claim_run(tmp_path, 1_000, groups=(group,), servers=(extra,)))
    every = {row["server"] for row in analysis.summary_table(run).rows}
    claim = {row["server"] for row in analysis.summary_table(run, claim_only=True).rows}
    assert "jwt_rs256" in every and claim == every - {"jwt_rs256"}
    assert claim == set(run.model.claim.arms) & every


def test_the_same_pair_says_which_groups_overlap_and_which_lie_apart():
    """Three groups' intervals for one pair: two that overlap and one below both is not "do not
    overlap"; the same three all overlapping is "overlap"; none overlapping gives their order."""
    from bench.analysis.stores import overlap_words

    def rows(*intervals):
        return [
            {"group": g, "ci_low_us": lo, "ci_high_us": hi}
            for g, (lo, hi) in zip(("main", "stores", "uniform"), intervals, strict=False)
        ]

    mixed = overlap_words(rows((142, 165), (121, 166), (88, 96)))
    assert mixed == (
        "Their intervals do not all overlap: main and stores overlap; uniform lies below both."
    ), mixed
    above = overlap_words(rows((142, 165), (121, 166), (170, 180)))
    assert "uniform lies above both" in above, above
    chain = overlap_words(rows((100, 120), (115, 140), (135, 160)))
    assert "main and stores overlap; stores and uniform overlap; main and uniform do not" in chain
    together = overlap_words(rows((142, 165), (121, 166), (150, 170)))
    assert together.startswith("Their intervals overlap:") and "apart" not in together, together
    apart = overlap_words(rows((142, 165), (10, 20), (88, 96)))
    assert apart == (
        "Their intervals do not overlap: stores, uniform, main from lowest to highest."
    ), apart


def test_the_arrivals_sentence_gives_the_ratios_and_whether_they_held_at_every_rate(
    monkeypatch,
):
    """Random arrivals 1.4x to 1.7x the evenly spaced difference at each of three rates: "at
    every rate" with that range; one rate at 1.1x: the rates it held at, and the one it did not."""
    from bench.analysis import spacing

    def rows(random_us):
        out = []
        for rate, p in zip((250.0, 500.0, 1000.0), random_us, strict=True):
            for arrivals, delta in (("poisson", p), ("uniform", 100.0)):
                out.append({"arrivals": arrivals, "rate": rate, "arms": 4, "delta_p50_us": delta})
        return out

    monkeypatch.setattr(spacing, "arrivals_rows", lambda run: rows((140.0, 150.0, 170.0)))
    every = spacing.arrivals_sentence(None)
    assert "larger by more than a fifth at every rate (3 of 3): 1.4x to 1.7x" in every, every
    assert "most rates" not in every
    monkeypatch.setattr(spacing, "arrivals_rows", lambda run: rows((140.0, 150.0, 110.0)))
    most = spacing.arrivals_sentence(None)
    assert "at 2 of 3 rates, not at 1000 req/s: 1.1x to 1.5x" in most, most
    assert "every rate" not in most
