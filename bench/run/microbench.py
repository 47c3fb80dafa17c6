"""Micro-benchmarks: the auth step alone, in-process, no HTTP. They explain end-to-end figures.

Each item is timed in batches sized to take a set time; every batch gives one per-call figure,
and we report the median over batches with min, p25 and p75 as the spread. The JWT items call
the JWT server's own `verify` (the exact auth step under load); the PEM-string items show the
pitfall of handing PyJWT a key as text, which it re-parses on every call. The Node.js twins'
auth step is timed the same way by servers/node/micro.js, run here (`node_micro`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from bench.results.experiment_records import MicroRecord, RuntimeMicroRecord, Timing
from bench.system.server_launch import NODE_DIR, RuntimeUnavailable, node_binary, npm_packages
from servers.common import Principal
from servers.jwt_auth import ALGORITHMS, DECODE_OPTIONS, JwtAuth, JwtSettings
from servers.queries import sql
from servers.session import TOKEN_SHAPE

LEVELS = {"quick": (5, 0.02), "full": (11, 0.1)}  # batches, seconds per batch


def _summarise(name: str, group: str, per_call_us: list[float], calls: int, note: str) -> Timing:
    quartiles = statistics.quantiles(per_call_us, n=4) if len(per_call_us) > 1 else per_call_us * 3
    return Timing(
        name=name,
        group=group,
        us_median=round(statistics.median(per_call_us), 2),
        us_min=round(min(per_call_us), 2),
        us_p25=round(quartiles[0], 2),
        us_p75=round(quartiles[2], 2),
        batches=len(per_call_us),
        calls_per_batch=calls,
        note=note,
    )


async def _batches(batch: Callable[[int], Awaitable[float]], level: str) -> tuple[list[float], int]:
    """Calibrate the calls per batch to about the level's batch time, then time the batches:
    (µs per call of each batch, calls per batch). `batch(n)` makes n calls, returns seconds."""
    batches, batch_s = LEVELS[level]
    calls = 1
    while (elapsed := await batch(calls)) < batch_s / 4 and calls < 1 << 20:
        calls *= 4
    calls = max(1, int(calls * batch_s / max(elapsed, 1e-9)))
    return [await batch(calls) / calls * 1e6 for _ in range(batches)], calls


def time_sync(name: str, group: str, fn: Callable[[], Any], level: str, note: str = "") -> Timing:
    async def batch(calls: int) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        return time.perf_counter() - started

    figures, calls = asyncio.run(_batches(batch, level))
    return _summarise(name, group, figures, calls, note)


async def time_async(name: str, group: str, fn, level: str, note: str = "") -> Timing:
    async def batch(calls: int) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await fn()
        return time.perf_counter() - started

    figures, calls = await _batches(batch, level)
    return _summarise(name, group, figures, calls, note)


def jwt_auth_for(algorithm: str, **settings: str) -> JwtAuth:
    env = {"AUTHBENCH_JWT_ALG": algorithm, "DATABASE_URL": "postgresql://unused/", **settings}
    return JwtAuth(JwtSettings.from_env(env))


def public_pem(auth: JwtAuth) -> str:
    return auth.settings.verify_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_pem(auth: JwtAuth) -> str:
    return auth.settings.signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def jwt_timings(level: str) -> tuple[list[Timing], dict[str, int]]:
    """Per algorithm: verify and sign as the server does; for HS256 the prepared key and parsing
    alone; for the others the PEM-string pitfall. Also every token's size in bytes."""
    timings, sizes = [], {"opaque": len(secrets.token_urlsafe(32))}
    for algorithm in ALGORITHMS:
        auth = jwt_auth_for(algorithm)
        token = auth.issue(PRINCIPAL)
        sizes[algorithm] = len(token)
        timings.append(
            time_sync(
                f"jwt_verify_{algorithm}",
                "jwt verify",
                lambda a=auth, t=token: a.verify(t),
                level,
                "the JWT server's auth step, key object loaded once",
            )
        )
        timings.append(
            time_sync(
                f"jwt_sign_{algorithm}",
                "jwt sign",
                lambda a=auth: a.issue(PRINCIPAL),
                level,
                "login: signing a new token",
            )
        )
        extras = hs256_extras if algorithm == "HS256" else pem_pitfall
        timings += extras(auth, token, level)
    return timings, sizes


