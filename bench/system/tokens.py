"""A token population: thousands of users, some far more active than others.

By default every Locust user logs in once per arm and sends its one token, so a cell sees as
many distinct tokens as it has users (16 or 32): a session cache then hits nearly always, which
no real service sees. A paired group with `tokens = N` instead sends each request with the token
of one of N seeded users, drawn with Zipf popularity (user k is asked 1/k^s as often as user 1;
`popularity = s`, 1.0 by default), so a cache's hit rate is what such a population gives, and is
recorded (the servers say each hit in Server-Timing).

Logging N users in through every arm would take minutes, so the harness mints the tokens
directly, exactly as the servers would: session rows (servers.store.insert_sessions) in
PostgreSQL or keys in Redis, shared by every session arm of that store; JWTs signed with the
arm's own key (the harness hands every JWT arm its key in the environment, as it does for
several workers).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from servers.common import Principal
from servers.jwt_auth import JwtAuth, JwtSettings, share_jwt_keys
from servers.store import hash_token, insert_sessions, seed_username

LIFETIME_S = 3600


def principals(count: int) -> list[Principal]:
    return [Principal(i, seed_username(i)) for i in range(1, count + 1)]


async def _postgres_sessions(url: str, count: int) -> list[str]:
    import asyncpg

    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await insert_sessions(conn, tokens, range(1, count + 1), LIFETIME_S)
    finally:
        await conn.close()
    return tokens


async def _redis_sessions(url: str, count: int) -> list[str]:
    from servers.session import RedisSessions, SessionSettings

    env = {
        "DATABASE_URL": "postgresql://unused/",
        "AUTHBENCH_SESSION_STORE": "redis",
        "REDIS_URL": url,
    }
    store = RedisSessions(SessionSettings.from_env(env), "authbench-tokens")
    await store.open()
    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    try:
        await asyncio.gather(
            *(
                store.create(hash_token(t), p)
                for t, p in zip(tokens, principals(count), strict=True)
            )
        )
    finally:
        await store.close()
    return tokens


class Population:
    """The tokens of one run's populations, minted once per store and per JWT key."""

    def __init__(self, count: int):
        self.count = count
        self.sessions: dict[str, list[str]] = {}

    def prepare_env(self, kind: str, env: dict[str, str]) -> None:
        """Before a JWT arm starts: give it a key the harness knows, to sign its tokens with."""
        if kind == "jwt_auth":
            share_jwt_keys(env)

    def tokens(
        self, kind: str, store: str | None, env: dict[str, str], store_url: str
    ) -> list[str]:
        """The population's tokens for one arm; `store_url` reaches its session store directly
        (not through a delay proxy)."""
        if kind == "session":
            if store not in self.sessions:
                mint = _redis_sessions if store == "redis" else _postgres_sessions
                self.sessions[store] = asyncio.run(mint(store_url, self.count))
            return self.sessions[store]
        if kind == "jwt_auth":
            auth = JwtAuth(JwtSettings.from_env(env))
            return [auth.issue(p) for p in principals(self.count)]
        return ["control"] * self.count

    def describe(self, popularity: float) -> dict[str, Any]:
        return {"tokens": self.count, "popularity": popularity, "distribution": "zipf"}
