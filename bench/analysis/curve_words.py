"""The load curve in sentences, each computed from the run: where the claim starts to bite, how
well a queueing model predicts the curve, what service time hides near the knee, and what
running the arms at once changes. The figures they quote are bench.analysis.curve's rows."""

from __future__ import annotations

import math
import statistics

from bench.analysis import curve, loads
from bench.analysis.queueing import HOLDS_WITHIN, MODELS
from bench.analysis.runs import Run
from bench.analysis.verdict_lines import signed
from bench.analysis.verdicts import PairVerdict

NO_CURVE = (
    "This run has no load curve (`make bench SCENARIO=curve` measures each server alone from a "
    "tenth of its capacity to past its knee)."
)
NEAR = 0.8  # "at 80% of capacity": the curve's point nearest this fraction
HIDES = 0.2  # service time "hides" the tail when response time's p99 is 20% larger or more


def _headline(run: Run) -> tuple[str, str] | None:
    return curve.pair(run) if curve.spec(run) is not None else None


def _load(run: Run, rate: float, fraction: float, b: str | None = None) -> str:
    """ "7,368 req/s (70% of session's capacity, 54% of jwt_auth's)"; of its closed-loop rate
    where a capacity is a lower bound (an external arm's: its CPU not measured)."""
    asked, found = curve.spec(run), loads.capacities(run)

    def of(capacity: loads.Capacity | None) -> str:
        return "closed-loop rate" if capacity is not None and capacity.lower_bound else "capacity"

    text = f"{rate:,.0f} req/s ({fraction:.0%} of {asked.capacity_of}'s"
    text += f" {of(found.get(asked.capacity_of))}"
    other = found.get(b) if b and b != asked.capacity_of else None
    if other is not None and other.capacity_rps:
        text += f", {rate / other.capacity_rps:.0%} of {b}'s"
    return text + ")"


def _interval(row: PairVerdict) -> str:
    return f"{signed(row.delta_us)} µs ({signed(row.ci_low_us)} to {signed(row.ci_high_us)})"


def _bite(run: Run, a: str, b: str, p50: list[PairVerdict], p99: dict) -> str:
    """Where a is slower than b by more than the margin at every load from there up. A load
    the rule could not decide (a client that fell behind, an interval across the margin) is
    named apart and does not break the run of loads that hold."""
    alone = f"Alone on the servers' core (response time, {a} − {b})"
    decided = [r for r in p50 if r.verdict != "inconclusive"]
    inconclusive = [r for r in p50 if r.verdict == "inconclusive"]
    apart = (
        f" Inconclusive at {', '.join(f'{r.rate:,.0f}' for r in inconclusive)} req/s "
        f"({inconclusive[0].reason or 'the interval crosses the margin'})."
        if inconclusive
        else ""
    )
    if not decided:
        return f"{alone}: the rule could decide at no load of the curve.{apart}"
    holds = [r.verdict == "holds" for r in decided]
    start = next((i for i in range(len(decided)) if all(holds[i:])), None)
    low, top = decided[0], decided[-1]
    every = "every load of the curve" + (" it could decide" if inconclusive else "")
    if start == 0:
        return (
            f"{alone}, {a} was slower than {b} by more than the margin at the median at "
            f"{every}; {_p99_every(decided, p99)}, from "
            f"{_load(run, low.rate, low.load_fraction, b)} up: {_interval(low)} at the median "
            f"and {_interval(p99[low.rate])} at p99 at the lowest load.{apart}"
        )
    if start is None:
        some = [f"{r.rate:,.0f}" for r, h in zip(decided, holds, strict=True) if h]
        only = (
            f"only at {', '.join(some)} req/s, not at every load above"
            if some
            else f"at no load of the curve, from {_load(run, low.rate, low.load_fraction, b)} "
            f"to {top.rate:,.0f} req/s"
        )
        return (
            f"{alone}, {a} was slower than {b} by more than the margin at the median {only}: "
            f"{_interval(low)} at the lowest load, {_interval(top)} at the highest "
            f"({_counted(p50)}).{apart}"
        )
    below = [r for r in p50 if r.rate < decided[start].rate]
    z = statistics.median(r.delta_us for r in below)
    w = statistics.median(p99[r.rate].delta_us for r in below if r.rate in p99)
    first = decided[start]
    return (
        f"{alone}: below {_load(run, first.rate, first.load_fraction, b)} the lookup cost "
        f"about {signed(z)} µs at the median and {signed(w)} µs at p99 ({_counted(below)}); "
        f"from there on {a} was slower than {b} by more than the margin at {every}.{apart}"
    )


