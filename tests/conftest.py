"""Fixtures: a real embedded PostgreSQL and real servers on loopback, started once per session.

Nothing is mocked and nothing is skipped for want of a database: the tests start their own. The
helpers these fixtures are made of are in tests/support (servers_under_test, client).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bench.system.postgres import EmbeddedPostgres
from bench.system.server_process import ServerProcess
from servers import runtime_catalogue
from tests.support.servers_under_test import Servers, start_postgres


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    server = start_postgres()
    yield server
    server.destroy()


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


def pytest_report_header(config) -> str:
    return f"authbench tests: embedded PostgreSQL, servers on 127.0.0.1 (pid {os.getpid()})"
