"""The answer in one sentence a newcomer can repeat, and one more for what flips it.

Both are computed from the run: the claim group's headline pair at the reference rate (its
estimate, interval, verdict and share of the response), under the conditions the run recorded
(where the store was, which endpoint, which arrival process, which machine). The second
sentence reads the distance and /profile comparisons when the run has them.
"""

from __future__ import annotations

import math

from bench.analysis import verdict_lines, verdicts
from bench.analysis.runs import STORE_NAMES, Run, micro_figure

JUDGED = {
    "holds": "the claim holds here: slower by more than the {m} margin",
    "no_difference": "the claim does not hold here: within the {m} margin",
    "reversed": "the claim is reversed here: the session server was the faster one",
    "inconclusive": "inconclusive here ({why})",
}


def headline_row(run: Run, quantile: float = 0.5) -> verdicts.PairVerdict | None:
    """The claim group's headline pair at the reference rate (else its busiest rate), at
    `quantile` (the median by default)."""
    group = run.model.claim
    if group is None:
        return None
    rows = [
        r
        for r in verdicts.paired_verdicts(run, group=group.name, quantile=quantile)
        if (r.a, r.b) == (group.headline.a, group.headline.b)
    ]
    loaded = [r for r in rows if r.rate is not None]
    chosen = [r for r in loaded if r.rate == run.reference_rate] or loaded[-1:] or rows[:1]
    return chosen[0] if chosen else None


def condition(run: Run, row: verdicts.PairVerdict) -> str:
    """Where and how it was measured, in a phrase: the load as a fraction of the group's
    capacity, the absolute rate and the measured utilisation of the servers' core (not
    measured, and said so, when an arm is external: a deployment reached at its URL)."""
    a = run.model.server(row.a)
    store = STORE_NAMES.get(a.store or "", "the store")
    env = run.record.environment
    near = (
        "on the same host"
        if a.db_delay_ms is None and (env.postgres_source or "embedded") == "embedded"
        else "where DATABASE_URL put it"
    )
    outside = [s for s in (a, run.model.server(row.b)) if s.external]
    if row.rate is None:
        load = "one request at a time"
    else:
        rate = (
            f"{row.rate:,.0f} requests per second in total, {_per_server(run, row)}"
            f"{row.arrivals or 'poisson'} arrivals"
        )
        busy = verdict_lines.busy_phrase(row.cores_busy, bool(outside))
        busy = f"; {busy}" if busy else ""
        load = (
            f"{row.load_fraction:.0%} of capacity ({rate}{busy})"
            if row.load_fraction is not None
            else f"{rate}{busy}"
        )
    cpu = env.cpu_model or "this machine"
    cores = env.cpu_count
    machine = f"{cpu}{f', {cores} cores' if cores else ''}"
    if outside:
        urls = ", ".join(f"{s.label} at {s.url}" for s in outside)
        return f"From this machine ({machine}) to external arms ({urls}), GET {a.path}, at {load}"
    return f"On this machine ({machine}), with {store} {near}, GET {a.path}, at {load}"


def _per_server(run: Run, row: verdicts.PairVerdict) -> str:
    """ "250 to each of its 4 servers, ": the group's arms (its A/A copy included) share the
    total rate, so a group of four and a group of three at one total rate load each server
    differently."""
    group = next((g for g in run.model.groups if g.name == row.group), None)
    if group is None or row.rate is None:
        return ""
    arms = len(group.arms) + bool(group.a_a)
    return f"{row.rate / arms:,.0f} to each of its {arms} servers, "


def answer_sentence(run: Run) -> str:
    row = headline_row(run)
    if row is None:
        return "This run has no paired comparison of the session server with JWT: no answer."
    slower = "slower" if row.delta_us >= 0 else "faster"
    share = abs(row.delta_us) / row.b_us if row.b_us else None
    judged = JUDGED[row.verdict].format(
        m=f"±{row.margin_us:,.0f} µs", why=row.reason or "the interval crosses the margin"
    )
    what = (
        "response time (from each request's intended start)"
        if row.latency == "response"
        else "service time"
    )
    return (
        f"{condition(run, row)}: looking the session up made the median {what} "
        f"{abs(row.delta_us):,.0f} µs {slower} than verifying a JWT (95% interval "
        f"{verdict_lines.signed(row.ci_low_us)} to {verdict_lines.signed(row.ci_high_us)} µs over "
        f"{row.repeats} repeats"
        + (
            f", {share:.0%} of the JWT server's {row.b_us:,.0f} µs median, every request of the "
            "repeats pooled"
            if share
            else ""
        )
        + f"): {judged}."
        + _tail(run, row)
    )


# What a client waits for the network alone, one round trip, at three distances: figures of
# scale from published sources (docs/glossary.md, "Round trip", cites them), not measurements
# of any run. (where, low µs, high µs, as the sources put it)
DISTANCES = (
    ("in the same data centre", 500.0, 500.0, "about 0.5 ms"),
    ("in another zone of the same cloud region", 1_000.0, 9_000.0, "single-digit milliseconds"),
    ("on another continent", 150_000.0, 150_000.0, "about 150 ms"),
)


def _share(x: float) -> str:
    return f"{x:.0%}" if x >= 0.095 else f"{x:.1%}" if x >= 0.001 else f"{x:.2%}"


