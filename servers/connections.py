"""The servers' connections to their stores, PostgreSQL (asyncpg) and a Redis-compatible server
(redis-py), both bounded the same way: a pool of `pool_size` connections waited for at most the
acquire timeout, connect and command timeouts, no retries. A store that is down, slow or out of
connections is a 503 (`StoreUnavailable`), never a hang and never a 401.

Every connection is named `authbench-<server>-<worker pid>` (PostgreSQL's application_name,
Redis's CLIENT SETNAME), so that the harness can charge each store process's CPU to the server
that used it: `connection_name` builds the name, `worker_pid` reads it back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from servers.common import ConfigError, Problem, env_flag, env_float, env_int

CONNECTION_PREFIX = "authbench-"


def connection_name(server: str, pid: int) -> str:
    """What a server calls its store connections: `authbench-<server>-<worker pid>`."""
    return f"{CONNECTION_PREFIX}{server}-{pid}"


def worker_pid(name: str) -> int | None:
    """The worker pid in a connection name built by `connection_name`, or None."""
    if not name.startswith(CONNECTION_PREFIX):
        return None
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


class StoreUnavailable(Problem):
    """PostgreSQL or the Redis store is down, slow or out of connections: 503, retry in 1 s."""

    def __init__(self, reason: str):
        super().__init__(503, "temporarily_unavailable", reason, [(b"retry-after", b"1")])


def redact(url: str) -> str:
    """A store URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password:
            parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
        return urlunsplit(parts)
    except ValueError:
        return "<unparseable URL>"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class DatabaseSettings:
    """How the servers reach their stores, and how long they may wait for them."""

    url: str
    pool_size: int = 10
    acquire_timeout_s: float = 0.5
    command_timeout_s: float = 0.5
    connect_timeout_s: float = 0.5
    # asyncpg runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;` on every
    # release, and the request waits for it: a second round trip per request. These servers
    # use none of those features, so by default there is nothing to reset.
    reset_on_release: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DatabaseSettings:
        url = environ.get("DATABASE_URL", "")
        if not url:
            raise ConfigError("DATABASE_URL is not set (make serve starts a database for you)")
        return cls(
            url=url,
            pool_size=env_int(environ, "AUTHBENCH_POOL_SIZE", 10, minimum=1),
            acquire_timeout_s=env_float(environ, "AUTHBENCH_DB_ACQUIRE_TIMEOUT", 0.5, 0.001),
            command_timeout_s=env_float(environ, "AUTHBENCH_DB_COMMAND_TIMEOUT", 0.5, 0.001),
            connect_timeout_s=env_float(environ, "AUTHBENCH_DB_CONNECT_TIMEOUT", 0.5, 0.001),
            reset_on_release=env_flag(environ, "AUTHBENCH_POOL_RESET"),
        )


# --------------------------------------------------------------------------------------------
# PostgreSQL


def postgres_unavailable_errors() -> tuple[type[BaseException], ...]:
    import asyncpg

    # asyncpg reports a vanished server through several unrelated types (InternalClientError
    # derives straight from Exception); all of them mean "try again shortly", never "401".
    return (
        OSError,
        TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.OperatorInterventionError,
        asyncpg.exceptions.InsufficientResourcesError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
    )


async def _nothing_to_reset(connection) -> None:
    """Pool reset hook: asyncpg still rolls back an open transaction; we add no query."""
    return


