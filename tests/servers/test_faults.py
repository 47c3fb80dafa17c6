"""Database trouble and shutdown, with a PostgreSQL of this module's own that it stops and starts.

docs/server-contract.md, "Errors (RFC 6750)" (a store down, slow or out of connections) and
"Starting, readiness, stopping" (SIGTERM): 503 with Retry-After within a bound, never a hang, a
401 or a 200; recovery without a restart; the JWT server serving on; SIGTERM finishing in-flight
requests and closing the pool.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from servers.connections import connection_name
from tests.support.client import assert_unavailable, bearer, call, eventually, login
from tests.support.servers_under_test import Servers, sql, start_postgres

pytestmark = pytest.mark.fault


@pytest.fixture(scope="module")
def own_pg():
    pg = start_postgres()
    yield pg
    pg.destroy()


class RuntimeServers(Servers):
    """Servers of one runtime (python, fastapi, node): every twin must fail the same way."""

    def __init__(self, pg, log_dir, runtime: str):
        super().__init__(pg, log_dir)
        self.runtime = runtime

    def start(self, name: str, workers: int = 1, runtime: str | None = None, **settings: str):
        return super().start(name, workers, runtime or self.runtime, **settings)


@pytest.fixture(scope="module")
def fault_servers(own_pg, tmp_path_factory, runtime):
    pool = RuntimeServers(own_pg, tmp_path_factory.mktemp(f"fault-logs-{runtime}"), runtime)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def trio(fault_servers):
    """A session server, a JWT server and a JWT server with its denylist, with a token each."""
    found = {}
    for label, name, settings in (
        ("session", "session", {}),
        ("jwt_auth", "jwt_auth", {}),
        ("denylist", "jwt_auth", {"AUTHBENCH_JWT_DENYLIST": "1"}),
    ):
        server = fault_servers.start(name, **settings)
        found[label] = (server, login(server))
    return found


def me(entry):
    server, token = entry
    return call(server.url, "GET", "/me", bearer(token))


def test_database_down_then_back(own_pg, trio):
    for entry in trio.values():
        assert me(entry).status == 200
    own_pg.stop()
    try:
        for _ in range(10):
            assert_unavailable(me(trio["session"]))
            assert me(trio["jwt_auth"]).status == 200  # no database on its request path
            assert_unavailable(me(trio["denylist"]))  # ... unless it has to ask the denylist
        session_server = trio["session"][0]
        assert_unavailable(
            call(session_server.url, "POST", "/login", body={"username": "u", "password": "x"})
        )
        # A malformed token is refused without asking the database: 401 even now.
        malformed = call(session_server.url, "GET", "/me", bearer("not-a-session-token"))
        assert malformed.status == 401
    finally:
        own_pg.start()
    eventually(lambda: me(trio["session"]).status == 200, 2.0, "no recovery within 2 s")
    assert me(trio["denylist"]).status == 200


def test_frozen_database_gives_503_within_the_bound(own_pg, trio):
    own_pg.freeze()
    try:
        for _ in range(3):
            assert_unavailable(me(trio["session"]))
            assert me(trio["jwt_auth"]).status == 200
    finally:
        own_pg.thaw()
    eventually(lambda: me(trio["session"]).status == 200, 5, "no recovery after the thaw")


class TableLock:
    """Hold an ACCESS EXCLUSIVE lock on the sessions table from another connection."""

    def __init__(self, pg, seconds: float):
        self.pg, self.seconds = pg, seconds
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        conn = await asyncpg.connect(self.pg.url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE authbench.sessions IN ACCESS EXCLUSIVE MODE")
                self.locked.set()
                await asyncio.to_thread(self.release.wait, self.seconds)
        finally:
            await conn.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(5)
        return self

    def __exit__(self, *exc_info):
        self.release.set()
        self.thread.join(10)


def test_exhausted_pool_and_slow_queries_give_503_within_the_bound(own_pg, fault_servers):
    server = fault_servers.start("session", AUTHBENCH_POOL_SIZE="1")
    token = login(server)
    with TableLock(own_pg, seconds=10), ThreadPoolExecutor(8) as workers:
        answers = list(
            workers.map(lambda _: call(server.url, "GET", "/me", bearer(token)), range(8))
        )
    for answer in answers:
        assert_unavailable(answer)
    assert call(server.url, "GET", "/me", bearer(token)).status == 200


def our_connections(pg, server, pids: list[int]) -> int:
    """Connections named after one of the server's processes (a Node worker is a child)."""
    names = [connection_name(server.name, pid) for pid in pids]
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = ANY($1::text[])"
    return sql(pg, query, names)[0][0]


def test_sigterm_lets_in_flight_requests_finish_and_closes_the_pool(own_pg, fault_servers):
    server = fault_servers.start("session")
    token = login(server)
    pids = server.pids()
    assert our_connections(own_pg, server, pids) > 0
    with TableLock(own_pg, seconds=0.3), ThreadPoolExecutor(4) as workers:
        in_flight = [
            workers.submit(call, server.url, "GET", "/me", bearer(token)) for _ in range(4)
        ]
        time.sleep(0.1)
        server.terminate()
        answers = [future.result() for future in in_flight]
    assert [answer.status for answer in answers] == [200] * 4
    server.process.wait(10)
    eventually(
        lambda: not our_connections(own_pg, server, pids), 5, "the server left connections open"
    )