def _p99_every(rows: list[PairVerdict], p99: dict) -> str:
    """Whether p99 held too at the loads where the median did: "at p99 at every load", or the
    loads where it did not, each with its verdict ("at every load but 40% (inconclusive)")."""
    mine = [p99[r.rate] for r in rows if r.rate in p99]
    if not mine:
        return "p99 not judged"
    missed = [r for r in mine if r.verdict != "holds"]
    if not missed:
        return "at p99 at every load too"
    where = ", ".join(f"{r.load_fraction:.0%} ({r.verdict})" for r in missed)
    if len(missed) < len(mine):
        return f"at p99 at every load but {where}"
    return f"at p99 at no load: {where}"


def _counted(rows: list[PairVerdict]) -> str:
    """ "no difference beyond the margin at 2 loads, inconclusive at 1"."""
    words = {
        "holds": "slower by more than the margin",
        "no_difference": "no difference beyond the margin",
        "reversed": "faster by more than the margin",
        "inconclusive": "inconclusive",
    }
    counts = {v: sum(r.verdict == v for r in rows) for v in words}
    present = [(n, words[v]) for v, n in counts.items() if n]
    total = f"of {len(rows)} load{'s' if len(rows) > 1 else ''}"
    return ", ".join(
        f"at {n} {total} {word}" if k == 0 else f"at {n} {word}"
        for k, (n, word) in enumerate(present)
    )


def _near(run: Run, a: str, p50: list[PairVerdict], p99: dict) -> str:
    row = min(p50, key=lambda r: abs(r.load_fraction - NEAR))
    busy = {p.server: p.utilisation for p in curve.curve_rows(run) if p.rate == row.rate}
    core = (
        f"; the servers' core measured {busy[a]:.0%} busy with {a} alone"
        if busy.get(a) is not None
        else ""
    )
    return (
        f" At {row.load_fraction:.0%} of capacity ({row.rate:,.0f} req/s{core}) the difference "
        f"was {_interval(row)} at the median and {_interval(p99[row.rate])} at p99."
    )


def _knees(run: Run, a: str, b: str) -> str:
    found = {k.server: k for k in curve.knees(run) if k.server in (a, b)}
    reached = sorted((k for k in found.values() if k.rate is not None), key=lambda k: k.rate)
    if not reached:
        top = max(found.values(), key=lambda k: k.top_rate)
        return (
            f" Neither {a}'s nor {b}'s median reached twice its low-load value up to "
            f"{top.top_rate:,.0f} req/s ({top.top_fraction:.0%} of capacity): no knee reached."
        )
    parts = []
    for k in reached:
        busy = f", the servers' core {k.utilisation:.0%} busy" if k.utilisation is not None else ""
        parts.append(f"{k.rate:,.0f} req/s ({k.load_fraction:.0%} of capacity{busy})")
    first = reached[0].server
    text = f" {first} reaches its knee first, at {parts[0]}"
    if len(reached) > 1:
        text += f"; {reached[1].server} at {parts[1]}"
    for k in found.values():
        if k.rate is None:
            text += f"; {k.server} not up to {k.top_rate:,.0f} req/s"
    return text + "."


