"""A typed model of a run: who the servers are, what each paired group asks, which pair is its
headline, which arm is a variant of which, and the thresholds the run applied.

Everything here is read from what the run recorded (bench.results: the scenario as run and the
thresholds), once; older formats arrive upgraded. Nothing on the read side interprets a group's name, an arm's
label or a setting string: it asks this model. Rename every group and arm of a run, and the
same sentences, verdicts and figures come out with the new names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.results import RunRecord
from bench.results.run_settings import DEFAULT_MARGIN_FRACTION, Thresholds
from bench.results.scenario_records import PairedGroupRecord, PairRecord, ServerRecord


@dataclass(frozen=True)
class Server:
    """A server of the run, with what its settings mean."""

    label: str
    kind: str  # "control", "session", "jwt_auth"
    path: str = "/me"
    settings: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    db_delay_ms: float | None = None
    store: str | None = None  # where the per-request lookup goes: "postgres", "redis", None
    revocable: bool | None = False  # None: an external arm's, not known from outside
    algorithm: str | None = None
    cache_ttl_s: float | None = 0.0  # None: an external arm's, not known from outside
    profile_query: str | None = None  # session server, GET /profile: "joined" or "naive"
    runtime: str = "python"
    copy_of: str | None = None  # the A/A copy of this label
    url: str | None = None  # an external arm's: a deployment the harness did not start

    @property
    def external(self) -> bool:
        """Reached at its URL, started by no one here: its CPU and its store's not measured."""
        return self.url is not None

    @property
    def plain(self) -> bool:
        """GET /me, no settings, one worker, its store at its own distance, started here (an
        external arm is drawn apart from the started server of its kind)."""
        return (
            self.path == "/me"
            and not self.settings
            and self.workers == 1
            and self.db_delay_ms is None
            and self.copy_of is None
            and not self.external
        )

    @property
    def role(self) -> str:
        """What the figures colour it by: its kind, and for a session server its store."""
        if self.kind == "session":
            return "session_redis" if self.store == "redis" else "session"
        return self.kind


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    kind: str = "compare"  # or "a_a"
    differs: dict[str, list] = field(default_factory=dict)

    @property
    def is_a_a(self) -> bool:
        return self.kind == "a_a"


@dataclass(frozen=True)
class Group:
    """A paired group: its arms ran at once, sharing one random stream of requests."""

    name: str
    question: str
    arms: tuple[str, ...]
    pairs: tuple[Pair, ...]
    headline: Pair
    baseline: str
    a_a: Pair | None = None
    rates: tuple[float, ...] = ()
    load_fractions: tuple[float, ...] = ()  # of each rate, when the scenario gave fractions
    unloaded: bool = True
    margin_fraction: float = DEFAULT_MARGIN_FRACTION
    margin_us: float | None = None
    arrivals: str | None = None
    tokens: int = 0  # a token population of this many users (0: one token per Locust user)

    def pair(self, a: str, b: str) -> Pair | None:
        return next((p for p in self.pairs if (p.a, p.b) == (a, b)), None)


@dataclass(frozen=True)
class RunModel:
    servers: dict[str, Server]
    groups: tuple[Group, ...]
    thresholds: Thresholds

    def server(self, label: str) -> Server:
        return self.servers.get(label) or Server(label, label)

    def groups_for(self, question: str) -> list[Group]:
        return [g for g in self.groups if g.question == question]

    def named(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    def group(self, question: str) -> Group | None:
        return next(iter(self.groups_for(question)), None)

    @property
    def claim(self) -> Group | None:
        """The group the headline is about: session against JWT on GET /me."""
        return self.group("claim")

    def find(self, kind: str, **facts: Any) -> str | None:
        """The plainest server of `kind` (fewest settings) whose facts match: GET /me, one
        worker, its store at its own distance, unless `facts` say otherwise. A fact may be a
        value or a test (`cache_ttl_s=lambda ttl: ttl > 0`). Never an external arm: its facts
        are not known from outside."""
        wanted = {"path": "/me", "workers": 1, "db_delay_ms": None, **facts}

        def matches(server: Server) -> bool:
            for key, value in wanted.items():
                have = getattr(server, key)
                if not (value(have) if callable(value) else have == value):
                    return False
            return True

        found = [
            s
            for s in self.servers.values()
            if s.kind == kind and not s.copy_of and not s.external and matches(s)
        ]
        return min(found, key=lambda s: len(s.settings)).label if found else None

    def role_of(self, label: str) -> str:
        return self.server(label).role

    @property
    def external(self) -> list[str]:
        """The labels of the external arms, in the run's order (A/A copies left out)."""
        return [s.label for s in self.servers.values() if s.external and not s.copy_of]


def _server(entry: ServerRecord) -> Server:
    return Server(
        label=entry.label,
        kind=entry.server,
        path=entry.path,
        settings=dict(entry.settings),
        workers=entry.workers,
        db_delay_ms=entry.db_delay_ms,
        store=entry.store,
        revocable=entry.revocable,
        algorithm=entry.algorithm,
        cache_ttl_s=entry.cache_ttl_s,
        profile_query=entry.profile_query,
        runtime=entry.runtime,
        url=entry.url,
    )


def _pair(entry: PairRecord) -> Pair:
    return Pair(entry.a, entry.b, entry.kind, dict(entry.differs))


def _group(entry: PairedGroupRecord) -> Group:
    roles = entry.roles
    pairs = tuple(_pair(p) for p in roles.pairs)
    headline = next(p for p in pairs if (p.a, p.b) == tuple(roles.headline))
    a_a = next((p for p in pairs if p.is_a_a), None)
    return Group(
        name=entry.name,
        question=entry.question,
        arms=tuple(entry.arms),
        pairs=pairs,
        headline=headline,
        baseline=roles.baseline,
        a_a=a_a,
        rates=tuple(entry.rates),
        load_fractions=tuple(entry.load_fractions),
        unloaded=entry.unloaded,
        margin_fraction=entry.margin_fraction,
        margin_us=entry.margin_us,
        arrivals=entry.arrivals,
        tokens=entry.tokens,
    )


def build(run: RunRecord) -> RunModel:
    """The model of a run as it recorded it (any format, upgraded on load)."""
    servers = {s.label: _server(s) for s in run.scenario.servers}
    groups = tuple(_group(g) for g in run.scenario.paired)
    for group in groups:
        if group.a_a and group.a_a.a not in servers:
            original = servers[group.a_a.b]
            servers[group.a_a.a] = Server(
                **{**original.__dict__, "label": group.a_a.a, "copy_of": original.label}
            )
    return RunModel(servers, groups, run.settings)
