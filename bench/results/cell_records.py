"""The cells of a run: one server's figures over a measured window, and the kinds of cell.

A kind of cell is one class with a `model` literal (its tag on disk) and `measurements()`, the
figures it holds as the read side folds them: one per server, each a point of a load model
("closed" or "fixed_rate"). Adding a kind is one place: its class here, named in CELL_KINDS;
the `Cell` union, the loader's error locations, the runner's progress lines and the read
side's rows follow from it. (Raise FORMAT_VERSION with it, so that an older authbench says
that a run is newer than it rather than that a cell is corrupt.)
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple, Union

from pydantic import Field

from bench.results.base import Percentiles, Record


class Window(Record):
    """The measured window, whole seconds of the epoch: [start, end)."""

    start: int
    end: int
    duration_s: int


class Arrivals(Record):
    """At a fixed rate, the arrival process the load generator drew from, its seed, and how
    regular the gaps were in the window (coefficient of variation: 1 Poisson, 0 even)."""

    process: str
    seed: int
    gap_cv: float | None


class DbDelay(Record):
    """The delay proxy's calibration: round trips measured direct and through the proxy."""

    set_rtt_ms: float
    direct_rtt_us: float
    proxied_rtt_us: float
    added_rtt_ms: float


class TimelineSecond(Record):
    """One second of a window: requests, statuses and service-time percentiles."""

    second: int
    count: int
    statuses: dict[str, int]
    p50_us: int | float
    p99_us: int | float
    max_us: int | float


class Figures(Record):
    """One server's figures over a measured window (bench.run.cell_figures.summarise), with
    who the server was. Latencies are in µs: `latency_us` is the service time (from the moment
    a request left), `corrected_latency_us` counts from its intended start (None closed loop).
    CPU is per process group (server, postgres, redis, delay_proxy, load_generator).
    None where format 1 did not record a figure (cache hits, busy cores)."""

    label: str
    server: str
    settings: dict[str, str]
    server_workers: int
    path: str
    db_delay: DbDelay | None = None  # behind the delay proxy only
    window: Window
    requests: int
    ok: int
    statuses: dict[str, int]
    error_count: int
    throughput_rps: float
    ok_rps: float
    offered_rps: float | None
    latency_us: Percentiles | None
    corrected_latency_us: Percentiles | None
    auth_us: Percentiles | None
    late_starts: int
    cache_hits: int | None
    cache_hit_share: float | None
    arrivals: Arrivals | None
    cpu_seconds: dict[str, float]
    cpu_us_per_request: dict[str, float | None]
    cpu_cores_busy: dict[str, float] | None  # share of one core each group kept busy
    cpu_processes: dict[str, int]
    load_generator_peak_core: float
    load_generator_cpu_warnings: int
    load_generator_bound: bool
    distributed: bool
    timeline: list[TimelineSecond]


class Counts(Record):
    """Whether the recorder and Locust counted the same requests over the whole run."""

    recorded_requests_total: int
    locust_requests_total: int | None
    counts_agree: bool


class LoadGenerator(Record):
    """One Locust worker process of a distributed cell: who, where, its share of the arrival
    stream, what it reported, and (a remote one's, which the harness cannot read in /proc) its
    CPU seconds in the window."""

    id: str
    host: str | None
    pid: int | None
    index: int | None
    share: int
    reports: int
    requests: int
    versions: dict[str, str | None]
    remote: bool
    cpu_seconds: float | None


class LoadGenerators(Record):
    """The Locust workers of a distributed cell, and the ones its master refused (with why)."""

    workers: list[LoadGenerator]
    refused: list[dict[str, str | int | dict[str, str | None] | None]]

    @classmethod
    def of(cls, data: dict | None) -> LoadGenerators | None:
        """From what the load generator recorded (None when it ran without workers)."""
        return None if data is None else cls.model_validate(data)


class Measurement(NamedTuple):
    """One server's figures in one cell, as a point of its load model: what the read side's
    rows, tables and plots are made of."""

    id: str
    model: str  # "closed" or "fixed_rate"
    group: str  # the paired group; "" for a server measured alone
    users: int
    rate: float | None
    repeat: int
    cores_busy: float | None  # the servers' cores, 0..1
    figures: Figures
    paired: bool


