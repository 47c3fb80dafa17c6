"""The answer in one sentence a newcomer can repeat, and one more for what flips it.

Both are computed from the run: the claim group's headline pair at the reference rate (its
estimate, interval, verdict and share of the response), under the conditions the run recorded
(where the store was, which endpoint, which arrival process, which machine). The second
sentence reads the distance and /profile comparisons when the run has them.
"""

from __future__ import annotations

from bench.analysis import verdicts
from bench.analysis.runs import STORE_NAMES, Run

JUDGED = {
    "holds": "the claim holds here: slower by more than the {m} margin",
    "no_difference": "the claim does not hold here: within the {m} margin",
    "reversed": "the claim is reversed here: the session server was the faster one",
    "inconclusive": "undecided here ({why})",
}


def headline_row(run: Run) -> verdicts.PairVerdict | None:
    """The claim group's headline pair at the reference rate (else its busiest rate)."""
    group = run.model.claim
    if group is None:
        return None
    rows = [
        r
        for r in verdicts.paired_verdicts(run, group=group.name)
        if (r.a, r.b) == (group.headline.a, group.headline.b)
    ]
    loaded = [r for r in rows if r.rate is not None]
    chosen = [r for r in loaded if r.rate == run.reference_rate] or loaded[-1:] or rows[:1]
    return chosen[0] if chosen else None


def condition(run: Run, row: verdicts.PairVerdict) -> str:
    """Where and how it was measured, in a phrase."""
    a = run.model.server(row.a)
    store = STORE_NAMES.get(a.store or "", "the store")
    env = run.record.environment
    near = (
        "on the same host"
        if a.db_delay_ms is None and (env.postgres_source or "embedded") == "embedded"
        else "where DATABASE_URL put it"
    )
    load = (
        "one request at a time"
        if row.rate is None
        else f"{row.rate:,.0f} requests per second in total, {row.arrivals or 'poisson'} arrivals"
    )
    cpu = env.cpu_model or "this machine"
    cores = env.cpu_count
    return (
        f"On this machine ({cpu}{f', {cores} cores' if cores else ''}), with {store} {near}, "
        f"GET {a.path}, at {load}"
    )


def answer_sentence(run: Run) -> str:
    row = headline_row(run)
    if row is None:
        return "This run has no paired comparison of the session server with JWT: no answer."
    slower = "slower" if row.delta_p50_us >= 0 else "faster"
    share = abs(row.delta_p50_us) / row.b_p50_us if row.b_p50_us else None
    judged = JUDGED[row.verdict].format(
        m=f"±{row.margin_us:,.0f} µs", why=row.reason or "the interval crosses the margin"
    )
    return (
        f"{condition(run, row)}: looking the session up made the median response "
        f"{abs(row.delta_p50_us):,.0f} µs {slower} than verifying a JWT (95% interval "
        f"{verdicts.signed(row.ci_low_us)} to {verdicts.signed(row.ci_high_us)} µs over "
        f"{row.repeats} repeats"
        + (f", {share:.0%} of the JWT server's {row.b_p50_us:,.0f} µs median" if share else "")
        + f"): {judged}."
    )


def flips_sentence(run: Run) -> str:
    """What moves the answer (for or against the claim), from the run's distance and /profile comparisons."""
    parts = []
    far = _farthest_distance(run)
    if far is not None:
        parts.append(
            f"with the database {far['measured_rtt_ms']:.1f} ms further away the "
            f"difference was {verdicts.signed(far['delta_p50_us'])} µs "
            f"({far['verdict'].replace('_', ' ')})"
        )
    profile = _profile_row(run)
    if profile is not None:
        word = {
            "reversed": "the session server was faster",
            "holds": "the session server was still slower",
            "no_difference": "the two were level",
        }.get(profile.verdict, "undecided")
        parts.append(
            f"on an endpoint that reads the database anyway (GET /profile, the lookup "
            f"folded into its query) {word}: {verdicts.signed(profile.delta_p50_us)} µs "
            f"(interval {verdicts.signed(profile.ci_low_us)} to "
            f"{verdicts.signed(profile.ci_high_us)})"
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
    """The answer in one sentence, then what flips it, then the A/A check if it speaks. A run
    that compares runtimes instead (no claim group) answers per runtime."""
    group = run.model.claim
    if group is None and run.model.groups_for("runtimes"):
        from bench.analysis.runtimes import runtime_sentence

        return runtime_sentence(run)
    text = answer_sentence(run) + " " + flips_sentence(run)
    if group is not None and (
        warning := verdicts.a_a_warning(verdicts.paired_verdicts(run, group=group.name))
    ):
        text += " " + warning
    return text
