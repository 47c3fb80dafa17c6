"""Reading a scenario file: TOML checked strictly, one reader per table, one line per mistake.

Every table's allowed keys and defaults come from its dataclass in bench.run.scenario, so a
new setting is added in one place. A mistake names the file and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from bench.run.scenario import (
    ARRIVALS,
    MICRO_LEVELS,
    PATHS,
    QUESTIONS,
    AvailabilitySpec,
    PairedSpec,
    RevocationSpec,
    Scenario,
    ServerSpec,
    defaults,
)
from servers import SERVERS
from servers.common import ConfigError
from servers.runtime_catalogue import NAMES as RUNTIMES
from servers.runtime_catalogue import RUNTIMES as RUNTIME_CATALOGUE

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names the file and the field."""


def keys(cls: type, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> set[str]:
    return {f.name for f in fields(cls)} - set(drop) | set(add)


LOAD_KEYS = {"closed_users", "fixed_rates", "fixed_rate_users"}
TOP_LEVEL = keys(Scenario, drop=("name", "path", *LOAD_KEYS), add=("load",))


class Table:
    """One TOML table being read: typed fields with their defaults, errors naming the field."""

    def __init__(self, data: dict[str, Any], where: str, inside: str = ""):
        self.data, self.where, self.inside = data, where, inside

    def error(self, message: str) -> ScenarioError:
        return ScenarioError(f"{self.where}: {self.inside}{message}")

    def only(self, allowed: set[str]) -> Table:
        unknown = set(self.data) - allowed
        if unknown:
            raise self.error(f"unknown field {sorted(unknown)[0]!r}")
        return self

    def number(self, key: str, default=None, *, whole=False, minimum=0, required=False):
        if key not in self.data:
            if required:
                raise self.error(f"field {key!r} is missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"field {key!r} must be a number, got {value!r}")
        if whole and value != int(value):
            raise self.error(f"field {key!r} must be a whole number, got {value!r}")
        if value < minimum:
            raise self.error(f"field {key!r} must be at least {minimum}, got {value!r}")
        return int(value) if whole else float(value)

    def numbers(self, key: str, *, whole: bool, default: tuple | None = ()) -> tuple | None:
        if key not in self.data:
            return default
        values = self.data[key]
        if not isinstance(values, list):
            raise self.error(f"field {key!r} must be a list of numbers, got {values!r}")
        return tuple(
            Table({key: v}, self.where, self.inside).number(key, whole=whole, minimum=1)
            for v in values
        )

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"field {key!r} must be true or false")
        return value

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self.error(f"field {key!r} must be a string")
        return value


def resolve(name_or_path: str) -> Path:
    """`quick` means bench/run/scenarios/quick.toml; anything with a suffix or slash is a path."""
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


def parse_server(entry: Any, i: int, where: str, labels: set[str]) -> ServerSpec:
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: servers entry {i} must be a table")
    t = Table(entry, where, f"servers entry {i}: ").only(keys(ServerSpec))
    d = defaults(ServerSpec)
    server = entry.get("server")
    if server not in SERVERS:
        raise t.error(f"field 'server' must be one of {', '.join(SERVERS)}")
    label = entry.get("label", server)
    if not isinstance(label, str) or not label.replace("_", "").replace("-", "").isalnum():
        raise t.error("field 'label' must be letters, digits, - or _")
    if label in labels:
        raise t.error(f"label {label!r} is used twice")
    settings = entry.get("settings", d["settings"])
    if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
        raise t.error("field 'settings' must be a table of strings")
    delay = t.number("db_delay_ms", d["db_delay_ms"], minimum=0)
    if delay is not None and server == "control":
        raise t.error("the control server has no database to delay")
    if "AUTHBENCH_SESSION_STORE" in settings and server != "session":
        raise t.error("AUTHBENCH_SESSION_STORE is a session server setting")
    path = entry.get("path", d["path"])
    if path not in PATHS:
        raise t.error(f"field 'path' must be one of {', '.join(PATHS)}")
    runtime, command = parse_runtime(t, entry, server, settings)
    spec = ServerSpec(
        label,
        server,
        dict(settings),
        workers=t.number("workers", d["workers"], whole=True, minimum=1),
        db_delay_ms=delay,
        closed_users=t.numbers("closed_users", whole=True, default=None),
        fixed_rates=t.numbers("fixed_rates", whole=False, default=None),
        path=path,
        runtime=runtime,
        command=command,
    )
    try:
        spec.record()  # the settings, read as the server reads them
    except ConfigError as exc:
        raise t.error(f"settings: {exc}") from None
    return spec


def parse_runtime(t: Table, entry: dict, server: str, settings: dict) -> tuple[str, tuple | None]:
    """(runtime, command) of a server entry: a runtime of this project, or a command of its own."""
    runtime, command = entry.get("runtime"), entry.get("command")
    if runtime is not None and command is not None:
        raise t.error("give 'runtime' or 'command', not both")
    if command is not None:
        if not (isinstance(command, list) and command and all(isinstance(c, str) for c in command)):
            raise t.error("field 'command' must be a list of strings")
        if not any("{port}" in part for part in command):
            raise t.error("field 'command' must have a {port} placeholder")
        return "command", tuple(command)
    runtime = runtime or "python"
    if runtime not in RUNTIMES:
        raise t.error(f"field 'runtime' must be one of {', '.join(RUNTIMES)}, or give a 'command'")
    if refusal := RUNTIME_CATALOGUE[runtime].refusal(settings):
        raise t.error(refusal)
    return runtime, None


def _arms_and_pairs(t: Table, labels: set[str]) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """A group's arms (labels of [[servers]] entries, each once) and its pairs (every pair of
    arms in order when the table gives none)."""
    arms = t.data.get("arms")
    if not isinstance(arms, list) or len(arms) < 2 or not all(a in labels for a in arms):
        raise t.error("field 'arms' must list two or more labels of [[servers]] entries")
    if len(set(arms)) != len(arms):
        raise t.error("field 'arms' names a server twice (use a_a for an A/A pair)")
    raw_pairs = t.data.get("pairs")
    if raw_pairs is None:
        return arms, tuple((a, b) for i, a in enumerate(arms) for b in arms[i + 1 :])
    if (
        isinstance(raw_pairs, list)
        and raw_pairs
        and all(
            isinstance(p, list) and len(p) == 2 and p[0] in arms and p[1] in arms and p[0] != p[1]
            for p in raw_pairs
        )
    ):
        return arms, tuple((a, b) for a, b in raw_pairs)
    raise t.error("field 'pairs' must be a list of [a, b] pairs of two arms")


def parse_paired(table: Any, where: str, labels: set[str], taken: set[str]) -> PairedSpec:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: [paired] must be a table, or [[paired]] tables")
    d = defaults(PairedSpec)
    name = table.get("name", d["name"])
    t = Table(table, where, "paired: ")
    if not isinstance(name, str) or not name.isidentifier():
        raise t.error("field 'name' must be a word (letters, digits, _)")
    if name in taken:
        raise t.error(f"two groups are named {name!r}")
    t = Table(table, where, f"paired {name}: ").only(keys(PairedSpec))
    arms, pairs = _arms_and_pairs(t, labels)
    headline = table.get("headline", pairs[0])
    if not (isinstance(headline, list | tuple) and tuple(headline) in pairs):
        raise t.error("field 'headline' must be one of the pairs")
    question = table.get("question", d["question"])
    if question not in QUESTIONS:
        raise t.error(f"field 'question' must be one of {', '.join(QUESTIONS)}")
    arrivals = table.get("arrivals", d["arrivals"])
    if arrivals is not None and arrivals not in ARRIVALS:
        raise t.error(f"field 'arrivals' must be one of {', '.join(ARRIVALS)}")
    a_a = table.get("a_a", d["a_a"])
    if a_a is not None and a_a not in arms:
        raise t.error("field 'a_a' must name one of the arms")
    if a_a is not None and f"{a_a}_aa" in labels:
        raise t.error(f"the A/A copy's label {a_a}_aa is taken by a [[servers]] entry")
    baseline = table.get("baseline", headline[1])
    if baseline not in arms:
        raise t.error("field 'baseline' must name one of the arms")
    unloaded = t.flag("unloaded", d["unloaded"])
    rates = t.numbers("rates", whole=False)
    if not rates and not unloaded:
        raise t.error("give rates, unloaded = true, or both")
    return PairedSpec(
        name=name,
        arms=tuple(arms),
        pairs=pairs,
        rates=rates,
        question=question,
        headline=tuple(headline),
        arrivals=arrivals,
        users=t.number("users", d["users"], whole=True, minimum=1),
        unloaded=unloaded,
        a_a=a_a,
        baseline=baseline,
        warmup_s=t.number("warmup_s", d["warmup_s"], minimum=0),
        duration_s=t.number("duration_s", d["duration_s"], whole=True, minimum=1),
        seed=t.number("seed", d["seed"], whole=True, minimum=0),
        margin_fraction=t.number("margin_fraction", d["margin_fraction"], minimum=0),
        margin_us=t.number("margin_us", d["margin_us"], minimum=0),
        tokens=t.number("tokens", d["tokens"], whole=True, minimum=0),
        popularity=t.number("popularity", d["popularity"], minimum=0),
    )


def experiment_table(data: dict, key: str, cls: type, where: str, labels: set[str]) -> Table | None:
    table = data.get(key)
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: [{key}] must be a table")
    t = Table(table, where, f"{key}: ").only(keys(cls))
    names = table.get("servers")
    if not isinstance(names, list) or not names or not all(n in labels for n in names):
        raise t.error("field 'servers' must list labels of [[servers]] entries")
    return t


def parse_revocation(data: dict, where: str, labels: set[str]) -> RevocationSpec | None:
    t = experiment_table(data, "revocation", RevocationSpec, where, labels)
    if t is None:
        return None
    d = defaults(RevocationSpec)
    return RevocationSpec(
        servers=tuple(t.data["servers"]),
        probe_for_s=t.number("probe_for_s", d["probe_for_s"], minimum=0.1),
        hosts=t.number("hosts", d["hosts"], whole=True, minimum=1),
    )


def parse_availability(data: dict, where: str, labels: set[str]) -> AvailabilitySpec | None:
    t = experiment_table(data, "availability", AvailabilitySpec, where, labels)
    if t is None:
        return None
    d = defaults(AvailabilitySpec)
    spec = AvailabilitySpec(
        servers=tuple(t.data["servers"]),
        rate=t.number("rate", d["rate"], minimum=1),
        users=t.number("users", d["users"], whole=True, minimum=1),
        duration_s=t.number("duration_s", d["duration_s"], whole=True, minimum=1),
        database_down_at_s=t.number("database_down_at_s", d["database_down_at_s"], minimum=0),
        database_down_for_s=t.number("database_down_for_s", d["database_down_for_s"], minimum=0.1),
        sigterm_at_s=t.number("sigterm_at_s", d["sigterm_at_s"], minimum=0),
    )
    if not spec.database_down_at_s + spec.database_down_for_s < spec.sigterm_at_s < spec.duration_s:
        raise t.error("the database must be back before sigterm_at_s, within duration_s")
    return spec


def _paired_groups(data: dict, top: Table, where: str, labels: set[str]) -> list[PairedSpec]:
    raw_paired = data.get("paired", [])
    raw_paired = [raw_paired] if isinstance(raw_paired, dict) else raw_paired
    if not isinstance(raw_paired, list):
        raise top.error("[paired] must be a table, or [[paired]] tables")
    paired: list[PairedSpec] = []
    for table in raw_paired:
        paired.append(parse_paired(table, where, labels, {g.name for g in paired}))
    return paired


def _reference_rate(top: Table, d: dict, rates: tuple, paired: list[PairedSpec]) -> float | None:
    """The rate the notebooks' headline figures are read at (the first rate by default); and a
    token population no larger than the seeded accounts."""
    seeded = top.number("seeded_users", d["seeded_users"], whole=True, minimum=1)
    for group in paired:
        if group.tokens > seeded:
            raise top.error(
                f"paired {group.name}: field 'tokens' ({group.tokens}) must not "
                f"exceed seeded_users ({seeded})"
            )
    known_rates = rates + tuple(r for group in paired for r in group.rates)
    reference = top.number("reference_rate", known_rates[0] if known_rates else None, minimum=1)
    if reference is not None and known_rates and reference not in known_rates:
        raise top.error(f"field 'reference_rate' must be one of the rates, got {reference:g}")
    return reference


def parse(data: dict[str, Any], path: Path) -> Scenario:
    where = f"scenario {path}"
    top = Table(data, where).only(TOP_LEVEL)
    d = defaults(Scenario)
    servers = data.get("servers")
    if not isinstance(servers, list) or not servers:
        raise top.error("field 'servers' must be a non-empty list of [[servers]] tables")
    specs: list[ServerSpec] = []
    for i, entry in enumerate(servers, 1):
        specs.append(parse_server(entry, i, where, {s.label for s in specs}))
    labels = {s.label for s in specs}

    paired = _paired_groups(data, top, where, labels)

    load_data = data.get("load", {} if paired else None)
    if not isinstance(load_data, dict):
        raise top.error("table [load] is missing")
    load = Table(load_data, where, "load: ").only(LOAD_KEYS)
    closed = load.numbers("closed_users", whole=True)
    rates = load.numbers("fixed_rates", whole=False)
    if not closed and not rates and not paired:
        raise load.error("give closed_users, fixed_rates or both")
    arrivals = data.get("arrivals", d["arrivals"])
    if arrivals not in ARRIVALS:
        raise top.error(f"field 'arrivals' must be one of {', '.join(ARRIVALS)}, got {arrivals!r}")
    micro = data.get("micro", d["micro"])
    if micro not in MICRO_LEVELS:
        raise top.error(f"field 'micro' must be one of {', '.join(MICRO_LEVELS)}, got {micro!r}")
    reference = _reference_rate(top, d, rates, paired)
    return Scenario(
        name=path.stem,
        path=str(path),
        description=top.text("description", d["description"]),
        servers=tuple(specs),
        closed_users=closed,
        fixed_rates=rates,
        arrivals=arrivals,
        fixed_rate_users=load.number(
            "fixed_rate_users", d["fixed_rate_users"], whole=True, minimum=1
        ),
        warmup_s=top.number("warmup_s", required=True, minimum=0),
        duration_s=top.number("duration_s", required=True, whole=True, minimum=1),
        repeats=top.number("repeats", d["repeats"], whole=True, minimum=1),
        seeded_users=top.number("seeded_users", d["seeded_users"], whole=True, minimum=1),
        seeded_sessions=top.number("seeded_sessions", d["seeded_sessions"], whole=True, minimum=0),
        locust_workers=top.number("locust_workers", d["locust_workers"], whole=True, minimum=0),
        micro=micro,
        reference_rate=reference,
        revocation=parse_revocation(data, where, labels),
        availability=parse_availability(data, where, labels),
        paired=tuple(paired),
    )
