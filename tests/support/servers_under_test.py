"""What the tests run the servers on and with: a seeded embedded PostgreSQL, `sql` against it,
and `Servers`, which starts servers with given settings and stops every one it started.

Nothing is mocked and nothing is skipped for want of a database: the tests start their own.
The session-wide fixtures over these (`pg`, `servers`, `runtime`, one server of each kind) are
in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from bench.system.postgres import EmbeddedPostgres
from bench.system.server_process import ServerProcess
from servers.store import prepare_database

SEEDED_USERS = 200
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def start_postgres() -> EmbeddedPostgres:
    pg = EmbeddedPostgres.create()
    try:
        pg.start()
        asyncio.run(prepare_database(pg.url, SEEDED_USERS))
    except BaseException:
        pg.destroy()
        raise
    return pg


def sql(pg, query: str, *args):
    """Run one statement against the test database and return all rows."""

    async def run():
        conn = await asyncpg.connect(pg.url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


class Servers:
    """Starts servers with given settings and stops every one of them at teardown."""

    def __init__(self, pg, log_dir: Path):
        self.pg, self.log_dir, self.started = pg, log_dir, []

    def start(
        self, name: str, workers: int = 1, runtime: str = "python", **settings: str
    ) -> ServerProcess:
        env = {"DATABASE_URL": self.pg.url, "AUTHBENCH_JWT_SECRET": JWT_SECRET, **settings}
        server = ServerProcess(name, env, workers=workers, runtime=runtime)
        server.log_path = self.log_dir / f"{name}-{runtime}-{server.port}.log"
        self.started.append(server)
        return server.start()

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()
