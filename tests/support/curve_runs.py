"""Synthetic runs of the load curve whose truth is known, in pairs that say opposite things: the
builders the sentence tests push each curve sentence with (tests/analysis/test_sentences.py FLIPS)
and tests/analysis/test_curve.py reads. Every run is written through the records
(tests/support/synthetic.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support import synthetic

S = synthetic.SERVICE_US
BASE = {"session": 400.0, "jwt_auth": 300.0, "control": 250.0}


def queued(base: dict[str, float], factor: float = 1.0, demand=None):
    """Each server's median: its base plus an M/M/1 queue of its service demand."""
    demand = demand or S
    return lambda server, rate, repeat: synthetic.queueing(
        base[server], demand[server], rate, factor
    )


def flat(base: dict[str, float]):
    """Each server's median the same at every load: no queue at all."""
    return lambda server, rate, repeat: base[server]


def run(path: Path, service, waits=None, **changes):
    return synthetic.curve_run(path, service, waits, **changes)


def everywhere_and_never(tmp: Path):
    """The session server slower by 100 µs plus its longer queue at every load; then the same
    two servers level at every load (the session server as fast and as queued as JWT)."""
    level = {"session": 300.0, "jwt_auth": 300.0, "control": 250.0}
    same = {"session": S["jwt_auth"], "jwt_auth": S["jwt_auth"], "control": S["control"]}
    return run(tmp / "a", queued(BASE)), run(tmp / "b", queued(level, demand=same))


def bites_from_a_load(tmp: Path):
    """Level at low load (10 µs apart, inside the margin), apart only once the session
    server's longer queue grows: the claim bites from a load on, not everywhere."""
    close = {"session": 310.0, "jwt_auth": 300.0, "control": 250.0}
    return run(tmp, queued(close))


def no_knee_and_jwt_first(tmp: Path):
    """Flat curves (no knee at all); then a JWT server whose service demand is four times the
    session server's, so that it queues, and reaches its knee, first."""
    heavy = {"session": 20.0, "jwt_auth": 190.0, "control": 26.0}
    return run(tmp / "a", flat(BASE)), run(tmp / "b", queued(BASE, demand=heavy))


def model_holds_and_misses(tmp: Path):
    """Medians that queue as M/M/1 of the recorded demand (the model holds); then a queue three
    times longer near the knee (the model misses there)."""
    return run(tmp / "a", queued(BASE)), run(tmp / "b", queued(BASE, factor=3.0))


def hidden_and_not(tmp: Path):
    """Requests that wait to be sent (response − service) twice the server's own queue; then
    requests sent on time (response = service)."""
    waits = queued({k: 0.0 for k in BASE}, factor=2.0)
    return run(tmp / "a", queued(BASE), waits), run(tmp / "b", queued(BASE))


def together_and_alone(tmp: Path):
    """The pair at once at 40% of capacity per arm as alone; then at once with the session arm
    600 µs slower than it was alone (it queued behind the JWT arm's work)."""
    alone = queued(BASE)

    def slowed(server, rate, repeat):
        return alone(server, rate, repeat) + (600.0 if server == "session" else 0.0)

    same = run(tmp / "a", alone, concurrent=(0.4,))
    worse = run(tmp / "b", alone, concurrent=(0.4,), together=slowed)
    return same, worse


def idle_and_busy(tmp: Path):
    """The core measured three times as busy as λS predicts at low load (an idle core's cost
    per request), converging at capacity; then measured exactly as predicted."""

    def costly(server, rate):
        predicted = rate * S.get(server, 50.0) * 1e-6
        return min(predicted * (1 + 2 * (1 - predicted)), 1.0)

    dear = run(tmp / "a", queued(BASE), busy=costly)
    return dear, run(tmp / "b", queued(BASE))
