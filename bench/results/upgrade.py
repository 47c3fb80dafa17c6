"""Runs recorded by older versions of authbench, brought to the current format: the one adapter.

It works on run.json as read (a dict), before the types check it (bench.results.records).

- Format 1 (written with `"format": 1` until 2026-11-30) recorded each server's settings as
  strings but not what they meant, nor what each paired group asks, nor who is who in it, nor
  the thresholds the run applied; the arrival process, the arms' start order, cache hits, busy
  cores and the runtimes did not exist yet. Derived here: each server's facts the way the
  servers read their settings at the time (an unknown value counted as the default) and the
  Python runtime; a group's question from the names format-1 scenarios gave their groups, its
  headline as its first pair, its roles; the thresholds of the time. What was not measured
  stays None (not recorded), never a guess.
- Format 2 (also written with `"format": 1`, from 2026-11-30: the reference runs until
  2026-12-02) has the facts and the roles; told from format 1 by its content, not by its
  number. It lacks the verdict rule's thresholds, recorded here with the values of its time
  (those of today).
- Format 3: the typed format (bench.results.records), read as it is.
- Format 4 added loads as fractions of capacity (capacities, load fractions, the load curve);
  a format-3 run has none of them, and reads as it is.
- Format 5 added external arms: a `[[servers]]` entry's `url`, `username`, `token_command`,
  `ca_file` and `insecure` (never its password), and None where a figure or a fact is out of
  view from outside (a server's CPU, its busy cores, its capacity's service time, and an
  external arm's store, revocability, algorithm, cache TTL and profile query). A format-4 run
  has no external arm, and reads as it is.
"""

from __future__ import annotations

from typing import Any

from bench.results.records import FORMAT_VERSION
from bench.results.run_settings import (
    CONFIDENCE,
    DEFAULT_MARGIN_FRACTION,
    MAX_LATE_SHARE,
    MIN_REPEATS,
    MIN_REQUESTS_PER_ARM,
)

# The verdict rule's thresholds of format 1 and 2 runs: the constants of the code of the time.
FORMAT_2_THRESHOLDS = {
    "max_late_share": MAX_LATE_SHARE,
    "min_repeats": MIN_REPEATS,
    "min_requests_per_arm": MIN_REQUESTS_PER_ARM,
    "confidence": CONFIDENCE,
}
FORMAT_1_THRESHOLDS = {"saturated_core_fraction": 0.9, "late_after_ms": 2.0}
FORMAT_1_ALGORITHM = "HS256"  # the JWT server's default algorithm in format-1 runs
FALSE_WORDS = ("", "0", "false", "no", "off")
# What the groups of format-1 scenarios asked, by the names those scenarios gave them.
FORMAT_1_QUESTIONS = {
    "main": "claim",
    "distance": "distance",
    "redis_distance": "distance",
    "stores": "stores",
    "profile": "profile",
    "variants": "variants",
    "algorithms": "algorithms",
}
FACTS = (
    "server",
    "path",
    "workers",
    "db_delay_ms",
    "store",
    "revocable",
    "algorithm",
    "cache_ttl_s",
    "profile_query",
)
# Figures format 1 did not record, per single-server cell and per arm: None, not recorded.
FORMAT_1_UNRECORDED = ("arrivals", "cache_hits", "cache_hit_share", "cpu_cores_busy")


class FormatError(ValueError):
    """A run.json of a format this version cannot read."""


def recorded_format(run: dict[str, Any]) -> int:
    """The format a run.json is in: its number, except that format 2 was written as 1 and is
    told apart by the facts and roles its scenario records."""
    number = run.get("format", 1)
    if not isinstance(number, int) or number < 1:
        raise FormatError(f"unknown format {number!r}")
    if number > FORMAT_VERSION:
        raise FormatError(
            f"written in format {number} by a newer authbench; this one reads up to "
            f"{FORMAT_VERSION}: update authbench"
        )
    if number >= 2:
        return number
    scenario = _dict(run.get("scenario"))
    servers = _dicts(scenario.get("servers"))
    groups = scenario.get("paired")
    groups = _dicts([groups] if isinstance(groups, dict) else groups)
    has_facts = all("revocable" in s for s in servers) and all("roles" in g for g in groups)
    return 2 if has_facts else 1


