"""Reading a scenario file: TOML checked by pydantic against bench.run.scenario, one line per mistake.

The dataclasses in bench.run.scenario are the one home of every field, its type, its least value
and its default, and carry the rules across fields (bench.run.scenario_rules). This module only
puts the file into their shape (the [load] table, a label defaulting to the server's kind) and
words pydantic's errors: one line per mistake, naming the file, the table and the field.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bench.run.scenario import PairedSpec, Scenario
from bench.run.scenario_rules import WORDS

SCENARIO_DIR = Path(__file__).parent / "scenarios"
LOAD_KEYS = ("closed_users", "fixed_rates", "fixed_rate_users")  # Scenario fields, under [load]
TABLES = ("servers", "paired", "revocation", "availability", "curve")
ONE_TABLE = ("revocation", "availability", "curve")  # a table, not a list of them


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names the file and the field."""


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


def parse(data: dict[str, Any], path: Path) -> Scenario:
    """A scenario from a TOML document; ScenarioError with one line per mistake."""
    where = f"scenario {path}"
    shaped = _shaped(data, path, where)
    try:
        return _checker().validate_python(shaped)
    except ValidationError as exc:
        lines = dict.fromkeys(f"{where}: {line}" for line in mistakes(exc, shaped))
        raise ScenarioError("\n".join(lines)) from None


@cache
def _checker() -> TypeAdapter[Scenario]:
    return TypeAdapter(Scenario)


def _shaped(data: dict[str, Any], path: Path, where: str) -> dict[str, Any]:
    """The file in the dataclasses' shape: [load]'s fields at the top, [paired] as a list, each
    server's label its kind unless set, a command's runtime "command" (an external arm's, given
    a url, "external"), the name and path."""
    misplaced = sorted(set(data) & {*LOAD_KEYS, "name", "path"})
    if misplaced:
        raise ScenarioError(f"{where}: unknown field {misplaced[0]!r}")
    load = data.get("load", {} if "paired" in data else None)
    if not isinstance(load, dict):
        raise ScenarioError(f"{where}: table [load] is missing")
    stray = sorted(set(load) - set(LOAD_KEYS))
    if stray:
        raise ScenarioError(f"{where}: load: unknown field {stray[0]!r}")
    shaped = {key: value for key, value in data.items() if key != "load"}
    shaped |= load | {"name": path.stem, "path": str(path)}
    if isinstance(shaped.get("servers"), list):
        folder = path.parent.absolute()
        shaped["servers"] = [_server(entry, folder) for entry in shaped["servers"]]
    if isinstance(shaped.get("paired"), dict):
        shaped["paired"] = [shaped["paired"]]
    return shaped


def _server(entry: Any, folder: Path) -> Any:
    if not isinstance(entry, dict):
        return entry
    implied = {"label": entry.get("server")} if isinstance(entry.get("server"), str) else {}
    if "command" in entry and "runtime" not in entry:
        implied["runtime"] = "command"
    if "url" in entry and "runtime" not in entry and "command" not in entry:
        implied["runtime"] = "external"
    return implied | entry | _beside(entry, folder)


def _beside(entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    """An external arm's relative paths read from the scenario file's folder, not from wherever
    the run was started, and recorded absolute: `ca_file`, and `token_command`'s program when it
    is a path (has a slash; a bare name is looked up on PATH)."""
    found: dict[str, Any] = {}
    ca_file, argv = entry.get("ca_file"), entry.get("token_command")
    if isinstance(ca_file, str) and ca_file:
        found["ca_file"] = os.path.normpath(folder / Path(ca_file).expanduser())
    if isinstance(argv, list) and argv and isinstance(argv[0], str) and "/" in argv[0]:
        found["token_command"] = [os.path.normpath(folder / Path(argv[0]).expanduser()), *argv[1:]]
    return found


def mistakes(exc: ValidationError, shaped: dict[str, Any]) -> list[str]:
    """pydantic's errors, one line each: the table, then the field and what is wrong with it."""
    errors = exc.errors(include_url=False)
    lines = []
    for error in errors:
        loc = error["loc"]
        if error["type"] == "too_short" and any(
            e["loc"][: len(loc)] == loc != e["loc"] for e in errors
        ):
            continue  # counted after its items: an item is wrong, not the length
        table, where, rest = _located(loc, shaped)
        if error["type"] == "missing" and rest == ("label",):
            continue  # a label defaults to the server's kind: the kind is what is missing
        lines.append(where + _worded(error, table, rest))
    return lines


def _located(loc: tuple, shaped: dict[str, Any]) -> tuple[str, str, tuple]:
    """(table, its words at the start of the line, the field and where inside it) of an error."""
    if loc and loc[0] in TABLES and (loc[0] in ONE_TABLE or len(loc) > 1):
        table, rest = loc[0], loc[1:]
        if table == "servers":
            where, rest = f"servers entry {rest[0] + 1}: ", rest[1:]
        elif table == "paired":
            group = shaped["paired"][rest[0]]
            name = group.get("name", PairedSpec.name) if isinstance(group, dict) else None
            where = (
                f"paired {name}: " if isinstance(name, str) and name.isidentifier() else "paired: "
            )
            rest = rest[1:]
        else:
            where = f"{table}: "
    else:
        table, rest = "", loc
        where = "load: " if loc and loc[0] in LOAD_KEYS else ""
    return table, where, rest


def _worded(error: dict[str, Any], table: str, rest: tuple) -> str:
    kind, given, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "value_error":  # a rule (bench.run.scenario_rules): its message is the line
        return str(ctx["error"])
    if not rest:
        return "must be a table"
    field = rest[0]
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown field {field!r}"
    if kind == "missing" and len(rest) == 1:
        return f"field {field!r} is missing"
    if (table, field) in WORDS:
        return f"field {field!r} {WORDS[table, field]}"
    return f"field {field!r} {_what_is_wrong(kind, given, ctx, error['msg'])}"


def _what_is_wrong(kind: str, given: Any, ctx: dict[str, Any], said: str) -> str:
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']:g}, got {given!r}"
    if kind == "greater_than":
        return f"must be more than {ctx['gt']:g}, got {given!r}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']:g}, got {given!r}"
    if kind == "int_type" and isinstance(given, float):
        return f"must be a whole number, got {given!r}"
    if kind in ("int_type", "float_type"):
        return f"must be a number, got {given!r}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "bool_type":
        return "must be true or false"
    if kind == "string_type":
        return "must be a string"
    if kind in ("tuple_type", "list_type"):
        return f"must be a list, got {given!r}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}, got {given!r}"
    return f"{said[0].lower()}{said[1:]}, got {given!r}"  # pydantic's own words
