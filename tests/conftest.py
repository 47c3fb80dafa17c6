"""Fixtures: a real embedded PostgreSQL and real servers on loopback, started once per session.

Nothing is mocked and nothing is skipped for want of a database: the tests start their own.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bench.system.postgres import EmbeddedPostgres
from bench.system.server_process import ServerProcess
from servers import runtime_catalogue
from servers.store import LOAD_TEST_KDF, SEED_PASSWORD, prepare_database
from tests.client import call

SEEDED_USERS = 200
# Login is not what these tests are about: the cheap load-test record keeps each login fast.
TEST_KDF = LOAD_TEST_KDF
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


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    server = start_postgres()
    yield server
    server.destroy()


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


@pytest.fixture(scope="session")
def servers(pg, tmp_path_factory) -> Iterator[Servers]:
    pool = Servers(pg, tmp_path_factory.mktemp("server-logs"))
    yield pool
    pool.stop_all()


# Every implementation of the server contract runs the same suite: routes, RFC 6750 input, the
# security catalogue, faults (docs/server-contract.md).
RUNTIMES = runtime_catalogue.NAMES


@pytest.fixture(scope="session", params=RUNTIMES)
def runtime(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def session_server(servers, runtime) -> ServerProcess:
    return servers.start("session", runtime=runtime)


@pytest.fixture(scope="session")
def jwt_server(servers, runtime) -> ServerProcess:
    return servers.start("jwt_auth", runtime=runtime)


@pytest.fixture(scope="session")
def control_server(servers, runtime) -> ServerProcess:
    return servers.start("control", runtime=runtime)


def login(server: ServerProcess, username: str = "user00001", password: str = SEED_PASSWORD) -> str:
    answer = call(server.url, "POST", "/login", body={"username": username, "password": password})
    assert answer.status == 200, answer
    return answer.json()["token"]


def pytest_report_header(config) -> str:
    return f"authbench tests: embedded PostgreSQL, servers on 127.0.0.1 (pid {os.getpid()})"
