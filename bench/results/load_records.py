"""Load stated as a fraction of capacity: each server's capacity as the run measured it, and the
load curve as asked and as resolved.

A rate means a different load on every machine (the same "1,000 req/s" kept one 2-core
machine's server core 23% busy and another's 62%), so loads are given as fractions of the
capacity measured in the same run, and the absolute rates are recorded beside them.
"""

from __future__ import annotations

from typing import Literal

from bench.results.base import Record


class CapacityRecord(Record):
    """A server's capacity, from its closed-loop cell: the service demand (CPU µs per request of
    every process on the servers' cores: the server, its PostgreSQL backends, its Redis, its
    delay proxy), and the rate at which it would keep those cores busy, `cores` × 1e6 /
    service_us. Where the servers' CPU could not be measured (an external arm), the closed
    loop's achieved rate instead, marked `lower_bound`."""

    label: str
    cell: str  # the id of the closed-loop cell it comes from
    service_us: float | None
    cores: int
    capacity_rps: float
    closed_rps: float  # what the closed loop achieved
    cores_busy: float | None  # how busy the servers' cores were in it
    lower_bound: bool  # the achieved rate, not an extrapolation: CPU not measured


class CurveSpecRecord(Record):
    """The load curve as asked: each server of `servers` alone, open loop, at every one of
    `fractions` of `capacity_of`'s capacity (the same absolute rates for all), `repeats`
    times; `pairs` judged at every rate (the margin a share of the baseline, b, at each
    quantile); `concurrent` the fractions at which each pair also runs with its arms at once
    (a paired cell at the same rate per arm), to measure what concurrent pairing costs."""

    servers: list[str]
    capacity_of: str
    fractions: list[float]
    rates: list[float]  # resolved once the capacities are measured ([] before)
    arrivals: str
    repeats: int
    warmup_s: float
    duration_s: int
    connections: int
    users: int
    driver: Literal["auto", "locust", "open_loop"]
    pairs: list[tuple[str, str]]
    margin_fraction: float
    concurrent: list[float]
