"""The experiments beyond the grid of cells: micro-benchmarks of the auth step, the revocation
probe and the availability experiment (a store outage and a SIGTERM under load)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from bench.results.base import Record
from bench.results.cell_records import TimelineSecond


class Timing(Record):
    """One item timed in batches: the median µs per call over batches, with min and quartiles."""

    name: str
    group: str
    us_median: float
    us_min: float
    us_p25: float
    us_p75: float
    batches: int
    calls_per_batch: int
    note: str = ""


class MicroRecord(Record):
    """The auth step alone, in-process (bench.run.microbench), and every token's size."""

    level: str  # "quick" or "full"
    timings: list[Timing]
    token_bytes: dict[str, int]
    authorization_header_bytes: dict[str, int]


class RuntimeMicroRecord(Record):
    """Another runtime's auth step alone, in its own process (servers/node/micro.js)."""

    runtime: str
    node: str  # the runtime's version
    timings: list[Timing]


class RevocationRecord(Record):
    """Log out through one host, then probe every host with the token until the window ends."""

    label: str
    server: str
    settings: dict[str, str]
    hosts: int
    logout_status: int
    probe_for_s: float
    probes: int
    accepted_after_logout: int
    last_accepted_ms: float | None
    first_refused_ms: float | None
    still_accepted_at_end: bool
    token_valid_for_s: float | None  # a JWT's time left until exp at logout
    other_statuses: list[int]
    samples: list[tuple[float, int, int]]  # (ms since the logout, status, host number)


class AvailabilitySecond(TimelineSecond):
    t: int  # seconds since the experiment started


class Probe(Record):
    t: float
    token: Literal["valid", "revoked"]
    status: int  # 0: no answer
    ms: float


class AvailabilityRecord(Record):
    """What the prober and the load saw while the store was down, up again, and the server
    was sent SIGTERM; `events` are seconds since the start (asked, and done)."""

    label: str
    server: str
    settings: dict[str, str]
    store: Literal["postgres", "redis"]
    revoked_accepted: int
    unanswered_before_sigterm: int
    slowest_answer_ms: float | None
    outage_statuses: dict[str, int]
    recovered_after_s: float | None
    after_sigterm_statuses: dict[str, int]
    events: dict[str, float]
    timeline: list[AvailabilitySecond]
    probes: list[Probe]
    rate: float
    duration_s: int


class SkippedAvailability(Record):
    """The availability experiment not run for a server, and why."""

    label: str
    server: str
    settings: dict[str, str]
    store: Literal["postgres", "redis"]
    skipped: str


def _availability_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "skipped" if "skipped" in value else "measured"
    return "skipped" if isinstance(value, SkippedAvailability) else "measured"


Availability = Annotated[
    Annotated[AvailabilityRecord, Tag("measured")] | Annotated[SkippedAvailability, Tag("skipped")],
    Discriminator(_availability_kind),
]
AVAILABILITY_TAGS = frozenset({"measured", "skipped"})