class Database:
    """An asyncpg pool whose every call is bounded: acquire timeout plus command timeout."""

    def __init__(self, settings: DatabaseSettings, application_name: str):
        self.settings = settings
        self.application_name = application_name  # names our connections in pg_stat_activity
        self.pool = None
        self._unavailable = postgres_unavailable_errors()

    async def open(self) -> None:
        import asyncpg

        s = self.settings
        try:
            self.pool = await asyncpg.create_pool(
                s.url,
                min_size=min(2, s.pool_size),
                max_size=s.pool_size,
                timeout=s.connect_timeout_s,
                command_timeout=s.command_timeout_s,
                server_settings={"application_name": self.application_name},
                reset=None if s.reset_on_release else _nothing_to_reset,
            )
        except (*self._unavailable, asyncpg.PostgresError, ValueError) as exc:
            raise ConfigError(
                f"cannot reach PostgreSQL at {redact(s.url)}: {one_line(exc)}"
            ) from exc

    async def close(self, timeout_s: float = 5.0) -> None:
        if self.pool is None:
            return
        try:
            await asyncio.wait_for(self.pool.close(), timeout_s)
        except TimeoutError:
            self.pool.terminate()
        self.pool = None

    async def run(self, method: str, query: str, *args: Any) -> Any:
        """conn.<method>(query, *args) on a pooled connection, or StoreUnavailable."""
        s = self.settings
        try:
            async with self.pool.acquire(timeout=s.acquire_timeout_s) as conn:
                return await getattr(conn, method)(query, *args, timeout=s.command_timeout_s)
        except self._unavailable as exc:
            raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return await self.run("fetchrow", query, *args)

    async def execute(self, query: str, *args: Any) -> Any:
        return await self.run("execute", query, *args)


def check_database(url: str, timeout_s: float = 5.0) -> str:
    """Connect once and return the server version, or raise ConfigError in one line."""
    import asyncpg

    async def probe() -> str:
        conn = await asyncpg.connect(url, timeout=timeout_s)
        try:
            return await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()

    try:
        return asyncio.run(probe())
    except (*postgres_unavailable_errors(), asyncpg.PostgresError, ValueError) as exc:
        raise ConfigError(f"cannot reach PostgreSQL at {redact(url)}: {one_line(exc)}") from exc


# --------------------------------------------------------------------------------------------
# Redis-compatible store


def redis_unavailable_errors() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    # ConnectionError covers a refused or reset socket and an empty pool (BlockingConnectionPool
    # raises it after its timeout); TimeoutError a frozen server. Both: 503, never 401.
    return (
        OSError,
        TimeoutError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    )


def redis_client(url: str, db: DatabaseSettings, name: str | None = None):
    """A redis-py asyncio client bounded like the PostgreSQL pool: `pool_size` connections waited
    for at most the acquire timeout, connect and command timeouts, and no retries (redis-py 8
    retries ten times with backoff by default, which would stretch the bound; the client
    reconnects on the next call anyway)."""
    import redis.asyncio as aredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    pool = aredis.BlockingConnectionPool.from_url(
        url,
        max_connections=db.pool_size,
        timeout=db.acquire_timeout_s,
        socket_timeout=db.command_timeout_s,
        socket_connect_timeout=db.connect_timeout_s,
        retry=Retry(NoBackoff(), 0),
        client_name=name,
    )
    return aredis.Redis(connection_pool=pool)


def redis_url_from_env(environ: Mapping[str, str]) -> str:
    url = environ.get("REDIS_URL", "").strip()
    if not url:
        raise ConfigError(
            "AUTHBENCH_SESSION_STORE=redis needs REDIS_URL (make serve starts a Valkey for you)"
        )
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {url!r}")
    return url


def check_redis(url: str, timeout_s: float = 5.0) -> str:
    """PING once and return the server's version, or raise ConfigError in one line."""
    settings = DatabaseSettings(
        url="",
        connect_timeout_s=timeout_s,
        command_timeout_s=timeout_s,
        acquire_timeout_s=timeout_s,
        pool_size=1,
    )

    async def probe() -> str:
        client = redis_client(url, settings)
        try:
            info = await client.info("server")
            return str(info.get("valkey_version") or info.get("redis_version") or "unknown")
        finally:
            await client.aclose()

    try:
        return asyncio.run(probe())
    except (*redis_unavailable_errors(), ValueError) as exc:
        raise ConfigError(
            f"cannot reach the session store at {redact(url)}: {one_line(exc)}"
        ) from exc
