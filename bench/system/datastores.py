"""The stores of one command, brought up one way: PostgreSQL, and Valkey when a server keeps its
sessions there; seeded; pinned to the servers' cores.

Every command that starts servers comes through here (the runner, `bench micro`, `bench xcheck`,
`bench flamegraph`, `make serve` and `make watch`), and this is the one module of the harness that
reads DATABASE_URL and REDIS_URL: a store named there is used as it is (checked, never started
or stopped), any other is embedded in a throwaway directory and removed when the block ends,
however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from bench.system.pinning import pin
from bench.system.postgres import check_reachable as check_postgres
from bench.system.postgres import postgres
from bench.system.service import Store
from bench.system.valkey import check_reachable as check_redis
from bench.system.valkey import redis_store
from servers.store import LOAD_TEST_KDF, Scrypt, prepare_database


def named_urls() -> tuple[str | None, str | None]:
    """The stores the user named, DATABASE_URL and REDIS_URL (None where unset or empty)."""
    return os.environ.get("DATABASE_URL") or None, os.environ.get("REDIS_URL") or None


def check_named(needs_redis: bool) -> None:
    """Before anything is created (a run folder, a store): the stores named by DATABASE_URL,
    and REDIS_URL when a server needs it, answer; else ServiceError in one line."""
    database_url, redis_url = named_urls()
    if database_url:
        check_postgres(database_url)
    if needs_redis and redis_url:
        check_redis(redis_url)


@dataclass(frozen=True)
class Stores:
    """The stores of a command: PostgreSQL, and the Redis-compatible session store or None.
    `pg` None: a run whose arms are all external starts no store (`Stores(None)`)."""

    pg: Store | None
    kv: Store | None = None

    def pg_pids(self) -> list[int]:
        return self.pg.pids() if self.pg is not None else []

    def facts(self) -> dict[str, str]:
        """What a run records of its stores: versions, and where each came from."""
        if self.pg is None:
            return {}
        found = {
            "postgres_version": self.pg.version,
            "postgres_source": "embedded" if self.pg.owned else "DATABASE_URL",
        }
        if self.kv is not None:
            found["redis_version"] = self.kv.version
            found["redis_source"] = "embedded" if self.kv.owned else "REDIS_URL"
        return found


@contextlib.contextmanager
def stores(
    needs_redis: bool = False,
    users: int = 10,
    sessions: int = 0,
    kdf: Scrypt | None = LOAD_TEST_KDF,
    cores: tuple[int, ...] | None = None,
) -> Iterator[Stores]:
    """PostgreSQL (and the Redis store when `needs_redis`), up, seeded with `users` accounts
    (their password record by `kdf`; None: full cost) and at least `sessions` live sessions, and
    pinned to `cores` when given (backends forked later inherit it); stopped when the block ends.
    """
    database_url, redis_url = named_urls()
    with postgres(database_url) as pg, redis_store(needs_redis, redis_url) as kv:
        asyncio.run(prepare_database(pg.url, users, sessions, kdf=kdf))
        if cores:
            pin(pg.pids(), cores)
            if kv is not None:
                pin(kv.pids(), cores)
        yield Stores(pg, kv)