PRINCIPAL = Principal(1234, "user01234")


def hs256_extras(auth: JwtAuth, token: str, level: str) -> list[Timing]:
    """HS256 with PyJWT's per-call key checks done once, and parsing without the signature."""
    prepared = jwt_auth_for("HS256", AUTHBENCH_JWT_PREPARED_KEY="1")
    prepared_token = prepared.issue(PRINCIPAL)
    return [
        time_sync(
            "jwt_verify_HS256_prepared_key",
            "jwt verify",
            lambda a=prepared, t=prepared_token: a.verify(t),
            level,
            "AUTHBENCH_JWT_PREPARED_KEY=1: PyJWT's per-call HMAC key checks done once",
        ),
        time_sync(
            "jwt_decode_HS256_no_signature_check",
            "jwt verify",
            lambda t=token: jwt.decode(t, options={"verify_signature": False}),
            level,
            "parsing alone: most of HS256's cost is Python, not crypto",
        ),
    ]


def pem_pitfall(auth: JwtAuth, token: str, level: str) -> list[Timing]:
    """An asymmetric key handed to PyJWT as PEM text, which it re-parses on every call."""
    s, algorithm = auth.settings, auth.settings.algorithm
    pem, secret_pem = public_pem(auth), private_pem(auth)
    claims = {"sub": "1", "iss": s.issuer, "aud": s.audience, "exp": int(time.time()) + 60}

    def verify_pem() -> Any:
        return jwt.decode(
            token,
            pem,
            algorithms=[algorithm],
            audience=s.audience,
            issuer=s.issuer,
            options=DECODE_OPTIONS,
        )

    return [
        time_sync(
            f"jwt_verify_{algorithm}_pem_string",
            "pem pitfall",
            verify_pem,
            level,
            "the key handed over as PEM text: re-parsed on every call",
        ),
        time_sync(
            f"jwt_sign_{algorithm}_pem_string",
            "pem pitfall",
            lambda: jwt.encode(claims, secret_pem, algorithm=algorithm),
            level,
            "signing with the private key as PEM text",
        ),
    ]


def session_timings(level: str) -> list[Timing]:
    token = secrets.token_urlsafe(32)

    def shape_and_hash() -> bytes:
        if not TOKEN_SHAPE.fullmatch(token):
            raise AssertionError
        return hashlib.sha256(token.encode()).digest()

    return [
        time_sync(
            "session_token_sha256",
            "session in-process",
            shape_and_hash,
            level,
            "the session server's work before its query: shape check and sha256",
        ),
    ]


async def database_timings(dsns: dict[str, str], level: str) -> list[Timing]:
    """The session lookup (prepared, by primary key) and SELECT 1, one connection at a time."""
    import asyncpg

    timings = []
    token_hash = hashlib.sha256(secrets.token_bytes(32)).digest()
    for transport, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "INSERT INTO authbench.sessions (token_hash, user_id, expires_at) "
                "VALUES ($1, 1, now() + interval '1 hour') ON CONFLICT DO NOTHING",
                token_hash,
            )
            lookup = await conn.prepare(sql("lookup"))
            select_1 = await conn.prepare("SELECT 1")
            timings.append(
                await time_async(
                    f"session_lookup_{transport}",
                    "database round trip",
                    lambda s=lookup: s.fetchrow(token_hash, 60.0, 1800.0),
                    level,
                    "the session server's query: asyncpg prepared fetchrow",
                )
            )
            timings.append(
                await time_async(
                    f"select_1_{transport}",
                    "database round trip",
                    select_1.fetchval,
                    level,
                    "the bare round trip",
                )
            )
        finally:
            await conn.execute("DELETE FROM authbench.sessions WHERE token_hash = $1", token_hash)
            await conn.close()
    return timings


