"""Revocation and caching: how long a logged-out token keeps working in each design, and what
a jti denylist costs and a session cache saves against their plain servers."""

from __future__ import annotations

from typing import Any

from bench.analysis.runs import Run, at_rate, busiest_closed, can_revoke, plain


def revocation_rows(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "server": r["label"],
            "hosts": r.get("hosts"),
            "logout_status": r["logout_status"],
            "accepted_after_logout": r["accepted_after_logout"],
            "last_accepted_ms": r["last_accepted_ms"],
            "still_accepted_at_end": r["still_accepted_at_end"],
            "probe_for_s": r["probe_for_s"],
            "token_valid_for_s": r.get("token_valid_for_s"),
        }
        for r in run.meta.get("revocation") or []
    ]


def revocation_sentence(run: Run) -> str:
    rows = revocation_rows(run)
    if not rows:
        return "This run has no revocation experiment (the full scenario has one)."
    at_once = [r["server"] for r in rows if r["accepted_after_logout"] == 0]
    parts = []
    if at_once:
        parts.append(
            f"After logout, {', '.join(at_once)} refused the token from the very next request"
        )
    for r in rows:
        if r["accepted_after_logout"] and not r["still_accepted_at_end"]:
            parts.append(
                f"{r['server']} kept accepting it for {r['last_accepted_ms']:,.0f} ms on a host that had not "
                "handled the logout"
            )
        elif r["still_accepted_at_end"]:
            valid = (
                f", and it stays valid for another {r['token_valid_for_s']:,.0f} s (until exp)"
                if r["token_valid_for_s"]
                else ""
            )
            parts.append(
                f"{r['server']} still accepted it when probing stopped after {r['probe_for_s']:g} s{valid}"
            )
    return "; ".join(parts) + "."


def variant_pairs(run: Run) -> list[tuple[str, str]]:
    """(plain server, variant) for every revocation or caching variant of the scenario, found
    by kind and settings: a JWT server with the jti denylist on, a session server with a cache."""
    pairs = []
    for spec in run.meta["scenario"].get("servers", []):
        kind = spec.get("server")
        varies = (kind == "jwt_auth" and can_revoke(spec)) or spec.get("cache_ttl_s", 0) > 0
        base = plain(run, kind)
        if varies and base is not None:
            pairs.append((base, spec["label"]))
    return pairs


def variant_rows(run: Run) -> list[dict[str, Any]]:
    """What a variant costs or saves against its base: CPU per request and median latency."""
    fixed, closed = at_rate(run), busiest_closed(run)
    rows = []
    for base, variant in variant_pairs(run):
        if variant not in fixed and variant not in closed:
            continue
        for label in (base, variant):
            rows.append(
                {
                    "server": label,
                    "cpu_service_us": closed.get(label, {}).get("cpu_service_us"),
                    "cpu_postgres_us": closed.get(label, {}).get("cpu_postgres_us"),
                    "rate": fixed.get(label, {}).get("rate"),
                    "p50_us": fixed.get(label, {}).get("p50_us"),
                    "p99_us": fixed.get(label, {}).get("p99_us"),
                }
            )
    return rows


def variant_sentence(run: Run) -> str:
    """What each variant did against its base; the verbs follow the signs of the differences."""
    rows = {r["server"]: r for r in variant_rows(run)}
    parts = []
    for base, variant in variant_pairs(run):
        b, v = rows.get(base), rows.get(variant)
        if not b or not v or b["cpu_service_us"] is None or v["cpu_service_us"] is None:
            continue
        cpu = v["cpu_service_us"] - b["cpu_service_us"]
        text = (
            f"{variant} used {abs(cpu):,.0f} µs {'more' if cpu > 0 else 'less'} CPU per request "
            f"than {base} ({v['cpu_service_us']:,.0f} against {b['cpu_service_us']:,.0f} µs, server "
            "plus database)"
        )
        if v["p50_us"] and b["p50_us"]:
            lat = v["p50_us"] - b["p50_us"]
            text += (
                f", and its median response was {abs(lat):,.0f} µs "
                f"{'slower' if lat > 0 else 'faster'} ({v['p50_us']:,.0f} against {b['p50_us']:,.0f} µs)"
            )
        parts.append(text)
    if not parts:
        return "This run has no denylist or cache variants (the full scenario has them)."
    return "; ".join(parts) + "."
