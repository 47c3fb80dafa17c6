"""How a run was made and judged: its settings, the thresholds its verdicts apply, and the
machine it ran on.

The defaults below are the one home of each: the run side records them in every run, the
read side applies what a run recorded, so an old run is judged by the rules it was run with
(bench.results.upgrade records, for an older format, the values of its time).
"""

from __future__ import annotations

from pydantic import ConfigDict, model_validator

from bench.results.base import Record

DEFAULT_MARGIN_FRACTION = 0.10  # a paired group's margin: this share of the baseline's median
CONFIDENCE = 0.95  # of every interval
# A load generator that used more than this share of a core was the bottleneck: its cell's req/s
# says more about Locust than about the server.
SATURATED_CORE_FRACTION = 0.9
MAX_LATE_SHARE = 0.05  # of an arm's requests started late: the client did not keep its schedule
MIN_REPEATS = 2  # fewer, and there is no interval
MIN_REQUESTS_PER_ARM = 200  # per repeat: fewer, and a median says little


class Thresholds(Record):
    """What the verdict rule applies. `late_after_ms` is where the load generator applies it
    (bench.load.recorder.LATE_AFTER_S): the run records that value, so it has no default."""

    late_after_ms: float
    saturated_core_fraction: float = SATURATED_CORE_FRACTION
    max_late_share: float = MAX_LATE_SHARE
    min_repeats: int = MIN_REPEATS
    min_requests_per_arm: int = MIN_REQUESTS_PER_ARM
    confidence: float = CONFIDENCE


class CpuLayout(Record):
    """The cores of the load generator and of the servers with their stores, as pinned."""

    load_generator: list[int]
    servers: list[int]


class RemoteWorkersRecord(Record):
    """Locust workers on other hosts (python -m bench run --remote-workers N --master-bind
    ADDR): how many every Locust cell waited for, where, and for how long at most."""

    count: int
    master: str
    wait_s: float


class RunSettings(Thresholds):
    locust_workers: int
    remote_workers: RemoteWorkersRecord | None = None
    seed_kdf: str  # the password hashing of the seeded users
    pinned: bool
    cpu_layout: CpuLayout | None


class Environment(Record):
    """Where a run was measured: flat snake_case keys, as pyperf records them. The known keys
    are typed (None: not collected); a package's version is `package_<name>` (lower case, '_'
    for '-'), allowed as an extra key. Any other key is refused."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str | None]

    cpu_model: str | None = None
    cpu_count: int | None = None
    cpu_affinity_count: int | None = None
    os_release: str | None = None
    kernel: str | None = None
    machine: str | None = None
    hostname: str | None = None
    memory_total_mb: int | None = None
    load_average_1m: float | None = None
    load_average_5m: float | None = None
    load_average_15m: float | None = None
    python_version: str | None = None
    python_implementation: str | None = None
    python_executable: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    postgres_version: str | None = None
    postgres_source: str | None = None  # "embedded" or "DATABASE_URL"
    redis_version: str | None = None
    redis_source: str | None = None  # "embedded" or "REDIS_URL"

    @model_validator(mode="after")
    def _only_packages_extra(self) -> Environment:
        unknown = [k for k in self.model_extra or {} if not k.startswith("package_")]
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (extra keys are package_<name>)")
        return self

    def package(self, name: str) -> str | None:
        """The recorded version of a package (`pyjwt`, `asyncpg`, ...), None if not recorded."""
        return (self.model_extra or {}).get(f"package_{name}")
