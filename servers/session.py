"""The session server: an opaque token looked up in a session store on every request.

The token is `secrets.token_urlsafe(32)`; the store keeps sha256(token) only. The store is
PostgreSQL (default) or a Redis-compatible server (AUTHBENCH_SESSION_STORE=redis):
- postgres: GET /me does one prepared, indexed lookup through the asyncpg pool (asyncpg
  prepares and caches statements per connection), checking absolute and idle expiry in the same
  statement. Logout deletes the row.
- redis: GET /me does one GET of `authbench:session:<hex sha256>` through redis-py's asyncio
  client (hiredis parser). The absolute expiry is the key's TTL; the idle expiry is checked
  against the last-seen time kept in the value. Logout deletes the key. Passwords, users and
  GET /profile's data stay in PostgreSQL.
Either way a logged-out token is refused on the very next request.

Settings (environment): DATABASE_URL, AUTHBENCH_SESSION_STORE (postgres | redis), REDIS_URL
(redis://host:port/db or unix:///path), AUTHBENCH_TOKEN_TTL (absolute lifetime, s, 3600),
AUTHBENCH_SESSION_IDLE (idle timeout, s, 1800), AUTHBENCH_SESSION_CACHE_TTL (s, 0 = no cache),
AUTHBENCH_SESSION_CACHE_SIZE (entries, 10000), AUTHBENCH_PROFILE_QUERY (joined: GET /profile
folds the lookup into its data query; naive: two queries; with the Redis store it is always
two, one per store), plus the pool and timeout settings in servers.common, which bound the
Redis calls too.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from servers.common import (
    App,
    ConfigError,
    Principal,
    Problem,
    bearer_token,
    env_choice,
    env_float,
    env_int,
    invalid_token,
    token_response,
)
from servers.connections import (
    Database,
    DatabaseSettings,
    StoreUnavailable,
    connection_name,
    one_line,
    redact,
    redis_client,
    redis_unavailable_errors,
    redis_url_from_env,
)
from servers.queries import sql
from servers.store import check_password, hash_token, profile_json, profile_of

# token_urlsafe(32): 32 random bytes, base64url without padding: exactly 43 characters.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")

REDIS_KEY_PREFIX = b"authbench:session:"


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
    store: str = "postgres"  # where sessions live: "postgres" or "redis"
    redis_url: str = ""

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
            profile_query=env_choice(environ, "AUTHBENCH_PROFILE_QUERY", PROFILE_QUERIES),
            store=(store := env_choice(environ, "AUTHBENCH_SESSION_STORE", STORES)),
            redis_url=redis_url_from_env(environ) if store == "redis" else "",
        )


STORES = ("postgres", "redis")
PROFILE_QUERIES = ("joined", "naive")


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


class PostgresSessions:
    """Sessions as rows of authbench.sessions: the default store."""

    def __init__(self, db: Database, settings: SessionSettings):
        self.db, self.settings = db, settings
        # The statements of servers/contract.sql, taken once here rather than on each request.
        self.lookup_sql, self.touch_sql = sql("lookup"), sql("touch")
        self.create_sql, self.delete_sql = sql("create"), sql("delete")

    async def open(self) -> None:
        return  # the server's PostgreSQL pool is opened by SessionAuth

    async def close(self) -> None:
        return

    async def create(self, token_hash: bytes, principal: Principal) -> None:
        await self.db.execute(
            self.create_sql, token_hash, principal.user_id, float(self.settings.ttl_s)
        )

    async def lookup(self, token_hash: bytes) -> Principal | None:
        s = self.settings
        row = await self.db.fetchrow(self.lookup_sql, token_hash, s.touch_after_s, s.idle_s)
        if row is None:
            return None
        if row["stale"]:
            await self.db.execute(self.touch_sql, token_hash)
        return Principal(row["user_id"], row["username"])

    async def delete(self, token_hash: bytes) -> bool:
        return await self.db.execute(self.delete_sql, token_hash) != "DELETE 0"


class RedisSessions:
    """Sessions as keys of a Redis-compatible server: `authbench:session:<hex sha256(token)>`.

    The value is `<user id>:<last seen, ms since the epoch>:<username>`; the key's TTL is the
    absolute expiry, the last-seen time gives the idle expiry (refreshed at most every
    `touch_after_s`, with SET ... XX KEEPTTL so that a key deleted meanwhile is not revived).
    """

    def __init__(self, settings: SessionSettings, name: str):
        self.settings, self.name = settings, name
        self.client = None
        self._unavailable = redis_unavailable_errors()

    @staticmethod
    def key(token_hash: bytes) -> bytes:
        return REDIS_KEY_PREFIX + token_hash.hex().encode()

    @staticmethod
    def value(principal: Principal, last_seen_s: float) -> bytes:
        return f"{principal.user_id}:{int(last_seen_s * 1000)}:{principal.username}".encode()

    async def open(self) -> None:
        self.client = redis_client(self.settings.redis_url, self.settings.database, self.name)
        try:
            await self.client.ping()
        except (*self._unavailable, ValueError) as exc:
            url = redact(self.settings.redis_url)
            raise ConfigError(f"cannot reach the session store at {url}: {one_line(exc)}") from exc

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    async def _call(self, command: str, *args):
        try:
            return await self.client.execute_command(command, *args)
        except self._unavailable as exc:
            raise StoreUnavailable(f"session store unavailable: {type(exc).__name__}") from exc

    async def create(self, token_hash: bytes, principal: Principal) -> None:
        value = self.value(principal, time.time())
        await self._call("SET", self.key(token_hash), value, "EX", self.settings.ttl_s)

    async def lookup(self, token_hash: bytes) -> Principal | None:
        key = self.key(token_hash)
        value = await self._call("GET", key)
        if value is None:
            return None  # never created, logged out, or past its absolute expiry (TTL)
        user_id, last_seen_ms, username = value.split(b":", 2)
        principal = Principal(int(user_id), username.decode())
        now = time.time()
        idle_s = now - int(last_seen_ms) / 1000
        if idle_s > self.settings.idle_s:
            return None
        if idle_s > self.settings.touch_after_s:
            await self._call("SET", key, self.value(principal, now), "XX", "KEEPTTL")
        return principal

    async def delete(self, token_hash: bytes) -> bool:
        return await self._call("DEL", self.key(token_hash)) == 1


class SessionAuth:
    name = "session"

    def __init__(self, settings: SessionSettings):
        self.settings = settings
        application_name = connection_name(self.name, os.getpid())
        self.db = Database(settings.database, application_name)
        self.sessions = (
            RedisSessions(settings, application_name)
            if settings.store == "redis"
            else PostgresSessions(self.db, settings)
        )
        self.cache = (
            TTLCache(settings.cache_ttl_s, settings.cache_size) if settings.cache_ttl_s else None
        )
        # GET /profile in one statement: only PostgreSQL can join the lookup with the data, and a
        # cache would be bypassed by it. Decided once here, not on every request.
        self.folds_lookup_into_profile = (
            settings.store == "postgres"
            and settings.profile_query == "joined"
            and self.cache is None
        )
        # The folded statement and the idle refresh (servers/contract.sql), taken once here.
        self.profile_sql, self.touch_sql = sql("profile_by_token"), sql("touch")

    async def startup(self) -> None:
        await self.db.open()
        try:
            await self.sessions.open()
        except BaseException:
            await self.db.close()
            raise

    async def shutdown(self) -> None:
        try:
            await self.sessions.close()
        finally:
            await self.db.close()

    def _token_hash(self, headers) -> bytes:
        token = bearer_token(headers)
        if not TOKEN_SHAPE.fullmatch(token):
            raise invalid_token("not a session token")  # refused without touching the store
        return hash_token(token)

    async def login(self, username: str, password: str) -> dict:
        """Exercises: password check in PostgreSQL, then one write of sha256(new token) to the
        session store. Any offered token is ignored: a login always creates a new session (no
        session fixation)."""
        principal = await check_password(self.db, username, password)
        if principal is None:
            raise Problem(400, "invalid_grant", "unknown username or wrong password")
        token = secrets.token_urlsafe(32)
        await self.sessions.create(hash_token(token), principal)
        return token_response(token, self.settings.ttl_s)

    async def authenticate(self, headers) -> Principal:
        """Exercises: sha256 of the token, then one lookup in the store (or a cache hit)."""
        token_hash = self._token_hash(headers)
        if self.cache is not None and (principal := self.cache.get(token_hash)) is not None:
            return replace(principal, cached=True)
        principal = await self.sessions.lookup(token_hash)
        if principal is None:
            raise invalid_token("unknown, expired or logged-out session")
        if self.cache is not None:
            self.cache.put(token_hash, principal)
        return principal

    async def profile(self, headers, timing: list[int]) -> dict:
        """Exercises: the session lookup folded into the query the endpoint makes anyway (one
        round trip); with AUTHBENCH_PROFILE_QUERY=naive, a cache, or the Redis store: the
        lookup, then the data query (two round trips)."""
        if not self.folds_lookup_into_profile:
            principal = await self.authenticate(headers)
            timing[0] = time.perf_counter_ns()
            return await profile_of(self.db, principal.user_id)
        token_hash = self._token_hash(headers)
        s = self.settings
        row = await self.db.fetchrow(self.profile_sql, token_hash, s.touch_after_s, s.idle_s)
        timing[0] = time.perf_counter_ns()
        if row is None:
            raise invalid_token("unknown, expired or logged-out session")
        if row["stale"]:
            await self.db.execute(self.touch_sql, token_hash)
        return profile_json(row)

    async def logout(self, headers) -> None:
        """Exercises: one delete in the store. The token is refused from the next request on."""
        token_hash = self._token_hash(headers)
        if self.cache is not None:
            self.cache.discard(token_hash)
        if not await self.sessions.delete(token_hash):
            raise invalid_token("unknown, expired or logged-out session")


def make_auth(environ: Mapping[str, str]) -> SessionAuth:
    return SessionAuth(SessionSettings.from_env(environ))


app = App(make_auth)
