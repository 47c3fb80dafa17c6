"""Scenarios are data: TOML files in bench/scenarios/ (or any path), checked strictly.

A scenario names the servers (with their settings), the load points, durations and repeats.
`plan()` turns it into cells, interleaving the servers inside every load point and repeat
(A B C A B C ...) so that drift on a noisy machine hits every server alike.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from servers import SERVERS
from servers.session import session_store

SCENARIO_DIR = Path(__file__).parent / "scenarios"
MICRO_LEVELS = ("off", "quick", "full")


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names the file and the field."""


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

    @property
    def uses_redis(self) -> bool:
        """Whether its sessions live in the Redis-compatible store (a session server setting)."""
        return self.server == "session" and session_store(self.settings) == "redis"

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
    """Under a fixed load: stop PostgreSQL for a while, start it again, then SIGTERM the server."""

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

    Every latency verdict comes from here. `a_a` names an arm that also runs a second time as
    `<label>_aa`: the harness checking itself, since two copies of one server must come out
    `no_difference`. The margin is `margin_fraction` of the baseline arm's median unless
    `margin_us` sets it.
    """

    arms: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    name: str = "main"
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

    @property
    def a_a_label(self) -> str | None:
        return f"{self.a_a}_aa" if self.a_a else None

    @property
    def all_pairs(self) -> tuple[tuple[str, str], ...]:
        """The scenario's pairs, then the A/A pair."""
        extra = ((self.a_a_label, self.a_a),) if self.a_a else ()
        return self.pairs + extra


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
    model: str = "paired"

    @property
    def id(self) -> str:
        point = "unloaded" if self.rate is None else f"r{self.rate:g}"
        return f"{self.index:03d}-paired-{self.group.name}-{point}-{self.repeat}"

    def describe(self) -> str:
        arms = ", ".join(spec.label for spec in self.arms)
        load = (
            "unloaded (1 user, closed loop)" if self.rate is None else f"{self.rate:g}/s in total"
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

    @property
    def id(self) -> str:
        point = f"u{self.users}" if self.model == "closed" else f"r{self.rate:g}"
        return f"{self.index:03d}-{self.server.label}-{self.model}-{point}-{self.repeat}"

    def describe(self) -> str:
        users = f"{self.users} user" + ("" if self.users == 1 else "s")
        load = (
            f"closed loop, {users}"
            if self.model == "closed"
            else f"fixed rate {self.rate:g}/s, {users}"
        )
        return f"{self.server.label}: {load}, repeat {self.repeat}"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    description: str
    servers: tuple[ServerSpec, ...]
    closed_users: tuple[int, ...]
    fixed_rates: tuple[float, ...]
    fixed_rate_users: int
    warmup_s: float
    duration_s: int
    repeats: int
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
            arms += (
                ServerSpec(group.a_a_label, twin.server, twin.settings, twin.workers,
                           twin.db_delay_ms, path=twin.path),
            )  # fmt: skip
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
                for users, rate in loads:
                    cells.append(PairedCell(len(cells) + 1, group, arms, users, rate, repeat))
            for model, users, rate, value in points:
                for spec in self.servers:
                    default = self.closed_users if model == "closed" else self.fixed_rates
                    if spec.runs(model, value, default):
                        cells.append(Cell(len(cells) + 1, spec, model, users, rate, repeat))
        return cells

    def server(self, label: str) -> ServerSpec:
        return next(spec for spec in self.servers if spec.label == label)

    @property
    def needs_redis(self) -> bool:
        """A Redis-compatible store is started when a server keeps its sessions there, or the
        full micro-benchmarks (which time a Redis GET against the PostgreSQL lookup) run."""
        return self.micro == "full" or any(spec.uses_redis for spec in self.servers)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


TOP_LEVEL = {
    "description",
    "servers",
    "load",
    "warmup_s",
    "duration_s",
    "repeats",
    "seeded_users",
    "seeded_sessions",
    "locust_workers",
    "micro",
    "reference_rate",
    "revocation",
    "availability",
    "paired",
}
PAIRED_KEYS = {
    "name",
    "arms",
    "pairs",
    "rates",
    "users",
    "unloaded",
    "a_a",
    "baseline",
    "warmup_s",
    "duration_s",
    "seed",
    "margin_fraction",
    "margin_us",
}
LOAD_KEYS = {"closed_users", "fixed_rates", "fixed_rate_users"}
PATHS = ("/me", "/profile")
SERVER_KEYS = {
    "path",
    "label",
    "server",
    "settings",
    "workers",
    "db_delay_ms",
    "closed_users",
    "fixed_rates",
}
REVOCATION_KEYS = {"servers", "probe_for_s", "hosts"}
AVAILABILITY_KEYS = {
    "servers",
    "rate",
    "users",
    "duration_s",
    "database_down_at_s",
    "database_down_for_s",
    "sigterm_at_s",
}


def resolve(name_or_path: str) -> Path:
    """`quick` means bench/scenarios/quick.toml; anything with a suffix or slash is a path."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ScenarioError(f"scenario file {name_or_path} does not exist")
        return path
    path = SCENARIO_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
        raise ScenarioError(f"unknown scenario {name_or_path!r}; known: {known}, or a .toml path")
    return path


def load(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario {path}: not valid TOML: {exc}") from None
    return parse(data, path)


def parse(data: dict[str, Any], path: Path) -> Scenario:
    where = f"scenario {path}"

    def fail(message: str) -> ScenarioError:
        return ScenarioError(f"{where}: {message}")

    def reject_unknown(table: dict[str, Any], allowed: set[str], inside: str = "") -> None:
        unknown = set(table) - allowed
        if unknown:
            raise fail(f"{inside}unknown field {sorted(unknown)[0]!r}")

    reject_unknown(data, TOP_LEVEL)

    def number(table: dict, key: str, default=None, *, whole=False, minimum=0, required=False):
        if key not in table:
            if required:
                raise fail(f"field {key!r} is missing")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"field {key!r} must be a number, got {value!r}")
        if whole and value != int(value):
            raise fail(f"field {key!r} must be a whole number, got {value!r}")
        if value < minimum:
            raise fail(f"field {key!r} must be at least {minimum}, got {value!r}")
        return int(value) if whole else float(value)

    def number_list(table: dict, key: str, *, whole: bool) -> tuple:
        values = table.get(key, [])
        if not isinstance(values, list):
            raise fail(f"field {key!r} must be a list of numbers, got {values!r}")
        return tuple(number({key: v}, key, whole=whole, minimum=1) for v in values)

    servers = data.get("servers")
    if not isinstance(servers, list) or not servers:
        raise fail("field 'servers' must be a non-empty list of [[servers]] tables")
    specs, labels = [], set()
    for i, entry in enumerate(servers, 1):
        if not isinstance(entry, dict):
            raise fail(f"servers entry {i} must be a table")
        reject_unknown(entry, SERVER_KEYS, f"servers entry {i}: ")
        server = entry.get("server")
        if server not in SERVERS:
            raise fail(f"servers entry {i}: field 'server' must be one of {', '.join(SERVERS)}")
        label = entry.get("label", server)
        if not isinstance(label, str) or not label.replace("_", "").replace("-", "").isalnum():
            raise fail(f"servers entry {i}: field 'label' must be letters, digits, - or _")
        if label in labels:
            raise fail(f"servers entry {i}: label {label!r} is used twice")
        labels.add(label)
        settings = entry.get("settings", {})
        if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
            raise fail(f"servers entry {i}: field 'settings' must be a table of strings")
        workers = number(entry, "workers", 1, whole=True, minimum=1)
        delay = number(entry, "db_delay_ms", None, minimum=0)
        if delay is not None and server == "control":
            raise fail(f"servers entry {i}: the control server has no database to delay")
        if "AUTHBENCH_SESSION_STORE" in settings and server != "session":
            raise fail(f"servers entry {i}: AUTHBENCH_SESSION_STORE is a session server setting")
        own_closed = (
            number_list(entry, "closed_users", whole=True) if "closed_users" in entry else None
        )
        own_rates = (
            number_list(entry, "fixed_rates", whole=False) if "fixed_rates" in entry else None
        )
        path_ = entry.get("path", "/me")
        if path_ not in PATHS:
            raise fail(f"servers entry {i}: field 'path' must be one of {', '.join(PATHS)}")
        specs.append(
            ServerSpec(label, server, dict(settings), workers, delay, own_closed, own_rates, path_)
        )

    raw_paired = data.get("paired", [])
    raw_paired = [raw_paired] if isinstance(raw_paired, dict) else raw_paired
    if not isinstance(raw_paired, list) or not all(isinstance(t, dict) for t in raw_paired):
        raise fail("[paired] must be a table, or [[paired]] tables")
    groups: list[PairedSpec] = []
    for table in raw_paired:
        name = table.get("name", "main")
        if not isinstance(name, str) or not name.isidentifier():
            raise fail("paired: field 'name' must be a word (letters, digits, _)")
        if name in {g.name for g in groups}:
            raise fail(f"paired: two groups are named {name!r}")
        reject_unknown(table, PAIRED_KEYS, f"paired {name}: ")
        arms = table.get("arms")
        if not isinstance(arms, list) or len(arms) < 2 or not all(a in labels for a in arms):
            raise fail("paired: field 'arms' must list two or more labels of [[servers]] entries")
        if len(set(arms)) != len(arms):
            raise fail("paired: field 'arms' names a server twice (use a_a for an A/A pair)")
        raw_pairs = table.get("pairs")
        if raw_pairs is None:
            pairs = tuple((a, b) for i, a in enumerate(arms) for b in arms[i + 1 :])
        elif isinstance(raw_pairs, list) and all(
            isinstance(p, list) and len(p) == 2 and p[0] in arms and p[1] in arms and p[0] != p[1]
            for p in raw_pairs
        ):
            pairs = tuple((a, b) for a, b in raw_pairs)
        else:
            raise fail("paired: field 'pairs' must be a list of [a, b] pairs of two arms")
        a_a = table.get("a_a")
        if a_a is not None and a_a not in arms:
            raise fail("paired: field 'a_a' must name one of the arms")
        if a_a is not None and f"{a_a}_aa" in labels:
            raise fail(f"paired: the A/A copy's label {a_a}_aa is taken by a [[servers]] entry")
        baseline = table.get("baseline", "jwt_auth" if "jwt_auth" in arms else arms[-1])
        if baseline not in arms:
            raise fail("paired: field 'baseline' must name one of the arms")
        unloaded = table.get("unloaded", True)
        if not isinstance(unloaded, bool):
            raise fail("paired: field 'unloaded' must be true or false")
        paired_rates = number_list(table, "rates", whole=False)
        if not paired_rates and not unloaded:
            raise fail("paired: give rates, unloaded = true, or both")
        fraction = number(table, "margin_fraction", 0.10, minimum=0)
        group = PairedSpec(
            name=name,
            arms=tuple(arms),
            pairs=pairs,
            rates=paired_rates,
            users=number(table, "users", 32, whole=True, minimum=1),
            unloaded=unloaded,
            a_a=a_a,
            baseline=baseline,
            warmup_s=number(table, "warmup_s", 3.0, minimum=0),
            duration_s=number(table, "duration_s", 15, whole=True, minimum=1),
            seed=number(table, "seed", 1, whole=True, minimum=0),
            margin_fraction=fraction,
            margin_us=number(table, "margin_us", None, minimum=0),
        )
        groups.append(group)
    paired = tuple(groups)

    load_table = data.get("load", {} if paired else None)
    if not isinstance(load_table, dict):
        raise fail("table [load] is missing")
    reject_unknown(load_table, LOAD_KEYS, "load: ")
    closed = number_list(load_table, "closed_users", whole=True)
    rates = number_list(load_table, "fixed_rates", whole=False)
    if not closed and not rates and not paired:
        raise fail("load: give closed_users, fixed_rates or both")
    micro = data.get("micro", "quick")
    if micro not in MICRO_LEVELS:
        raise fail(f"field 'micro' must be one of {', '.join(MICRO_LEVELS)}, got {micro!r}")
    known_rates = rates + tuple(r for group in paired for r in group.rates)
    reference = number(data, "reference_rate", known_rates[0] if known_rates else None, minimum=1)
    if reference is not None and known_rates and reference not in known_rates:
        raise fail(f"field 'reference_rate' must be one of the rates, got {reference:g}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("field 'description' must be a string")

    def experiment(key: str, allowed: set[str]) -> dict[str, Any] | None:
        table = data.get(key)
        if table is None:
            return None
        if not isinstance(table, dict):
            raise fail(f"[{key}] must be a table")
        reject_unknown(table, allowed, f"{key}: ")
        names = table.get("servers")
        if not isinstance(names, list) or not names or not all(n in labels for n in names):
            raise fail(f"{key}: field 'servers' must list labels of [[servers]] entries")
        return table

    revocation = None
    if (table := experiment("revocation", REVOCATION_KEYS)) is not None:
        revocation = RevocationSpec(
            servers=tuple(table["servers"]),
            probe_for_s=number(table, "probe_for_s", 3.0, minimum=0.1),
            hosts=number(table, "hosts", 2, whole=True, minimum=1),
        )
    availability = None
    if (table := experiment("availability", AVAILABILITY_KEYS)) is not None:
        availability = AvailabilitySpec(
            servers=tuple(table["servers"]),
            rate=number(table, "rate", 200.0, minimum=1),
            users=number(table, "users", 16, whole=True, minimum=1),
            duration_s=number(table, "duration_s", 14, whole=True, minimum=1),
            database_down_at_s=number(table, "database_down_at_s", 3.0, minimum=0),
            database_down_for_s=number(table, "database_down_for_s", 3.0, minimum=0.1),
            sigterm_at_s=number(table, "sigterm_at_s", 11.0, minimum=0),
        )
        a = availability
        if not a.database_down_at_s + a.database_down_for_s < a.sigterm_at_s < a.duration_s:
            raise fail(
                "availability: the database must be back before sigterm_at_s, within duration_s"
            )

    return Scenario(
        name=path.stem,
        path=str(path),
        description=description,
        servers=tuple(specs),
        closed_users=closed,
        fixed_rates=rates,
        fixed_rate_users=number(load_table, "fixed_rate_users", 16, whole=True, minimum=1),
        warmup_s=number(data, "warmup_s", required=True, minimum=0),
        duration_s=number(data, "duration_s", required=True, whole=True, minimum=1),
        repeats=number(data, "repeats", 1, whole=True, minimum=1),
        seeded_users=number(data, "seeded_users", 10_000, whole=True, minimum=1),
        seeded_sessions=number(data, "seeded_sessions", 10_000, whole=True, minimum=0),
        locust_workers=number(data, "locust_workers", 0, whole=True, minimum=0),
        micro=micro,
        reference_rate=reference,
        revocation=revocation,
        availability=availability,
        paired=paired,
    )
