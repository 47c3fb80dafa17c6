"""`python -m bench conform URL --kind session|jwt`: the contract's security catalogue, against
any running server (docs/server-contract.md).

The URL gives the scheme, host, port and a path prefix (`https://api.example.com/auth` puts the
contract's routes under `/auth`); https is checked against the system's trust store, the CAs of
`--ca-file`, or not at all with `--insecure` (which every line of the output then says). Every
case is one or two real HTTP requests and what must come back: RFC 6750 answers to bad input,
refusals of forged, tampered, expired and otherwise wrong tokens, the routes' shapes,
Server-Timing, what logout does, and answers beyond an HTTP stack's own limits
(conform_limits.py). Cases that must sign a token with the server's key (a wrong claim on a
valid signature) need `--secret` (HS256); without it they are skipped, and said so. The test
suite runs the same catalogue against every twin of this project.

A server that cannot be reached, a refused certificate, or answers the catalogue cannot work
with (no /healthz, no login) end the check with one line (`ConformError`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from bench.run import conform_cases, conform_limits  # noqa: F401  (register the catalogue)
from bench.run.conform_kit import (
    CATALOGUE,
    KINDS,
    Case,
    ConformError,
    Result,
    Skipped,
    Target,
    challenge_error,
)
from bench.system.http_client import HttpFailure, send

__all__ = ["KINDS", "Case", "ConformError", "Result", "Target", "cases", "check", "line"]

INSECURE = "  [insecure: the certificate was not checked]"


def cases(kind: str) -> list[Case]:
    return [c for c in CATALOGUE if kind in c.kinds]


def check(target: Target) -> list[Result]:
    """Every case of the catalogue for the target's kind, in order."""
    reachable(target)
    return list(results(target))


def reachable(target: Target) -> None:
    """The server answers GET /healthz with 200; else one line (`ConformError`) saying why."""
    try:
        health = send(target.endpoint, "GET", "/healthz")
    except HttpFailure as exc:
        raise ConformError(str(exc)) from None
    if health.status != 200:
        raise ConformError(
            f"{target.endpoint.url} does not answer GET /healthz with 200 (got {health.status})"
        )


def results(target: Target) -> Iterator[Result]:
    """The cases' results one by one."""
    for case in cases(target.kind):
        if case.needs_secret and target.secret is None:
            yield Result(case.name, "skip", "", "needs --secret to sign tokens")
            continue
        yield run_case(case, target)


def run_case(case: Case, target: Target) -> Result:
    try:
        sent, reply, passes, expected = case.run(target)
    except Skipped as why:
        return Result(case.name, "skip", "", str(why))
    except ConformError as exc:
        raise ConformError(f"{case.name}: {exc}") from None
    got = f"{reply.status}" if reply.status else f"no answer ({reply.failure or 'none'})"
    if reply.status and (error := challenge_error(reply)) not in ("none", ""):
        got += f" {error}"
    try:
        outcome = "pass" if passes(reply) else "fail"
    except (ValueError, KeyError, TypeError, AttributeError):  # not the contract's JSON
        outcome, got = "fail", f"{got}, a body that is not the contract's: {reply.body[:60]!r}"
    return Result(
        case.name, outcome, sent, got if outcome == "pass" else f"{got}, expected {expected}"
    )


def line(result: Result) -> str:
    mark = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[result.outcome]
    detail = f"sent {result.sent}: got {result.got}" if result.sent else result.got
    return f"{mark}  {result.case}  ({detail})"


def trust(target: Target) -> str:
    endpoint = target.endpoint
    if not endpoint.tls:
        return "plain HTTP"
    if endpoint.insecure:
        return "TLS, certificate NOT checked (--insecure)"
    return f"TLS, certificate checked against {endpoint.ca_file or 'the system trust store'}"


def command(args, out: Callable[[str], None] = print) -> int:
    """`bench conform`: a line per case as it runs, then the counts; 1 if a case failed."""
    mark = INSECURE if args.insecure else ""
    counts: Counter[str] = Counter()
    try:
        target = Target(
            args.url,
            args.kind,
            args.secret.encode() if args.secret else None,
            args.issuer,
            args.audience,
            args.username,
            args.password,
            args.revokes,
            args.ca_file,
            args.insecure,
        )
        reachable(target)
        out(f"{target.endpoint.url}: the {target.kind} catalogue, {trust(target)}{mark}")
        for result in results(target):
            counts[result.outcome] += 1
            out(line(result) + mark)
    except (ConformError, HttpFailure) as exc:
        raise ConformError(f"{exc}{mark}") from None
    out(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped{mark}")
    return 1 if counts["fail"] else 0
