"""What a scenario is: servers, paired groups, load points, experiments, and the plan of cells.

A `[[servers]]` entry (a server the harness starts, or an external arm at a `url`) is
bench.run.scenario_servers' ServerSpec, re-exported here.

Scenarios are data: TOML files in bench/run/scenarios/ (or any path), read by
bench.run.scenario_toml and checked by pydantic against these dataclasses. Every field, its type,
its least value and its default live here, once; the rules across fields (bench.run.scenario_rules)
are attached here as validators. Built in code, the dataclasses are plain: only a file is checked.
`plan()` turns a scenario into cells (bench.run.scenario_plan, with the kinds of cell).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt, model_validator

from bench.load.arrivals import ARRIVALS, DEFAULT_ARRIVALS
from bench.results.run_settings import DEFAULT_MARGIN_FRACTION
from bench.results.scenario_records import PairRecord, RolesRecord, ScenarioRecord
from bench.run import scenario_rules
from bench.run.scenario_servers import PATHS, RUNTIME_CHOICES, ServerSpec, differences
from servers.jwt_auth import ALGORITHMS

MICRO_LEVELS = ("off", "quick", "full")
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
    "interference",  # the curve's pairs with their arms at once, beside each server alone
    "other",
)

# How a file's values are checked: numbers must be numbers (TOML's true is not 1), each with its
# least value; a float field takes a whole number too. A mistake is worded by the reader.
AtLeastOne = Annotated[StrictInt, Field(ge=1)]
ZeroOrMore = Annotated[StrictInt, Field(ge=0)]
NonNegative = Annotated[StrictFloat, Field(ge=0)]
Rate = Annotated[StrictFloat, Field(ge=1)]
Brief = Annotated[StrictFloat, Field(ge=0.1)]
# A load as a fraction of a capacity measured in the run: above 1 is past it (open loop only).
Fraction = Annotated[StrictFloat, Field(gt=0, le=1.5)]
DRIVERS = ("auto", "locust", "open_loop")  # who drives the curve's blocks
CHECKED = ConfigDict(extra="forbid")  # a field that is not one of these is a mistake


@dataclass(frozen=True)
class RevocationSpec:
    """Log out, then probe until 401: how long a revoked token keeps working."""

    __pydantic_config__ = CHECKED
    servers: Annotated[tuple[str, ...], Field(min_length=1)]
    probe_for_s: Brief = 3.0
    hosts: AtLeastOne = 2  # app servers behind a round-robin balancer: logout reaches one of them


@dataclass(frozen=True)
class AvailabilitySpec:
    """Under a fixed load: stop the store for a while, start it again, then SIGTERM the server."""

    __pydantic_config__ = CHECKED
    servers: Annotated[tuple[str, ...], Field(min_length=1)]
    rate: Rate = 200.0
    users: AtLeastOne = 16
    duration_s: AtLeastOne = 14
    database_down_at_s: NonNegative = 3.0
    database_down_for_s: Brief = 3.0
    sigterm_at_s: NonNegative = 11.0
    _rules = model_validator(mode="after")(scenario_rules.availability_rules)


@dataclass(frozen=True)
class PairedSpec:
    """The arms of a comparison, run at once and sharing one random stream of requests.

    Every latency verdict comes from here. `pairs` are every pair of arms, in order, unless set;
    `question` says what the group answers (QUESTIONS); `headline` is the pair its answer is
    about (the first pair unless set). `a_a` names an arm that also runs a second time as
    `<label>_aa`: the harness checking itself, since two copies of one server must come out
    `no_difference`. The margin is `margin_fraction` of the baseline arm's median unless
    `margin_us` sets it; the baseline is the second arm of the headline pair unless set. The
    derived defaults (pairs, headline, baseline) are filled in when a file is checked.
    `arrivals` is the arrival process at a fixed rate (None: the scenario's).
    """

    __pydantic_config__ = CHECKED
    arms: Annotated[tuple[str, ...], Field(min_length=2)]
    pairs: tuple[tuple[str, str], ...] = ()
    name: Annotated[str, Field(pattern=r"^[^\W\d]\w*$")] = "main"
    question: Literal[QUESTIONS] = "claim"
    headline: tuple[str, str] | None = None
    arrivals: Literal[ARRIVALS] | None = None
    rates: tuple[Rate, ...] = ()
    # Total rates as fractions of the group's capacity (n arms / the sum of their service
    # demands, the A/A copy counting as its original), resolved once the closed loop has run.
    load_fractions: tuple[Fraction, ...] = ()
    users: AtLeastOne = 32
    unloaded: StrictBool = True
    a_a: str | None = None
    baseline: str | None = None
    warmup_s: NonNegative = 3.0
    duration_s: AtLeastOne = 15
    seed: ZeroOrMore = 1
    margin_fraction: NonNegative = DEFAULT_MARGIN_FRACTION
    margin_us: NonNegative | None = None
    # A token population (bench.system.tokens): each request carries the token of one of `tokens`
    # users, Zipf-distributed with exponent `popularity`; 0: one token per Locust user.
    tokens: ZeroOrMore = 0
    popularity: NonNegative = 1.0
    _rules = model_validator(mode="after")(scenario_rules.paired_rules)

    @property
    def a_a_label(self) -> str | None:
        return f"{self.a_a}_aa" if self.a_a else None

    @property
    def all_pairs(self) -> tuple[tuple[str, str], ...]:
        """The scenario's pairs, then the A/A pair (copy, original)."""
        extra = ((self.a_a_label, self.a_a),) if self.a_a else ()
        return self.pairs + extra

    def roles(self, servers: dict[str, ServerSpec]) -> RolesRecord:
        """Who is who in this group, as run.json records it for the read side: the headline
        pair, the baseline, the A/A pair, and for every pair what differs between its arms."""
        pairs = []
        for a, b in self.all_pairs:
            kind = "a_a" if a == self.a_a_label else "compare"
            differs = {} if kind == "a_a" else differences(servers[a], servers[b])
            pairs.append(PairRecord(a=a, b=b, kind=kind, differs=differs))
        headline = self.headline or self.pairs[0]
        return RolesRecord(
            headline=headline,
            baseline=self.baseline or headline[1],
            a_a=(self.a_a_label, self.a_a) if self.a_a else None,
            pairs=pairs,
        )


@dataclass(frozen=True)
class CurveSpec:
    """The load curve: each of `servers` alone on the servers' core (the others up and idle),
    open loop, at every one of `fractions` of `capacity_of`'s capacity (the same absolute rates
    for every server), in blocks (`warmup_s`, then `duration_s` measured), the servers' order
    shuffled per repeat. `driver` is who sends the load: Locust (`users` users), the independent
    open-loop client (at most `connections` connections), or `auto` (Locust where it can keep
    the schedule from its core, the independent client above). `pairs` are judged at every rate;
    at each of `concurrent` (some of the fractions) each pair also runs with its arms at once,
    each arm at the curve's rate: what concurrent pairing costs. None: the scenario's, or (for
    capacity_of and pairs) the first server and every pair of servers in order, filled in when
    a file is checked."""

    __pydantic_config__ = CHECKED
    servers: Annotated[tuple[str, ...], Field(min_length=1)]
    fractions: Annotated[tuple[Fraction, ...], Field(min_length=1)]
    capacity_of: str | None = None
    arrivals: Literal[ARRIVALS] | None = None
    repeats: AtLeastOne | None = None
    warmup_s: NonNegative = 1.5
    duration_s: AtLeastOne = 5
    connections: AtLeastOne = 64
    users: AtLeastOne = 32
    driver: Literal[DRIVERS] = "auto"
    pairs: tuple[tuple[str, str], ...] = ()
    margin_fraction: NonNegative = DEFAULT_MARGIN_FRACTION
    concurrent: tuple[Fraction, ...] = ()
    _rules = model_validator(mode="after")(scenario_rules.curve_rules)

    @property
    def reference(self) -> str:
        """The server whose capacity the fractions are of."""
        return self.capacity_of or self.servers[0]

    @property
    def all_pairs(self) -> tuple[tuple[str, str], ...]:
        servers = self.servers
        return self.pairs or tuple((a, b) for i, a in enumerate(servers) for b in servers[i + 1 :])

    def concurrent_group(self, pair: tuple[str, str], number: int, arrivals: str) -> PairedSpec:
        """The paired group of one pair's concurrent cells (`number` counts from 1)."""
        return PairedSpec(
            arms=pair,
            pairs=(pair,),
            name="curve_concurrent" + (f"_{number}" if number > 1 else ""),
            question="interference",
            headline=pair,
            arrivals=arrivals,
            users=self.users,
            unloaded=False,
            baseline=pair[1],
            warmup_s=self.warmup_s,
            duration_s=self.duration_s,
            margin_fraction=self.margin_fraction,
        )


@dataclass(frozen=True)
class Scenario:
    __pydantic_config__ = CHECKED
    name: str
    path: str
    servers: Annotated[tuple[ServerSpec, ...], Field(min_length=1)]
    warmup_s: NonNegative
    duration_s: AtLeastOne
    description: str = ""
    closed_users: tuple[AtLeastOne, ...] = ()  # closed_users to fixed_rate_users: [load] in a file
    fixed_rates: tuple[Rate, ...] = ()
    fixed_rate_users: AtLeastOne = 16
    arrivals: Literal[ARRIVALS] = DEFAULT_ARRIVALS
    repeats: AtLeastOne = 1
    seeded_users: AtLeastOne = 10_000
    seeded_sessions: ZeroOrMore = 10_000
    locust_workers: ZeroOrMore = 0
    micro: Literal[MICRO_LEVELS] = "quick"
    reference_rate: Rate | None = None  # the first rate unless set (or a reference fraction)
    reference_fraction: Fraction | None = None  # the first load fraction unless set
    revocation: RevocationSpec | None = None
    availability: AvailabilitySpec | None = None
    paired: tuple[PairedSpec, ...] = ()
    curve: CurveSpec | None = None
    _rules = model_validator(mode="after")(scenario_rules.scenario_rules)

    @property
    def curve_repeats(self) -> int:
        return 0 if self.curve is None else self.curve.repeats or self.repeats

    def concurrent_groups(self) -> tuple[PairedSpec, ...]:
        """The curve's pairs with their arms at once (none without `concurrent` fractions)."""
        curve = self.curve
        if curve is None or not curve.concurrent:
            return ()
        arrivals = curve.arrivals or self.arrivals
        return tuple(
            curve.concurrent_group(pair, i, arrivals) for i, pair in enumerate(curve.all_pairs, 1)
        )

    def paired_arms(self, group: PairedSpec) -> tuple[ServerSpec, ...]:
        """The servers of a paired group's cells, the A/A copy last."""
        arms = tuple(self.server(label) for label in group.arms)
        if group.a_a:
            twin = self.server(group.a_a)
            arms += (replace(twin, label=group.a_a_label, closed_users=None, fixed_rates=None),)
        return arms

    def plan(self) -> list:
        """The cells of a run in order (bench.run.scenario_plan)."""
        from bench.run.scenario_plan import plan

        return plan(self)

    def server(self, label: str) -> ServerSpec:
        return next(spec for spec in self.servers if spec.label == label)

    @property
    def needs_redis(self) -> bool:
        """A Redis-compatible store is started when a server keeps its sessions there, or the
        full micro-benchmarks (which time a Redis GET against the PostgreSQL lookup) run."""
        return self.micro == "full" or any(spec.uses_redis for spec in self.servers)

    def record(self) -> ScenarioRecord:
        """As recorded in run.json: every field with its defaults applied, each server's
        facts (store, revocable, algorithm, cache), who is who in each paired group (the
        curve's concurrent groups last), and the curve as asked (its rates are filled in once
        the capacities are measured)."""
        data = asdict(self)
        data["servers"] = [spec.record() for spec in self.servers]
        groups = self.paired + self.concurrent_groups()
        data["paired"] = [asdict(group) for group in groups]
        for group, recorded in zip(groups, data["paired"], strict=True):
            arms = {spec.label: spec for spec in self.paired_arms(group)}
            recorded["arrivals"] = group.arrivals or self.arrivals
            recorded["roles"] = group.roles(arms)
        if self.curve is not None:
            data["curve"] |= {
                "capacity_of": self.curve.reference,
                "arrivals": self.curve.arrivals or self.arrivals,
                "repeats": self.curve_repeats,
                "pairs": self.curve.all_pairs,
                "rates": [],
            }
        return ScenarioRecord.model_validate(data)


__all__ = [
    "ALGORITHMS",
    "ARRIVALS",
    "MICRO_LEVELS",
    "PATHS",
    "QUESTIONS",
    "RUNTIME_CHOICES",
    "AvailabilitySpec",
    "PairedSpec",
    "RevocationSpec",
    "Scenario",
    "ServerSpec",
    "differences",
]