async def redis_timings(urls: dict[str, str], level: str) -> list[Timing]:
    """The Redis store's session lookup (the server's own code: GET, parse, idle check) and a
    bare PING, one call at a time through the server's client (redis-py asyncio, hiredis)."""
    from servers.session import RedisSessions, SessionSettings

    timings = []
    token_hash = hashlib.sha256(secrets.token_bytes(32)).digest()
    for transport, url in urls.items():
        env = {
            "DATABASE_URL": "postgresql://unused/",
            "AUTHBENCH_SESSION_STORE": "redis",
            "REDIS_URL": url,
        }
        sessions = RedisSessions(SessionSettings.from_env(env), "authbench-micro")
        await sessions.open()
        try:
            await sessions.create(token_hash, Principal(1, "user00001"))
            if await sessions.lookup(token_hash) is None:
                raise AssertionError("the Redis store lost a session it had just written")
            timings.append(
                await time_async(
                    f"redis_session_lookup_{transport}",
                    "database round trip",
                    lambda s=sessions: s.lookup(token_hash),
                    level,
                    "the session server's Redis lookup: redis-py asyncio GET, hiredis",
                )
            )
            timings.append(
                await time_async(
                    f"redis_ping_{transport}",
                    "database round trip",
                    sessions.client.ping,
                    level,
                    "the bare round trip to Redis",
                )
            )
        finally:
            await sessions.delete(token_hash)
            await sessions.close()
    return timings


def transports(pg, kv=None) -> tuple[dict[str, str], dict[str, str] | None]:
    """What to time the lookups over: unix socket and loopback TCP for servers we started, the
    given URL (as "tcp") for one named by DATABASE_URL / REDIS_URL."""
    dsns = {"unix_socket": pg.url, "tcp": pg.tcp_url} if pg.owned else {"tcp": pg.url}
    if kv is None:
        return dsns, None
    return dsns, ({"unix_socket": kv.url, "tcp": kv.tcp_url} if kv.owned else {"tcp": kv.url})


def run_micro(
    dsns: dict[str, str], level: str = "full", redis_urls: dict[str, str] | None = None
) -> MicroRecord:
    """Every micro-benchmark; `dsns` maps a transport name (unix_socket, tcp) to a DSN, and
    `redis_urls` the same for the Redis-compatible store (None: not measured)."""
    timings, sizes = jwt_timings(level)
    timings += session_timings(level)
    if dsns:
        timings += asyncio.run(database_timings(dsns, level))
    if redis_urls:
        timings += asyncio.run(redis_timings(redis_urls, level))
    return MicroRecord(
        level=level,
        timings=timings,
        token_bytes=sizes,
        authorization_header_bytes={
            kind: len("Authorization: Bearer ") + size for kind, size in sizes.items()
        },
    )


def node_micro(database_url: str, level: str, out=print) -> RuntimeMicroRecord:
    """The Node twins' auth step alone, in-process (servers/node/micro.js), in another process:
    its JSON timings, checked as they come in."""
    npm_packages(out)
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url  # set for the Node twins, never read from here
    done = subprocess.run(
        [node_binary(out), str(NODE_DIR / "micro.js"), level],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeUnavailable(
            f"the Node micro-benchmarks failed: {said[-1] if said else 'no output'}"
        )
    return RuntimeMicroRecord.model_validate(json.loads(done.stdout))


def format_micro(micro: MicroRecord | RuntimeMicroRecord) -> str:
    lines = [f"{'micro-benchmark':40} {'median µs':>10} {'p25':>9} {'p75':>9}"]
    for t in micro.timings:
        lines.append(f"{t.name:40} {t.us_median:>10.1f} {t.us_p25:>9.1f} {t.us_p75:>9.1f}")
    if isinstance(micro, MicroRecord):
        sizes = ", ".join(f"{k} {v} B" for k, v in micro.token_bytes.items())
        lines.append(f"token size: {sizes}")
    return "\n".join(lines)
