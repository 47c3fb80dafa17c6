"""The scenario as run: every field with its defaults applied, each server's facts (what its
settings mean, as the servers read them), and who is who in each paired group.

The run side fills these from its scenario types (bench.run.scenario: `Scenario.record()`);
the read side asks them and never re-reads a setting string, a group's name or a label.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bench.results.base import Record
from bench.results.load_records import CurveSpecRecord


class ServerRecord(Record):
    """A server of the scenario as parsed, and the facts its settings amount to. An external arm
    (`url`: a deployment the harness did not start) has no settings, and the facts that cannot
    be known from outside (store, algorithm, profile query) are None."""

    label: str
    server: str  # "control", "session", "jwt_auth"
    settings: dict[str, str]
    workers: int
    db_delay_ms: float | None  # behind the delay proxy, this added round trip; None: direct
    closed_users: list[int] | None  # its own load points; None: the scenario's
    fixed_rates: list[float] | None
    path: str  # "/me" or "/profile"
    runtime: str  # "python", "fastapi", "node", "command", "external"
    command: list[str] | None
    # An external arm: its base URL, how its tokens were got (never its password), its TLS trust.
    url: str | None = None
    username: str | None = None
    token_command: list[str] | None = None
    ca_file: str | None = None
    insecure: bool = False
    # Facts: where the per-request lookup goes, whether a logout revokes at once, ...
    store: Literal["postgres", "redis"] | None
    revocable: bool | None  # None: an external arm's, not known from outside
    algorithm: str | None
    cache_ttl_s: float | None  # None: an external arm's, not known from outside
    profile_query: str | None  # session server, GET /profile: "joined" or "naive"


class PairRecord(Record):
    """Two arms compared, and what differs between them fact by fact: {fact: [a's, b's]}."""

    a: str
    b: str
    kind: Literal["compare", "a_a"]
    differs: dict[str, list[Any]]


class RolesRecord(Record):
    """Who is who in a paired group: its headline pair, the arm its margin is a share of, the
    A/A pair (the copy, the original) and every pair compared."""

    headline: tuple[str, str]
    baseline: str
    a_a: tuple[str, str] | None
    pairs: list[PairRecord]


class PairedGroupRecord(Record):
    """A paired group as run: its arms ran at once, sharing one random stream of requests."""

    arms: list[str]
    pairs: list[tuple[str, str]]
    name: str
    question: str  # what the group answers: "claim", "distance", "stores", ...
    headline: tuple[str, str] | None  # as the scenario set it; roles.headline as applied
    arrivals: str | None  # at a fixed rate; None: not recorded (format 1)
    rates: list[float]  # total rates (resolved from load_fractions when those are given)
    load_fractions: list[float] = Field(default_factory=list)  # of the group's capacity
    users: int
    unloaded: bool
    a_a: str | None
    baseline: str | None
    warmup_s: float
    duration_s: int
    seed: int
    margin_fraction: float  # of the baseline's median, unless margin_us is set
    margin_us: float | None
    tokens: int  # a population of this many users' tokens; 0: one per Locust user
    popularity: float
    roles: RolesRecord


class RevocationSpecRecord(Record):
    servers: list[str]
    probe_for_s: float
    hosts: int


class AvailabilitySpecRecord(Record):
    servers: list[str]
    rate: float
    users: int
    duration_s: int
    database_down_at_s: float
    database_down_for_s: float
    sigterm_at_s: float


class ScenarioRecord(Record):
    name: str
    path: str
    servers: list[ServerRecord]
    warmup_s: float
    duration_s: int
    description: str
    closed_users: list[int]
    fixed_rates: list[float]
    fixed_rate_users: int
    arrivals: str | None  # None: not recorded (format 1)
    repeats: int
    seeded_users: int
    seeded_sessions: int
    locust_workers: int
    micro: str
    reference_rate: float | None
    reference_fraction: float | None = None  # the headline's load, when loads are fractions
    revocation: RevocationSpecRecord | None
    availability: AvailabilitySpecRecord | None
    paired: list[PairedGroupRecord]
    curve: CurveSpecRecord | None = None