def _alone(cell: SingleCell | CurveCell) -> Measurement:
    """The one measurement of a cell that ran one server alone (no arm label, not unloaded)."""
    return Measurement(
        cell.id,
        cell.model,
        "",
        cell.users,
        cell.rate,
        cell.repeat,
        cell.server_cores_busy,
        cell,
        False,
    )


class SingleCell(Figures, Counts):
    """One server alone: closed loop (`users` as fast as they go) or at a fixed rate."""

    model: Literal["closed", "fixed_rate"]
    id: str
    index: int
    users: int
    rate: float | None
    repeat: int
    locust_workers: int
    server_cores_busy: float | None
    load_generators: LoadGenerators | None = None  # distributed: which workers, where

    def measurements(self) -> list[Measurement]:
        return [_alone(self)]


class Population(Record):
    """A token population: each request carries one of `tokens` users' tokens (Zipf)."""

    tokens: int
    popularity: float
    distribution: str


class PairedCell(Counts):
    """Every arm of a paired group at once, one random stream of requests: at a fixed total
    rate ("paired"), or one user closed loop ("paired_unloaded"). The per-second histograms
    of each arm are in `latency_file` (bench.results.load_latency)."""

    model: Literal["paired", "paired_unloaded"]
    id: str
    index: int
    group: str
    users: int
    rate: float | None
    repeat: int
    seed: int
    locust_workers: int
    latency_file: str
    arm_order: list[str] | None  # the order the arms started in; None: not recorded (format 1)
    population: Population | None = None
    cpu_affinity: dict[str, list[int] | None]
    window: Window
    requests: int
    arrivals: Arrivals | None
    load_generator_peak_core: float
    load_generator_bound: bool
    server_cores_busy: float | None
    load_generators: LoadGenerators | None = None  # distributed: which workers, where
    arms: dict[str, Figures]

    def measurements(self) -> list[Measurement]:
        """Each arm: at a fixed total rate a fixed-rate point, unloaded a closed loop with one
        user; their figures have the same meaning."""
        model = "closed" if self.rate is None else "fixed_rate"
        return [
            Measurement(
                f"{self.id}/{label}",
                model,
                self.group,
                self.users,
                self.rate,
                self.repeat,
                self.server_cores_busy,
                arm,
                True,
            )
            for label, arm in self.arms.items()
        ]


class CurveCell(Figures):
    """One block of a load curve: one server alone on the servers' core at one offered rate
    (open loop, `arrivals`), in one repeat. The servers of a curve start afresh every repeat and
    take turns in blocks, in an order shuffled per repeat (`block`: the position in it); the
    same absolute rates for every server (`load_fraction` of the capacity of the curve's
    `capacity_of` server). `driver` is who sent the load: Locust, or the independent open-loop
    client where Locust could not keep the schedule from its core (`driver_reason` says why).
    `corrected_latency_us` is the response time (from each request's intended start),
    `latency_us` the service time."""

    model: Literal["curve"]
    id: str
    index: int
    repeat: int
    block: int
    rate: float
    load_fraction: float
    driver: Literal["locust", "open_loop"]
    driver_reason: str
    users: int  # Locust users, or the open-loop client's connection cap
    latency_file: str
    server_cores_busy: float | None  # the utilisation of the servers' core(s), 0..1
    locust_workers: int

    def measurements(self) -> list[Measurement]:
        """A point of model "curve": kept apart from the fixed-rate and closed-loop points."""
        return [_alone(self)]


CELL_KINDS = (SingleCell, PairedCell, CurveCell)  # every kind of cell a run may hold
# A union built from the tuple (`X | Y` cannot be), told apart by the `model` tag.
Cell = Annotated[Union[CELL_KINDS], Field(discriminator="model")]  # noqa: UP007
# The tags of the kinds: pydantic names them in an error's location, the loader drops them.
CELL_TAGS = frozenset(
    tag for kind in CELL_KINDS for tag in kind.model_fields["model"].annotation.__args__
)
