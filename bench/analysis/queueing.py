"""Queueing models of the servers' core, from a server's measured service demand.

A server pinned to one core, its PostgreSQL backends on the same core, is one queue in front of
one worker: requests arrive at a rate λ, each needs S seconds of that core (its *service
demand*: the CPU per request of every process on the servers' core, measured closed loop), so
the core is busy ρ = λS/c of the time (c cores). Two textbook models bound what to expect:

- M/M/1 (service times exponential, as variable as they come): the mean wait in the queue is
  Wq = ρS/(1−ρ);
- M/D/1 (every request exactly S): Wq = ρS/(2(1−ρ)), half as much.

A real server's service times vary between the two. Neither model knows about the time a
request spends outside the core's queue (the client, the loopback, the wait for PostgreSQL's
answer while the core does other work), so what is drawn over a measured curve is
R(λ) = R0 + Wq(λ), with R0 the measured mean at the lowest load less the model's own Wq there.
Little's law (L = λW, for any stable queue, whatever its distributions) turns a rate and a mean
response time into the mean number of requests inside the server.

Everything here is arithmetic on numbers the run recorded; nothing is fitted.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

MODELS = ("M/M/1", "M/D/1")
KNEE_FACTOR = 2.0  # the knee: where the median response reaches twice its low-load value
HOLDS_WITHIN = 0.20  # a model "holds" at a point when it is within 20% of the measured mean


def utilisation(rate: float, service_us: float, cores: int = 1) -> float:
    """ρ = λS/c: the busy share of the servers' cores that the service demand predicts."""
    return rate * service_us * 1e-6 / cores


def queue_wait_us(model: str, rate: float, service_us: float, cores: int = 1) -> float:
    """The mean wait in the queue (µs) of `model` at `rate`; inf at or past saturation."""
    rho = utilisation(rate, service_us, cores)
    if rho >= 1.0:
        return math.inf
    if model == "M/M/1":
        return rho * service_us / (1.0 - rho)
    if model == "M/D/1":
        return rho * service_us / (2.0 * (1.0 - rho))
    raise ValueError(f"unknown model {model!r}: one of {', '.join(MODELS)}")


def littles_law(rate: float, mean_response_us: float) -> float:
    """L = λW: the mean number of requests in the system (waiting or being served)."""
    return rate * mean_response_us * 1e-6


@dataclass(frozen=True)
class ModelPoint:
    """One measured point of a curve beside what a model predicts for it."""

    rate: float
    measured_mean_us: float
    predicted_mean_us: float
    predicted_utilisation: float
    measured_utilisation: float | None

    @property
    def error(self) -> float:
        """(predicted − measured) / measured: +0.3 means the model said 30% slower."""
        return (self.predicted_mean_us - self.measured_mean_us) / self.measured_mean_us

    @property
    def holds(self) -> bool:
        return math.isfinite(self.predicted_mean_us) and abs(self.error) <= HOLDS_WITHIN


def model_curve(
    model: str,
    rates: Sequence[float],
    measured_mean_us: Sequence[float],
    service_us: float,
    cores: int = 1,
    measured_utilisation: Sequence[float | None] | None = None,
) -> list[ModelPoint]:
    """The model over a measured curve: R0 from the lowest-rate point, then R0 + Wq(λ)."""
    if not rates:
        return []
    order = sorted(range(len(rates)), key=lambda i: rates[i])
    lowest = order[0]
    r0 = measured_mean_us[lowest] - queue_wait_us(model, rates[lowest], service_us, cores)
    busy = measured_utilisation or [None] * len(rates)
    return [
        ModelPoint(
            rate=rates[i],
            measured_mean_us=measured_mean_us[i],
            predicted_mean_us=r0 + queue_wait_us(model, rates[i], service_us, cores),
            predicted_utilisation=utilisation(rates[i], service_us, cores),
            measured_utilisation=busy[i],
        )
        for i in order
    ]


def knee(
    rates: Sequence[float], medians_us: Sequence[float], factor: float = KNEE_FACTOR
) -> float | None:
    """The lowest rate at which the median response reaches `factor` times its value at the
    lowest measured rate, interpolated log-linearly between the two points around it; None
    when the curve never gets there."""
    points = sorted(zip(rates, medians_us, strict=True))
    if len(points) < 2 or points[0][1] <= 0:
        return None
    target = factor * points[0][1]
    for (r1, m1), (r2, m2) in itertools.pairwise(points):
        if m2 >= target:
            if m1 >= target:
                return r1
            share = (math.log(target) - math.log(m1)) / (math.log(m2) - math.log(m1))
            return r1 + share * (r2 - r1)
    return None
