"""The auth step alone, in-process: what verifying a JWT and looking a session up cost, and
what the token and key handling around them cost (size on the wire, PEM strings, PyJWT's
per-call key checks). Each sentence picks its words from the micro-benchmarks it reports."""

from __future__ import annotations

from bench.analysis.runs import Run, micro_figure, token_sizes


def micro_sentence(run: Run) -> str:
    verify = micro_figure(run, "jwt_verify_HS256")
    lookup = micro_figure(run, "session_lookup_unix_socket") or micro_figure(
        run, "session_lookup_tcp"
    )
    select_1 = micro_figure(run, "select_1_unix_socket") or micro_figure(run, "select_1_tcp")
    sha = micro_figure(run, "session_token_sha256")
    if verify is None or lookup is None:
        return 'This run has no micro-benchmarks (scenario micro = "off").'
    bigger = "slower" if lookup > verify else "faster"
    parts = [
        f"In-process, verifying an HS256 JWT took {verify:.0f} µs and the session lookup took "
        f"{lookup:.0f} µs ({lookup / verify:.1f}x, {bigger})."
    ]
    if select_1 is not None and select_1 < lookup:
        parts.append(
            f"Of the lookup's {lookup:.0f} µs, {select_1:.0f} µs is the bare round trip to "
            f"PostgreSQL (SELECT 1) and {lookup - select_1:.0f} µs the query itself: the trip is "
            "what costs."
        )
    elif select_1 is not None:
        parts.append(
            f"A bare round trip to PostgreSQL (SELECT 1) took {select_1:.0f} µs, no less than the "
            "whole lookup (the two were timed separately, and their difference is within the "
            "noise): the query itself costs next to nothing, the trip is what costs."
        )
    if sha is not None:
        parts.append(f"Hashing the opaque token with sha256 took {sha:.1f} µs.")
    return " ".join(parts)


def token_size_sentence(run: Run) -> str:
    sizes = token_sizes(run)
    if not sizes:
        return "This run recorded no token sizes."
    opaque = sizes["opaque"]
    others = ", ".join(f"{alg} {size} B" for alg, size in sizes.items() if alg != "opaque")
    largest = max((s for a, s in sizes.items() if a != "opaque"), default=opaque)
    return (
        f"An opaque session token is {opaque} bytes; the JWTs issued here are {others}. Every "
        f"request carries that difference: up to {largest - opaque} extra bytes, {largest / opaque:.0f}x "
        "the opaque token."
    )


def prepared_key_sentence(run: Run) -> str:
    """PyJWT re-checks an HMAC key on every call; what preparing it once saves, in-process."""
    plain_us = micro_figure(run, "jwt_verify_HS256")
    prepared_us = micro_figure(run, "jwt_verify_HS256_prepared_key")
    if plain_us is None or prepared_us is None:
        return "This run has no prepared-key measurement (micro-benchmarks from this version on)."
    change = prepared_us - plain_us
    if abs(change) < 0.05 * plain_us:
        effect = "no measurable change"
    elif change < 0:
        effect = f"{-change:.0f} µs less per call ({-change / plain_us:.0%})"
    else:
        effect = f"{change:.0f} µs more per call, so preparing the key did not pay off here"
    return (
        f"Verifying HS256 as PyJWT's documentation shows took {plain_us:.0f} µs; with the key "
        f"checked once at start-up (AUTHBENCH_JWT_PREPARED_KEY=1) it took {prepared_us:.0f} µs: "
        f"{effect}. PyJWT's HMAC prepare_key looks for PEM, SSH and DER keys and tries to parse "
        "the secret as JSON on every call; the comparisons in these notebooks keep the "
        "documented usage."
    )


def pem_sentence(run: Run) -> str:
    key = micro_figure(run, "jwt_sign_RS256")
    pem = micro_figure(run, "jwt_sign_RS256_pem_string")
    if key is None or pem is None:
        return "This run has no PEM-string measurements."
    return (
        f"Signing RS256 with a key object took {key:.0f} µs; passing the same key as a PEM string "
        f"took {pem:,.0f} µs ({pem / key:.0f}x), because PyJWT parses the PEM on every call."
    )
