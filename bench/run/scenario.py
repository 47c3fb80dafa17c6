"""What a scenario is: servers, paired groups, load points, experiments, and the plan of cells.

Scenarios are data: TOML files in bench/run/scenarios/ (or any path), read and checked by
bench.run.scenario_toml. The defaults live here, once, as the dataclasses' field defaults; the
parser reads them from here. `plan()` turns a scenario into cells, interleaving the servers
inside every load point and repeat (A B C A B C ...) so that drift hits every server alike.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

from bench.load.arrivals import ARRIVALS, DEFAULT_ARRIVALS
from servers.common import env_choice, env_flag, env_float
from servers.jwt_auth import ALGORITHMS, DEFAULT_ALGORITHM
from servers.session import PROFILE_QUERIES, STORES

MICRO_LEVELS = ("off", "quick", "full")
PATHS = ("/me", "/profile")
# What a paired group answers; the read side finds groups by this, never by their names.
QUESTIONS = (
    "claim",
    "arrivals",
    "distance",
    "stores",
    "profile",
    "variants",
    "algorithms",
    "runtimes",
    "other",
)


def defaults(cls: type) -> dict[str, Any]:
    """A dataclass's field defaults: the one home of every scenario default."""
    found = {}
    for f in fields(cls):
        if f.default is not MISSING:
            found[f.name] = f.default
        elif f.default_factory is not MISSING:
            found[f.name] = f.default_factory()
    return found


@dataclass(frozen=True)
class ServerSpec:
    label: str
    server: str
    settings: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    # Reach the session store over TCP through the delay proxy, adding this round trip (ms); None:
    # direct. The store is PostgreSQL, or Redis for a session server with the Redis store.
    db_delay_ms: float | None = None
    # Load points for this server only; None: the scenario's [load].
    closed_users: tuple[int, ...] | None = None
    fixed_rates: tuple[float, ...] | None = None
    path: str = "/me"  # what each request asks for: /me, or /profile (reads the database anyway)
    # Which implementation of the server contract: python (the reference), fastapi or node; or
    # a `command` of its own (an argument list with {port} and optionally {workers}).
    runtime: str = "python"
    command: tuple[str, ...] | None = None

    # What the settings mean, read the way the servers read them (servers.common's parsers), so
    # that the run records facts and nothing downstream re-parses setting strings.

    @property
    def store(self) -> str | None:
        """Where the per-request lookup goes: "postgres", "redis", or None (no lookup)."""
        if self.server == "session":
            return env_choice(self.settings, "AUTHBENCH_SESSION_STORE", STORES)
        return "postgres" if self.revocable else None

    @property
    def revocable(self) -> bool:
        """A logout takes effect at once: a session server, or JWT with the jti denylist on."""
        if self.server == "session":
            return True
        return self.server == "jwt_auth" and env_flag(self.settings, "AUTHBENCH_JWT_DENYLIST")

    @property
    def uses_redis(self) -> bool:
        return self.store == "redis"

    @property
    def algorithm(self) -> str | None:
        if self.server != "jwt_auth":
            return None
        return self.settings.get("AUTHBENCH_JWT_ALG", DEFAULT_ALGORITHM)

    @property
    def cache_ttl_s(self) -> float:
        if self.server != "session":
            return 0.0
        return env_float(self.settings, "AUTHBENCH_SESSION_CACHE_TTL", 0.0)

    @property
    def profile_query(self) -> str | None:
        if self.server != "session":
            return None
        return env_choice(self.settings, "AUTHBENCH_PROFILE_QUERY", PROFILE_QUERIES)

    def facts(self) -> dict[str, Any]:
        """The entry as recorded in run.json: as parsed, plus what its settings mean."""
        return {
            **asdict(self),
            "store": self.store,
            "revocable": self.revocable,
            "algorithm": self.algorithm,
            "cache_ttl_s": self.cache_ttl_s,
            "profile_query": self.profile_query,
        }

    def runs(self, model: str, value: float, default: tuple) -> bool:
        """Whether this server runs a load point: its own list, else the scenario's."""
        chosen = self.closed_users if model == "closed" else self.fixed_rates
        return value in (default if chosen is None else chosen)


@dataclass(frozen=True)
class RevocationSpec:
    """Log out, then probe until 401: how long a revoked token keeps working."""

    servers: tuple[str, ...]
    probe_for_s: float = 3.0
    hosts: int = 2  # app servers behind a round-robin balancer: logout reaches one of them