def meaningful(estimate: float, low: float, high: float) -> tuple[str, float] | None:
    """The estimate with the digits its interval gives meaning to, and the finest step that
    still means something: +119 µs with an interval of +64 to +173 (±54) is "+120 ± 50 µs",
    step 10. None without a finite interval."""
    half = (high - low) / 2
    if not (math.isfinite(half) and half > 0):
        return None
    step = 10 ** math.floor(math.log10(half))
    return (
        f"{verdict_lines.signed(round(estimate / step) * step)} ± {round(half / step) * step:,.0f} µs",
        step,
    )


def context_sentence(run: Run) -> str:
    """The headline's effect beside what a client waits at three network distances, the digits
    the run's own interval gives meaning to, and how fast this machine was (one in-process
    figure a reader can compare with `make micro` on theirs)."""
    row = headline_row(run)
    if row is None:
        return ""
    effect = abs(row.delta_us)
    beside = []
    for where, low, high, said in DISTANCES:
        share = (
            _share(effect / low)
            if low == high
            else f"{_share(effect / high)} to {_share(effect / low)}"
        )
        beside.append(f"{share} of the round trip a client {where} waits ({said})")
    text = f"For scale, {effect:,.0f} µs is " + "; ".join(beside) + "."
    if (digits := meaningful(row.delta_us, row.ci_low_us, row.ci_high_us)) is not None:
        figure, step = digits
        text += (
            f" Its interval gives meaning to steps of {step:,.0f} µs and no finer: read it as "
            f"{figure}. Another run on this machine may land elsewhere: docs/coverage.md "
            "measures how far whole runs move."
        )
    verify = micro_figure(run, "jwt_verify_HS256")
    text += (
        f" How fast this machine was: verifying an HS256 JWT took {verify:,.1f} µs in-process "
        "(the micro-benchmark's median); `make micro` times the same on yours, to compare "
        "before comparing anything else."
        if verify is not None
        else " This run has no micro-benchmark to say how fast its machine was: `make micro` "
        "times verifying a JWT in-process, on any machine."
    )
    return text


def _tail(run: Run, median: verdicts.PairVerdict) -> str:
    """The same pair at p99, where the tails move more than the medians."""
    row = headline_row(run, 0.99)
    if row is None or row.rate != median.rate:
        return ""
    words = {
        "holds": "slower by more than its margin",
        "reversed": "faster by more than its margin",
        "no_difference": "within its margin",
    }.get(row.verdict, f"inconclusive ({row.reason or 'the interval crosses the margin'})")
    return (
        f" At p99 the difference was {verdict_lines.signed(row.delta_us)} µs (interval "
        f"{verdict_lines.signed(row.ci_low_us)} to {verdict_lines.signed(row.ci_high_us)}, "
        f"margin ±{row.margin_us:,.0f} µs): {words}."
    )


def flips_sentence(run: Run) -> str:
    """What moves the answer (for or against the claim), from the run's distance and /profile comparisons."""
    parts = []
    far = _farthest_distance(run)
    if far is not None:
        parts.append(
            f"with the database {far['measured_rtt_ms']:.1f} ms further away the "
            f"difference was {verdict_lines.signed(far['delta_p50_us'])} µs "
            f"({far['verdict'].replace('_', ' ')})"
        )
    profile = _profile_row(run)
    if profile is not None:
        word = {
            "reversed": "the session server was faster",
            "holds": "the session server was still slower",
            "no_difference": "the two were level",
        }.get(profile.verdict, "inconclusive")
        parts.append(
            f"on an endpoint that reads the database anyway (GET /profile, the lookup "
            f"folded into its query) {word}: {verdict_lines.signed(profile.delta_us)} µs "
            f"(interval {verdict_lines.signed(profile.ci_low_us)} to "
            f"{verdict_lines.signed(profile.ci_high_us)})"
        )
    if not parts:
        return (
            "What would flip it (a farther database, an endpoint that reads the database "
            "anyway) is not in this run: the full scenario measures both."
        )
    return "What moves it: " + "; ".join(parts) + "."


def _farthest_distance(run: Run):
    from bench.analysis.distance import distance_rows

    rows = [r for r in distance_rows(run, "postgres") if r["delta_p50_us"] is not None]
    return rows[-1] if rows else None


def _profile_row(run: Run) -> verdicts.PairVerdict | None:
    from bench.analysis.stores import tag

    rows = [
        r
        for r in verdicts.paired_verdicts(run, question="profile")
        if (tag(run.model.server(r.a)), tag(run.model.server(r.b))) == ("postgres", "jwt")
    ]
    loaded = [r for r in rows if r.rate == run.reference_rate] or rows
    return loaded[0] if loaded else None


def headline(run: Run) -> str:
    """The answer in one sentence, then what flips it, then where the claim starts to bite
    along the load curve (when the run has one), then the A/A check if it speaks. A run that
    compares runtimes instead (no claim group) answers per runtime; a run of the load curve
    alone answers from its curve."""
    from bench.analysis import curve, curve_words

    group = run.model.claim
    if group is None and run.model.groups_for("runtimes"):
        from bench.analysis.runtimes import runtime_sentence

        return runtime_sentence(run)
    has_curve = curve.spec(run) is not None
    if group is None and has_curve:
        return curve_words.curve_sentence(run) + " " + curve_words.interference_sentence(run)
    text = answer_sentence(run) + " " + context_sentence(run) + " " + flips_sentence(run)
    if has_curve:
        text += " " + curve_words.curve_sentence(run)
    if group is not None and (
        warning := verdict_lines.a_a_warning(
            verdicts.paired_verdicts(run, group=group.name, quantile=None)
        )
    ):
        text += " " + warning
    return text
