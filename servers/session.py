"""The session server: an opaque token looked up in PostgreSQL on every request.

The token is `secrets.token_urlsafe(32)`; the database stores sha256(token) only. GET /me does
one prepared, indexed lookup through the asyncpg pool (asyncpg prepares and caches statements
per connection), checking absolute and idle expiry in the same statement. Logout deletes the
row, so a logged-out token is refused on the very next request.

Settings (environment): DATABASE_URL, AUTHBENCH_TOKEN_TTL (absolute lifetime, s, 3600),
AUTHBENCH_SESSION_IDLE (idle timeout, s, 1800), AUTHBENCH_SESSION_CACHE_TTL (s, 0 = no cache),
AUTHBENCH_SESSION_CACHE_SIZE (entries, 10000), AUTHBENCH_PROFILE_QUERY (joined: GET /profile
folds the lookup into its data query; naive: two queries), plus the pool settings in
servers.common.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from servers.common import (
    RECENT_ORDERS,
    App,
    Database,
    DatabaseSettings,
    Principal,
    Problem,
    bearer_token,
    env_choice,
    env_float,
    env_int,
    invalid_token,
    profile_json,
    token_response,
)
from servers.store import hash_token

# token_urlsafe(32): 32 random bytes, base64url without padding: exactly 43 characters.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")

LOOKUP = """
SELECT s.user_id, u.username, s.last_seen < now() - make_interval(secs => $2) AS stale
FROM authbench.sessions s JOIN authbench.users u ON u.id = s.user_id
WHERE s.token_hash = $1
  AND s.expires_at > now()
  AND s.last_seen > now() - make_interval(secs => $3)
"""
# GET /profile in one round trip: the session lookup joined with the data the endpoint reads.
PROFILE_BY_TOKEN = f"""
SELECT u.id AS user_id, u.username, s.last_seen < now() - make_interval(secs => $2) AS stale,
       {RECENT_ORDERS} AS orders
FROM authbench.sessions s JOIN authbench.users u ON u.id = s.user_id
WHERE s.token_hash = $1
  AND s.expires_at > now()
  AND s.last_seen > now() - make_interval(secs => $3)
"""
TOUCH = "UPDATE authbench.sessions SET last_seen = now() WHERE token_hash = $1"
CREATE = """
INSERT INTO authbench.sessions (token_hash, user_id, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
"""
DELETE = "DELETE FROM authbench.sessions WHERE token_hash = $1"


@dataclass(frozen=True)
class SessionSettings:
    database: DatabaseSettings
    ttl_s: int = 3600
    idle_s: float = 1800.0
    cache_ttl_s: float = 0.0
    cache_size: int = 10_000
    # GET /profile: "joined" (the lookup folded into the data query, one round trip) or "naive"
    # (authenticate, then query the data: two round trips).
    profile_query: str = "joined"

    @property
    def touch_after_s(self) -> float:
        """Refresh last_seen at most this often: idle expiry without a write per request."""
        return min(60.0, self.idle_s / 4)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SessionSettings:
        return cls(
            database=DatabaseSettings.from_env(environ),
            ttl_s=env_int(environ, "AUTHBENCH_TOKEN_TTL", 3600, minimum=1),
            idle_s=env_float(environ, "AUTHBENCH_SESSION_IDLE", 1800.0, minimum=0.01),
            cache_ttl_s=env_float(environ, "AUTHBENCH_SESSION_CACHE_TTL", 0.0),
            cache_size=env_int(environ, "AUTHBENCH_SESSION_CACHE_SIZE", 10_000, minimum=1),
            profile_query=env_choice(environ, "AUTHBENCH_PROFILE_QUERY", ("joined", "naive")),
        )


class TTLCache:
    """A small in-process cache: entries live `ttl_s` seconds, at most `size` of them (LRU).

    The price of the time it saves: a session deleted elsewhere (logout handled by another
    worker or host) keeps working here until its entry expires.
    """

    def __init__(self, ttl_s: float, size: int, clock=time.monotonic):
        self.ttl_s, self.size, self.clock = ttl_s, size, clock
        self._entries: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, principal = entry
        if expires <= self.clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return principal

    def put(self, key: bytes, principal: Principal) -> None:
        self._entries[key] = (self.clock() + self.ttl_s, principal)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        self._entries.pop(key, None)


class SessionAuth:
    name = "session"

    def __init__(self, settings: SessionSettings):
        self.settings = settings
        self.db = Database(settings.database, f"authbench-{self.name}-{os.getpid()}")
        self.cache = (
            TTLCache(settings.cache_ttl_s, settings.cache_size) if settings.cache_ttl_s else None
        )

    async def startup(self) -> None:
        await self.db.open()

    async def shutdown(self) -> None:
        await self.db.close()

    def _token_hash(self, headers) -> bytes:
        token = bearer_token(headers)
        if not TOKEN_SHAPE.fullmatch(token):
            raise invalid_token("not a session token")  # refused without touching the database
        return hash_token(token)

    async def login(self, username: str, password: str) -> dict:
        """Exercises: password check, then one INSERT of sha256(new token). Any offered token is
        ignored: a login always creates a new session (no session fixation)."""
        principal = await self.db.check_password(username, password)
        if principal is None:
            raise Problem(400, "invalid_grant", "unknown username or wrong password")
        token = secrets.token_urlsafe(32)
        token_hash = hash_token(token)
        await self.db.execute(CREATE, token_hash, principal.user_id, float(self.settings.ttl_s))
        return token_response(token, self.settings.ttl_s)

    async def authenticate(self, headers) -> Principal:
        """Exercises: sha256 of the token, then one indexed lookup (or a cache hit)."""
        token_hash = self._token_hash(headers)
        if self.cache is not None and (principal := self.cache.get(token_hash)) is not None:
            return principal
        s = self.settings
        row = await self.db.fetchrow(LOOKUP, token_hash, s.touch_after_s, s.idle_s)
        if row is None:
            raise invalid_token("unknown, expired or logged-out session")
        if row["stale"]:
            await self.db.execute(TOUCH, token_hash)
        principal = Principal(row["user_id"], row["username"])
        if self.cache is not None:
            self.cache.put(token_hash, principal)
        return principal

    async def profile(self, headers, timing: list[int]) -> dict:
        """Exercises: the session lookup folded into the query the endpoint makes anyway (one
        round trip); with AUTHBENCH_PROFILE_QUERY=naive, the lookup and then the data query."""
        if self.settings.profile_query == "naive" or self.cache is not None:
            principal = await self.authenticate(headers)
            timing[0] = time.perf_counter_ns()
            return await self.db.profile_of(principal.user_id)
        token_hash = self._token_hash(headers)
        s = self.settings
        row = await self.db.fetchrow(PROFILE_BY_TOKEN, token_hash, s.touch_after_s, s.idle_s)
        timing[0] = time.perf_counter_ns()
        if row is None:
            raise invalid_token("unknown, expired or logged-out session")
        if row["stale"]:
            await self.db.execute(TOUCH, token_hash)
        return profile_json(row)

    async def logout(self, headers) -> None:
        """Exercises: one DELETE. The token is refused from the next request on."""
        token_hash = self._token_hash(headers)
        if self.cache is not None:
            self.cache.discard(token_hash)
        status = await self.db.execute(DELETE, token_hash)
        if status == "DELETE 0":
            raise invalid_token("unknown, expired or logged-out session")


def make_auth(environ: Mapping[str, str]) -> SessionAuth:
    return SessionAuth(SessionSettings.from_env(environ))


app = App(make_auth)
