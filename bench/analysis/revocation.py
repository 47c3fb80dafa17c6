"""Revocation and caching: how long a logged-out token keeps working in each design, and what
a jti denylist costs and a session cache saves against their plain servers."""

from __future__ import annotations

from typing import Any

from bench.analysis import verdict_lines, verdicts
from bench.analysis.model import Server
from bench.analysis.runs import Run, arm_figures


def revocation_rows(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "server": r.label,
            "hosts": r.hosts,
            "logout_status": r.logout_status,
            "accepted_after_logout": r.accepted_after_logout,
            "last_accepted_ms": r.last_accepted_ms,
            "still_accepted_at_end": r.still_accepted_at_end,
            "probe_for_s": r.probe_for_s,
            "token_valid_for_s": r.token_valid_for_s,
        }
        for r in run.record.revocation
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


def variant_words(server: Server) -> str:
    """What makes a variant, in words, from its recorded facts."""
    if server.kind == "jwt_auth" and server.revocable:
        return "a jti denylist"
    if server.cache_ttl_s:
        return f"a {server.cache_ttl_s:g} s in-process session cache"
    if server.store == "redis":
        return "sessions in Redis"
    return ", ".join(f"{k}={v}" for k, v in server.settings.items()) or "its defaults"


def variant_pairs(run: Run) -> list[tuple[str, str]]:
    """(base, variant) for every pair of the groups answering "variants" whose arms are of one
    kind: a JWT server with the jti denylist against plain JWT, a session cache against plain
    sessions; found by what the run recorded, never by label."""
    found = []
    for group in run.model.groups_for("variants"):
        for pair in group.pairs:
            if not pair.is_a_a and "server" not in pair.differs and (pair.b, pair.a) not in found:
                found.append((pair.b, pair.a))
    return found


def variant_rows(run: Run) -> list[dict[str, Any]]:
    """Each variant against its base, paired (the same cells, the one rule): the difference of
    medians with its interval, and CPU per request of both arms in those same cells."""
    wanted = set(variant_pairs(run))
    rows = []
    for r in verdicts.paired_verdicts(run, question="variants"):
        if (r.b, r.a) not in wanted:
            continue
        arms = arm_figures(run, r.group, r.rate)
        a, b = arms.get(r.a, {}), arms.get(r.b, {})
        rows.append(
            {
                "variant": r.a,
                "base": r.b,
                "what": variant_words(run.model.server(r.a)),
                "rate": r.rate,
                "delta_p50_us": r.delta_us,
                "ci_low_us": r.ci_low_us,
                "ci_high_us": r.ci_high_us,
                "margin_us": r.margin_us,
                "verdict": r.verdict,
                "variant_cpu_us": a.get("cpu_service_us"),
                "base_cpu_us": b.get("cpu_service_us"),
                "variant_store_us": _store_cpu(a),
                "base_store_us": _store_cpu(b),
                "hit_rate": a.get("cache_hit_share") if run.model.server(r.a).cache_ttl_s else None,
                "tokens": _population(run, r.group),
            }
        )
    return rows


def _population(run: Run, group: str) -> int | None:
    """How many distinct users' tokens the group's requests carried (None: one per Locust user)."""
    found = run.model.named(group)
    return (found.tokens or None) if found else None


def _store_cpu(figures: dict[str, Any]) -> float | None:
    if figures.get("cpu_server_us") is None:
        return None
    return round((figures.get("cpu_postgres_us") or 0) + (figures.get("cpu_redis_us") or 0), 2)


def variant_sentence(run: Run) -> str:
    """What each variant did against its base, paired; words by verdict, CPU from the same cells."""
    parts = []
    for r in variant_rows(run):
        words = verdict_lines.verdict_words(
            r["verdict"], "slower by more than the margin", "faster by more than the margin"
        )
        text = (
            f"{r['variant']} ({r['what']}) against {r['base']} {verdict_lines.where(r['rate'])}: "
            f"{verdict_lines.signed(r['delta_p50_us'])} µs on the median (interval "
            f"{verdict_lines.signed(r['ci_low_us'])} to {verdict_lines.signed(r['ci_high_us'])}, margin "
            f"±{r['margin_us']:,.0f}): {words}"
        )
        if r["variant_cpu_us"] is not None and r["base_cpu_us"] is not None:
            text += (
                f"; in the same cells it used {r['variant_cpu_us']:,.0f} µs of CPU per "
                f"request against {r['base_cpu_us']:,.0f} (server plus store)"
            )
        if r["hit_rate"] is not None:
            population = (
                f"{r['tokens']:,} users' tokens, a few far more active than the rest"
                if r["tokens"]
                else "one token per simulated user"
            )
            text += f", answering {r['hit_rate']:.0%} of requests from its cache ({population})"
        parts.append(text)
    if not parts:
        return "This run has no paired denylist or cache variants (the full scenario has them)."
    return "; ".join(parts) + "."
