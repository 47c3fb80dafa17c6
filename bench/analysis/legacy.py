"""Runs recorded by older versions of authbench, read as the current ones: the one adapter.

Format 1 (until 2026-11-30) recorded each server's settings as strings but not what they meant,
nor what each paired group asks, nor who is who in it, nor the thresholds the run applied.
Here, once, they are derived: settings the way the servers read them at the time (an unknown
value counted as the default), a group's question from the names format 1 gave its groups,
its headline as its first pair. Nothing else on the read side interprets a setting string, a
group name or a label, or assumes a constant.
"""

from __future__ import annotations

from typing import Any

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


def _facts(spec: dict[str, Any]) -> dict[str, Any]:
    kind, settings = spec.get("server"), spec.get("settings") or {}

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
    return {
        "profile_query": query if kind == "session" else None,
        "store": store,
        "revocable": revocable,
        "algorithm": settings.get("AUTHBENCH_JWT_ALG", FORMAT_1_ALGORITHM)
        if kind == "jwt_auth"
        else None,
        "cache_ttl_s": float(cache) if cache else 0.0,
    }


def _differs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list]:
    found = {k: [a.get(k), b.get(k)] for k in FACTS if a.get(k) != b.get(k)}
    sa, sb = a.get("settings") or {}, b.get("settings") or {}
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
    return {
        "headline": pairs[0],
        "baseline": group.get("baseline") or group["arms"][-1],
        "a_a": a_a,
        "pairs": recorded,
    }


def upgrade(meta: dict[str, Any]) -> dict[str, Any]:
    """`meta` (a loaded run.json) with everything the read side needs, whatever its format."""
    scenario = meta.get("scenario") or {}
    for spec in scenario.get("servers") or []:
        if "revocable" not in spec:
            spec.update(_facts(spec))
    if isinstance(scenario.get("paired"), dict):
        scenario["paired"] = [scenario["paired"]]
    servers = {s["label"]: s for s in scenario.get("servers") or []}
    for group in scenario.get("paired") or []:
        group.setdefault("name", "main")
        group.setdefault("question", FORMAT_1_QUESTIONS.get(group["name"], "other"))
        if "roles" not in group:
            group["roles"] = _roles(group, servers)
    settings = meta.setdefault("settings", {})
    for key, value in FORMAT_1_THRESHOLDS.items():
        settings.setdefault(key, value)
    return meta