def upgrade(run: dict[str, Any]) -> dict[str, Any]:
    """`run` (a loaded run.json) in the current format, whatever its format. What is not of
    the expected shape is left alone, for the types to name."""
    found = recorded_format(run)
    if found == 1:
        _from_format_1(run)
    if found <= 2:
        settings = run.get("settings")
        if isinstance(settings, dict):
            for key, value in FORMAT_2_THRESHOLDS.items():
                settings.setdefault(key, value)
    run["format"] = FORMAT_VERSION
    return run


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _from_format_1(run: dict[str, Any]) -> None:
    scenario = _dict(run.get("scenario"))
    scenario.setdefault("arrivals", None)
    for spec in _dicts(scenario.get("servers")):
        if "revocable" not in spec:
            spec.update(_facts(spec))
        spec.setdefault("runtime", "python")
        spec.setdefault("command", None)
    if isinstance(scenario.get("paired"), dict):
        scenario["paired"] = [scenario["paired"]]
    servers = {s.get("label"): s for s in _dicts(scenario.get("servers"))}
    for group in _dicts(scenario.get("paired")):
        group.setdefault("name", "main")
        group.setdefault("question", FORMAT_1_QUESTIONS.get(group["name"], "other"))
        for key, value in (("headline", None), ("arrivals", None), ("tokens", 0)):
            group.setdefault(key, value)
        group.setdefault("popularity", 1.0)
        group.setdefault("margin_fraction", DEFAULT_MARGIN_FRACTION)
        if "roles" not in group and isinstance(group.get("pairs"), list):
            group["roles"] = _roles(group, servers)
    settings = run.get("settings")
    if isinstance(settings, dict):
        for key, value in FORMAT_1_THRESHOLDS.items():
            settings.setdefault(key, value)
    for cell in _dicts(run.get("cells")):
        cell.setdefault("server_cores_busy", None)
        arms = cell.get("arms")
        if isinstance(arms, dict):
            cell.setdefault("group", "main")
            cell.setdefault("arm_order", None)
            cell.setdefault("arrivals", None)
        for figures in _dicts(list(arms.values())) if isinstance(arms, dict) else [cell]:
            for key in FORMAT_1_UNRECORDED:
                figures.setdefault(key, None)


def _facts(spec: dict[str, Any]) -> dict[str, Any]:
    kind, settings = spec.get("server"), _dict(spec.get("settings"))

    def setting(name: str) -> str:
        return str(settings.get(name, "")).strip().lower()

    revocable = kind == "session" or (
        kind == "jwt_auth" and setting("AUTHBENCH_JWT_DENYLIST") not in FALSE_WORDS
    )
    if kind == "session":
        store = "redis" if setting("AUTHBENCH_SESSION_STORE") == "redis" else "postgres"
    else:
        store = "postgres" if revocable else None
    cache = setting("AUTHBENCH_SESSION_CACHE_TTL") if kind == "session" else ""
    query = "naive" if setting("AUTHBENCH_PROFILE_QUERY") == "naive" else "joined"
    try:
        cache_ttl_s = float(cache) if cache else 0.0
    except ValueError:
        cache_ttl_s = 0.0  # an unknown value: the server's default
    return {
        "profile_query": query if kind == "session" else None,
        "store": store,
        "revocable": revocable,
        "algorithm": settings.get("AUTHBENCH_JWT_ALG", FORMAT_1_ALGORITHM)
        if kind == "jwt_auth"
        else None,
        "cache_ttl_s": cache_ttl_s,
    }


def _differs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list]:
    found = {k: [a.get(k), b.get(k)] for k in FACTS if a.get(k) != b.get(k)}
    sa, sb = _dict(a.get("settings")), _dict(b.get("settings"))
    for key in sorted(set(sa) | set(sb)):
        if sa.get(key) != sb.get(key):
            found[f"settings.{key}"] = [sa.get(key), sb.get(key)]
    return found


def _roles(group: dict[str, Any], servers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    pairs = [list(p) for p in group["pairs"]]
    a_a = [f"{group['a_a']}_aa", group["a_a"]] if group.get("a_a") else None
    recorded = [
        {
            "a": a,
            "b": b,
            "kind": "compare",
            "differs": _differs(servers.get(a, {}), servers.get(b, {})),
        }
        for a, b in pairs
    ]
    if a_a:
        recorded.append({"a": a_a[0], "b": a_a[1], "kind": "a_a", "differs": {}})
    arms = group.get("arms") or [None]
    return {
        "headline": pairs[0] if pairs else None,
        "baseline": group.get("baseline") or arms[-1],
        "a_a": a_a,
        "pairs": recorded,
    }