def curve_sentence(run: Run) -> str:
    """Where the claim starts to bite, what it costs near capacity, and where each server's
    knee is: "below X req/s (Y% of the JWT server's capacity) the lookup costs about Z µs at the
    median and W at p99; at 80% of capacity ...; the session server reaches its knee at ..."."""
    pair = _headline(run)
    if pair is None:
        return NO_CURVE
    a, b = pair
    rows = [r for r in curve.gap_rows(run) if (r.a, r.b) == (a, b)]
    p50 = [r for r in rows if r.quantile == 0.5]
    p99 = {r.rate: r for r in rows if r.quantile == 0.99}
    if not p50:
        return f"The load curve has no rate at which both {a} and {b} were measured."
    return _bite(run, a, b, p50, p99) + _near(run, a, p50, p99) + _knees(run, a, b)


def curve_model_sentence(run: Run) -> str:
    """Where the queueing model built from the closed loop's service demand predicts the
    measured mean response time within 20%, where it does not, and why, per server of the
    curve's pair."""
    pair = _headline(run)
    rows = curve.model_rows(run)
    if pair is None or not rows:
        return NO_CURVE if pair is None else "No curve server's service demand was measured."
    parts = []
    for server in pair:
        mine = [r for r in rows if r["server"] == server]
        if not mine:
            continue
        counts = {m: sum(r["holds"] for r in mine if r["model"] == m) for m in MODELS}
        best = max(MODELS, key=lambda m: counts[m])
        points = [r for r in mine if r["model"] == best]
        parts.append(_model_part(server, best, points, counts))
    return " ".join(parts)


def _model_part(server: str, model: str, points: list[dict], counts: dict[str, int]) -> str:
    other = next(m for m in MODELS if m != model)
    head = (
        f"For {server} (S = {points[0]['service_us']:.0f} µs per request, measured closed loop), "
        f"{model} held at {counts[model]} of {len(points)} loads and {other} at "
        f"{counts[other]}"
    )
    missed = [r for r in points if not r["holds"]]
    if not missed:
        return (
            head + f": within {HOLDS_WITHIN:.0%} of the measured mean response time at every "
            "load of the curve."
        )
    worst = max(missed, key=lambda r: abs(r["error"]))
    where = ", ".join(f"{r['load_fraction']:.0%} ({r['error']:+.0%})" for r in missed)
    return head + f"; {model} missed at {where} of capacity. " + _why(worst)


def _why(row: dict) -> str:
    """Why the model missed at its worst point, from what that point measured."""
    rho = row["predicted_utilisation"]
    busy = row["measured_utilisation"]
    at = f"At {row['load_fraction']:.0%}"
    if busy is not None and rho > 0 and busy > 1.1 * rho:
        effective = row["service_us"] * busy / rho
        text = (
            f"{at} the core was busier than S predicts ({busy:.0%} measured against {rho:.0%}: "
            f"{effective:.0f} µs of CPU per request against S = {row['service_us']:.0f})"
        )
        if rho < 0.3:
            text += ", as an idle core is: it pays for waking up on every request"
        return text + "."
    if rho >= 0.7:
        return (
            f"{at} the core was {rho:.0%} busy by the model: there any error in S or in how "
            f"service times vary is multiplied by 1/(1 − ρ) = {1 / (1 - rho):.0f}, and the "
            f"measured mean came out {'slower' if row['error'] < 0 else 'faster'} than "
            "predicted."
        )
    core = (
        f"the core {busy:.0%} busy against {rho:.0%} predicted"
        if busy is not None
        else f"the core {rho:.0%} busy by the model"
    )
    return (
        f"{at} the measured mean came out {'slower' if row['error'] < 0 else 'faster'} than "
        f"the model's queue predicts, with {core}: what else a response holds (the client, "
        "the loopback, the store's own wait) moved with load."
    )


