"""`python -m bench conform URL --kind session|jwt`: the contract's security catalogue, against
any running server (docs/server-contract.md).

Every case is one or two real HTTP requests and what must come back: RFC 6750 answers to bad
input, refusals of forged, tampered, expired and otherwise wrong tokens, the routes' shapes,
Server-Timing, and what logout does. Cases that must sign a token with the server's key (a
wrong claim on a valid signature) need `--secret` (HS256); without it they are skipped, and
said so. The test suite runs the same catalogue against every twin of this project.
"""

from __future__ import annotations

from bench.run import conform_cases, conform_limits  # noqa: F401  (register the catalogue)
from bench.run.conform_kit import (
    CATALOGUE,
    KINDS,
    Case,
    ConformError,
    Result,
    Target,
    challenge_error,
)
from bench.system.oneshot import request

__all__ = ["KINDS", "Case", "ConformError", "Result", "Target", "cases", "check", "line"]


def cases(kind: str) -> list[Case]:
    return [c for c in CATALOGUE if kind in c.kinds]


def check(target: Target) -> list[Result]:
    """Every case of the catalogue for the target's kind, in order."""
    health = request(target.port, "GET", "/healthz")
    if health.status != 200:
        raise ConformError(
            f"{target.url} does not answer GET /healthz with 200 (got {health.status or 'nothing'})"
        )
    results = []
    for case in cases(target.kind):
        if case.needs_secret and target.secret is None:
            results.append(Result(case.name, "skip", "", "needs --secret to sign tokens"))
            continue
        sent, reply, passes, expected = case.run(target)
        got = f"{reply.status or 'no answer'}"
        if reply.status and (error := challenge_error(reply)) not in ("none", ""):
            got += f" {error}"
        outcome = "pass" if passes(reply) else "fail"
        results.append(
            Result(
                case.name,
                outcome,
                sent,
                got if outcome == "pass" else f"{got}, expected {expected}",
            )
        )
    return results


def line(result: Result) -> str:
    mark = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[result.outcome]
    detail = f"sent {result.sent}: got {result.got}" if result.sent else result.got
    return f"{mark}  {result.case}  ({detail})"
