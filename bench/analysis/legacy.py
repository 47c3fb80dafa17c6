"""Runs recorded by older versions of authbench, read as the current ones: the one adapter.

Format 1 (until 2026-11) recorded each server's settings as strings but not what they meant,
and not the thresholds the run applied. Here, once, they are derived the way the servers read
their settings at the time (an unknown value counted as the default), so that nothing else on
the read side interprets a setting string or assumes a constant.
"""

from __future__ import annotations

from typing import Any

FORMAT_1_THRESHOLDS = {"saturated_core_fraction": 0.9, "late_after_ms": 2.0}
FORMAT_1_ALGORITHM = "HS256"  # the JWT server's default algorithm in format-1 runs
FALSE_WORDS = ("", "0", "false", "no", "off")


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
    return {
        "store": store,
        "revocable": revocable,
        "algorithm": settings.get("AUTHBENCH_JWT_ALG", FORMAT_1_ALGORITHM)
        if kind == "jwt_auth" else None,
        "cache_ttl_s": float(cache) if cache else 0.0,
    }  # fmt: skip


def upgrade(meta: dict[str, Any]) -> dict[str, Any]:
    """`meta` (a loaded run.json) with everything the read side needs, whatever its format."""
    scenario = meta.get("scenario") or {}
    for spec in scenario.get("servers") or []:
        if "revocable" not in spec:
            spec.update(_facts(spec))
    settings = meta.setdefault("settings", {})
    for key, value in FORMAT_1_THRESHOLDS.items():
        settings.setdefault(key, value)
    return meta