@dataclass(frozen=True)
class AvailabilitySpec:
    """Under a fixed load: stop the store for a while, start it again, then SIGTERM the server."""

    servers: tuple[str, ...]
    rate: float = 200.0
    users: int = 16
    duration_s: int = 14
    database_down_at_s: float = 3.0
    database_down_for_s: float = 3.0
    sigterm_at_s: float = 11.0


@dataclass(frozen=True)
class PairedSpec:
    """The arms of a comparison, run at once and sharing one random stream of requests.

    Every latency verdict comes from here. `question` says what the group answers (QUESTIONS);
    `headline` is the pair its answer is about (the first pair unless set). `a_a` names an arm
    that also runs a second time as `<label>_aa`: the harness checking itself, since two copies
    of one server must come out `no_difference`. The margin is `margin_fraction` of the
    baseline arm's median unless `margin_us` sets it; the baseline is the second arm of the
    headline pair unless set. `arrivals` is the arrival process at a fixed rate (None: the
    scenario's).
    """

    arms: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    name: str = "main"
    question: str = "claim"
    headline: tuple[str, str] | None = None
    arrivals: str | None = None
    rates: tuple[float, ...] = ()
    users: int = 32
    unloaded: bool = True
    a_a: str | None = None
    baseline: str | None = None
    warmup_s: float = 3.0
    duration_s: int = 15
    seed: int = 1
    margin_fraction: float = 0.10
    margin_us: float | None = None
    # A token population (bench.system.tokens): each request carries the token of one of `tokens`
    # users, Zipf-distributed with exponent `popularity`; 0: one token per Locust user.
    tokens: int = 0
    popularity: float = 1.0

    @property
    def a_a_label(self) -> str | None:
        return f"{self.a_a}_aa" if self.a_a else None

    @property
    def all_pairs(self) -> tuple[tuple[str, str], ...]:
        """The scenario's pairs, then the A/A pair (copy, original)."""
        extra = ((self.a_a_label, self.a_a),) if self.a_a else ()
        return self.pairs + extra

    def roles(self, servers: dict[str, ServerSpec]) -> dict[str, Any]:
        """Who is who in this group, as run.json records it for the read side: the headline
        pair, the baseline, the A/A pair, and for every pair what differs between its arms."""
        pairs = []
        for a, b in self.all_pairs:
            kind = "a_a" if a == self.a_a_label else "compare"
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "kind": kind,
                    "differs": {} if kind == "a_a" else differences(servers[a], servers[b]),
                }
            )
        headline = self.headline or self.pairs[0]
        return {
            "headline": list(headline),
            "baseline": self.baseline or headline[1],
            "a_a": [self.a_a_label, self.a_a] if self.a_a else None,
            "pairs": pairs,
        }


def differences(a: ServerSpec, b: ServerSpec) -> dict[str, list]:
    """What differs between two servers, fact by fact: [a's, b's]. Two servers of one kind that
    differ in a setting are a variant of each other; the read side reads it from here."""
    facts_a, facts_b = a.facts(), b.facts()
    found = {}
    for key in (
        "server",
        "runtime",
        "path",
        "workers",
        "db_delay_ms",
        "store",
        "revocable",
        "algorithm",
        "cache_ttl_s",
        "profile_query",
    ):
        if facts_a[key] != facts_b[key]:
            found[key] = [facts_a[key], facts_b[key]]
    for key in sorted(set(a.settings) | set(b.settings)):
        if a.settings.get(key) != b.settings.get(key):
            found[f"settings.{key}"] = [a.settings.get(key), b.settings.get(key)]
    return found


@dataclass(frozen=True)
class PairedCell:
    """One paired run: every arm up at once, one Locust run, a random arm per request.

    `rate` is the total rate shared by the arms; None is the unloaded mode (one user, closed
    loop: the cleanest comparison there is).
    """

    index: int
    group: PairedSpec
    arms: tuple[ServerSpec, ...]
    users: int
    rate: float | None
    repeat: int
    arrivals: str = DEFAULT_ARRIVALS
    model: str = "paired"

    @property
    def id(self) -> str:
        point = "unloaded" if self.rate is None else f"r{self.rate:g}"
        return f"{self.index:03d}-paired-{self.group.name}-{point}-{self.repeat}"

    def describe(self) -> str:
        arms = ", ".join(spec.label for spec in self.arms)
        load = (
            "unloaded (1 user, closed loop)"
            if self.rate is None
            else f"{self.rate:g}/s in total, {self.arrivals} arrivals"
        )
        return f"paired {self.group.name} [{arms}]: {load}, repeat {self.repeat}"