def service_time_sentence(run: Run) -> str:
    """What timing from the moment a request leaves hides near the top of the curve: p99 of
    response time (from the intended start) against p99 of service time, at the curve's top
    load, for the server where the two differ most."""
    points = curve.curve_rows(run)
    if not points:
        return NO_CURVE
    top = max(p.rate for p in points)
    at_top = [p for p in points if p.rate == top]
    worst = max(at_top, key=lambda p: p.p99_us / p.p99_service_us)
    low = min((p for p in points if p.server == worst.server), key=lambda p: p.rate)
    ratio = worst.p99_us / worst.p99_service_us
    text = (
        f"At {worst.rate:,.0f} req/s ({worst.load_fraction:.0%} of capacity), {worst.server}'s "
        f"p99 was {worst.p99_us:,.0f} µs from the intended start and {worst.p99_service_us:,.0f} "
        f"µs from the moment each request left (at the lowest load, {low.p99_us:,.0f} and "
        f"{low.p99_service_us:,.0f} µs)"
    )
    if ratio >= 1 + HIDES:
        return text + (
            f": response time was {ratio:.1f}x the service time there. The difference is time "
            "requests spent waiting to be sent (every connection busy with an earlier, slow "
            "request, or the client itself behind): the queue that a closed-loop or "
            "service-time tester leaves out (coordinated omission)."
        )
    return text + (
        f": service time was within {ratio - 1:.0%} of the response time there, so timing from "
        "the moment a request left hid little at this curve's top load."
    )


def interference_sentence(run: Run) -> str:
    """What running the pair at once (the paired design) changes in its gap, against each
    server alone at the same rate per arm, at the median."""
    rows = [r for r in curve.interference_rows(run) if r["quantile"] == 0.5]
    if not rows:
        return (
            "This run did not pair the arms at once at a rate of its load curve: the curve "
            "scenario measures what concurrent pairing changes."
        )
    parts = []
    for r in rows:
        words = {
            "no_difference": f"within the ±{r['margin_us']:,.0f} µs margin",
            "holds": "larger at once than alone by more than the margin",
            "reversed": "smaller at once than alone by more than the margin",
        }.get(r["verdict"], "inconclusive (the interval crosses the margin)")
        parts.append(
            f"at {r['rate_per_arm']:,.0f} req/s per arm ({r['load_fraction']:.0%} of capacity), "
            f"{r['a']} − {r['b']} was {signed(r['together_us'])} µs with the arms at once and "
            f"{signed(r['alone_us'])} µs with each alone: a change of "
            f"{signed(r['difference_us'])} µs ({signed(r['ci_low_us'])} to "
            f"{signed(r['ci_high_us'])}), {words}"
        )
    return "What pairing the arms at once changes, on the median: " + "; ".join(parts) + "."


def utilisation_sentence(run: Run) -> str:
    """How busy the servers' core was measured, against what the service demand predicts, at
    the lowest and the highest load: the curve's, else the claim's paired rates."""
    rows = curve.utilisation_rows(run)
    if not rows:
        return "This run measured no utilisation at a load whose service demand it knows."
    low, high = min(rows, key=lambda r: r["rate"]), max(rows, key=lambda r: r["rate"])
    who = "with the arms at once" if low["server"] == "all arms" else f"with {low['server']} alone"

    def at(r: dict) -> str:
        return (
            f"at {r['rate']:,.0f} req/s the servers' core was measured {r['measured']:.0%} busy "
            f"where λS predicts {r['predicted']:.0%}"
        )

    text = f"{who.capitalize()}, {at(low)}" + (f"; {at(high)}" if high is not low else "")
    ratio = low["measured"] / low["predicted"] if low["predicted"] else math.nan
    if ratio > 1.2:
        return text + (
            f": at the lowest load each request cost the core {ratio:.1f}x the service demand "
            "measured closed loop, as an idle core does (it pays for waking up on every "
            "request), so a queueing model built on S expects less waiting there than it sees."
        )
    if ratio < 0.8:
        return text + (
            f": at the lowest load the core was less busy than S predicts ({ratio:.1f}x): its "
            "CPU per request was lower than in the closed loop."
        )
    return text + ": within 20% of what the service demand predicts at the lowest load."