@dataclass(frozen=True)
class Cell:
    index: int
    server: ServerSpec
    model: str  # "closed" or "fixed_rate"
    users: int
    rate: float | None
    repeat: int
    arrivals: str = DEFAULT_ARRIVALS

    @property
    def id(self) -> str:
        point = f"u{self.users}" if self.model == "closed" else f"r{self.rate:g}"
        return f"{self.index:03d}-{self.server.label}-{self.model}-{point}-{self.repeat}"

    def describe(self) -> str:
        users = f"{self.users} user" + ("" if self.users == 1 else "s")
        load = (
            f"closed loop, {users}"
            if self.model == "closed"
            else f"fixed rate {self.rate:g}/s ({self.arrivals} arrivals), {users}"
        )
        return f"{self.server.label}: {load}, repeat {self.repeat}"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    servers: tuple[ServerSpec, ...]
    warmup_s: float
    duration_s: int
    description: str = ""
    closed_users: tuple[int, ...] = ()
    fixed_rates: tuple[float, ...] = ()
    fixed_rate_users: int = 16
    arrivals: str = DEFAULT_ARRIVALS
    repeats: int = 1
    seeded_users: int = 10_000
    seeded_sessions: int = 10_000
    locust_workers: int = 0
    micro: str = "quick"
    reference_rate: float | None = None
    revocation: RevocationSpec | None = None
    availability: AvailabilitySpec | None = None
    paired: tuple[PairedSpec, ...] = ()

    def paired_arms(self, group: PairedSpec) -> tuple[ServerSpec, ...]:
        """The servers of a paired group's cells, the A/A copy last."""
        arms = tuple(self.server(label) for label in group.arms)
        if group.a_a:
            twin = self.server(group.a_a)
            arms += (replace(twin, label=group.a_a_label, closed_users=None, fixed_rates=None),)
        return arms

    def plan(self) -> list[Cell | PairedCell]:
        """Per repeat: the paired cells (unloaded, then each rate), then the single-server cells."""

        def own(mine: tuple | None, default: tuple) -> tuple:
            return default if mine is None else mine

        closed = sorted({u for s in self.servers for u in own(s.closed_users, self.closed_users)})
        rates = sorted({r for s in self.servers for r in own(s.fixed_rates, self.fixed_rates)})
        points = [("closed", users, None, users) for users in closed]
        points += [("fixed_rate", self.fixed_rate_users, rate, rate) for rate in rates]
        cells: list[Cell | PairedCell] = []
        for repeat in range(1, self.repeats + 1):
            for group in self.paired:
                arms = self.paired_arms(group)
                loads = ([(1, None)] if group.unloaded else []) + [
                    (group.users, rate) for rate in group.rates
                ]
                arrivals = group.arrivals or self.arrivals
                for users, rate in loads:
                    cells.append(
                        PairedCell(len(cells) + 1, group, arms, users, rate, repeat, arrivals)
                    )
            for model, users, rate, value in points:
                for spec in self.servers:
                    default = self.closed_users if model == "closed" else self.fixed_rates
                    if spec.runs(model, value, default):
                        cells.append(
                            Cell(len(cells) + 1, spec, model, users, rate, repeat, self.arrivals)
                        )
        return cells

    def server(self, label: str) -> ServerSpec:
        return next(spec for spec in self.servers if spec.label == label)

    @property
    def needs_redis(self) -> bool:
        """A Redis-compatible store is started when a server keeps its sessions there, or the
        full micro-benchmarks (which time a Redis GET against the PostgreSQL lookup) run."""
        return self.micro == "full" or any(spec.uses_redis for spec in self.servers)

    def as_dict(self) -> dict[str, Any]:
        """As recorded in run.json: every field with its defaults applied, and each server's
        facts (store, revocable, algorithm, cache)."""
        data = asdict(self)
        data["servers"] = [spec.facts() for spec in self.servers]
        for group, recorded in zip(self.paired, data["paired"], strict=True):
            arms = {spec.label: spec for spec in self.paired_arms(group)}
            recorded["arrivals"] = group.arrivals or self.arrivals
            recorded["roles"] = group.roles(arms)
        return data


__all__ = [
    "ALGORITHMS",
    "ARRIVALS",
    "MICRO_LEVELS",
    "PATHS",
    "QUESTIONS",
    "AvailabilitySpec",
    "Cell",
    "PairedCell",
    "PairedSpec",
    "RevocationSpec",
    "Scenario",
    "ServerSpec",
    "defaults",
]
