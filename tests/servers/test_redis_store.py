"""The session server with AUTHBENCH_SESSION_STORE=redis, against a real embedded Valkey.

The same contract as the PostgreSQL store: only sha256(token) stored, absolute and idle expiry,
logout refuses the token at once; and the same fault guarantees: 503 with Retry-After within
the bound when the store is down, frozen or out of connections, recovery without a restart,
SIGTERM closing the store's connections, one line for an unreachable REDIS_URL.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from bench.system.ports import free_port
from bench.system.valkey import embedded_valkey
from tests.support.client import assert_unavailable, bearer, call, eventually, login
from tests.support.servers_under_test import Servers, start_postgres


@pytest.fixture(scope="module")
def kv():
    with embedded_valkey() as server:
        yield server


@pytest.fixture(scope="module")
def redis_servers(pg, kv, tmp_path_factory):
    pool = Servers(pg, tmp_path_factory.mktemp("redis-logs"))
    yield pool
    pool.stop_all()


def start(pool: Servers, kv, **settings: str):
    return pool.start("session", AUTHBENCH_SESSION_STORE="redis", REDIS_URL=kv.url, **settings)


@pytest.fixture(scope="module")
def redis_session(redis_servers, kv):
    return start(redis_servers, kv)


def keys(kv) -> dict[bytes, bytes]:
    client = redis.Redis.from_url(kv.tcp_url)
    try:
        return {key: client.get(key) for key in client.scan_iter(b"authbench:session:*")}
    finally:
        client.close()


def me(server, token: str):
    return call(server.url, "GET", "/me", bearer(token))


def test_login_me_profile_logout_me(redis_session):
    token = login(redis_session)
    assert me(redis_session, token).json() == {"user_id": 1, "username": "user00001"}
    profile = call(redis_session.url, "GET", "/profile", bearer(token))
    assert profile.status == 200 and len(profile.json()["orders"]) == 10
    assert call(redis_session.url, "POST", "/logout", bearer(token)).status == 204
    refused = me(redis_session, token)
    assert refused.status == 401 and 'error="invalid_token"' in refused.challenge
    assert call(redis_session.url, "POST", "/logout", bearer(token)).status == 401


def test_store_holds_only_the_sha256_of_the_token_with_the_lifetime_as_ttl(redis_session, kv):
    token = login(redis_session)
    key = b"authbench:session:" + hashlib.sha256(token.encode()).hexdigest().encode()
    stored = keys(kv)
    assert key in stored
    assert not any(token.encode() in k or token.encode() in v for k, v in stored.items())
    ttl = redis.Redis.from_url(kv.tcp_url).ttl(key)
    assert 3500 < ttl <= 3600  # AUTHBENCH_TOKEN_TTL's default, as the key's expiry


def test_absolute_expiry_is_the_key_ttl(redis_servers, kv):
    server = start(redis_servers, kv, AUTHBENCH_TOKEN_TTL="1")
    token = login(server)
    assert me(server, token).status == 200
    time.sleep(1.3)
    assert me(server, token).status == 401


def test_idle_expiry_and_use_keeps_a_session_alive(redis_servers, kv):
    server = start(redis_servers, kv, AUTHBENCH_SESSION_IDLE="0.6")
    token = login(server)
    for _ in range(10):  # 1.2 s of use, twice the idle timeout: kept alive by use
        assert me(server, token).status == 200
        time.sleep(0.12)
    time.sleep(0.9)  # idle longer than the timeout
    assert me(server, token).status == 401


def test_malformed_token_never_reaches_the_store(redis_session, kv):
    kv.freeze()  # were the store asked, the answer would be a 503
    try:
        assert me(redis_session, "not-a-session-token").status == 401
    finally:
        kv.thaw()


def test_missing_or_unreachable_redis_url_is_one_line(pg):
    base = {"DATABASE_URL": pg.url, "AUTHBENCH_SESSION_STORE": "redis"}
    cases = {
        "": "needs REDIS_URL",
        f"redis://127.0.0.1:{free_port()}/0": "cannot reach the session store at redis://127.0.0.1",
        "http://example.invalid/": "REDIS_URL must start with",
    }
    for url, expected in cases.items():
        env = {**base, **({"REDIS_URL": url} if url else {})}
        result = subprocess.run(
            [sys.executable, "-m", "servers", "session", "--port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin", **env},
        )
        assert result.returncode == 2, (url, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (url, result.stderr)


# --------------------------------------------------------------------------------------------
# Faults: a Valkey of this module's own, stopped, frozen and paused


@pytest.fixture(scope="module")
def own_kv():
    """A Valkey of the fault tests' own, which they stop, freeze and pause."""
    with embedded_valkey() as server:
        yield server


@pytest.fixture(scope="module")
def fault_pair(redis_servers, own_kv):
    """A Redis-store session server and a JWT server, with a token each."""
    session = start(redis_servers, own_kv)
    jwt = redis_servers.start("jwt_auth")
    return {"session": (session, login(session)), "jwt_auth": (jwt, login(jwt))}


@pytest.mark.fault
def test_store_down_then_back_without_a_restart(own_kv, fault_pair):
    session, token = fault_pair["session"]
    own_kv.stop()
    try:
        for _ in range(10):
            assert_unavailable(me(session, token))
            assert me(*fault_pair["jwt_auth"]).status == 200
        credentials = {"username": "user00002", "password": "authbench-password"}
        assert_unavailable(call(session.url, "POST", "/login", body=credentials))
        assert_unavailable(call(session.url, "POST", "/logout", bearer(token)))
    finally:
        own_kv.start()
    # The session outlived the restart (snapshot).
    eventually(lambda: me(session, token).status == 200, 2.0, "no recovery within 2 s")


@pytest.mark.fault
def test_frozen_store_gives_503_within_the_bound(own_kv, fault_pair):
    session, token = fault_pair["session"]
    own_kv.freeze()
    try:
        for _ in range(3):
            assert_unavailable(me(session, token))
    finally:
        own_kv.thaw()
    eventually(lambda: me(session, token).status == 200, 5, "no recovery after the thaw")


def pause_store(kv, seconds: float) -> None:
    """CLIENT PAUSE ALL from another connection: every command waits `seconds` (a slow store)."""
    client = redis.Redis.from_url(kv.tcp_url)
    try:
        client.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")
    finally:
        client.close()


@pytest.mark.fault
def test_exhausted_pool_and_slow_store_give_503_within_the_bound(redis_servers, own_kv):
    server = start(redis_servers, own_kv, AUTHBENCH_POOL_SIZE="1")
    token = login(server)
    pause_store(own_kv, seconds=2.5)  # longer than any bounded request below
    with ThreadPoolExecutor(8) as workers:
        answers = list(workers.map(lambda _: me(server, token), range(8)))
    for answer in answers:
        assert_unavailable(answer)
    eventually(lambda: me(server, token).status == 200, 5, "no recovery after the pause")


def our_clients(kv, server) -> int:
    client = redis.Redis.from_url(kv.tcp_url)
    try:
        name = f"authbench-session-{server.pid}"
        return sum(1 for c in client.client_list() if c.get("name") == name)
    finally:
        client.close()


@pytest.mark.fault
def test_sigterm_lets_in_flight_requests_finish_and_closes_the_connections(redis_servers, own_kv):
    server = start(redis_servers, own_kv)
    token = login(server)
    assert our_clients(own_kv, server) > 0
    with ThreadPoolExecutor(4) as workers:
        pause_store(own_kv, seconds=0.3)  # in flight for 0.3 s, within the command timeout
        in_flight = [workers.submit(me, server, token) for _ in range(4)]
        time.sleep(0.1)
        server.terminate()
        answers = [future.result() for future in in_flight]
    assert [answer.status for answer in answers] == [200] * 4
    server.process.wait(10)
    eventually(lambda: not our_clients(own_kv, server), 5, "the server left connections open")


@pytest.mark.fault
def test_postgres_down_stops_logins_but_not_redis_sessions(own_kv, tmp_path_factory):
    """With sessions in Redis, GET /me never asks PostgreSQL; logins and /profile still do."""
    pg = start_postgres()
    pool = Servers(pg, tmp_path_factory.mktemp("pg-down-logs"))
    try:
        server = start(pool, own_kv)
        token = login(server)
        pg.stop()
        assert me(server, token).status == 200
        assert_unavailable(call(server.url, "GET", "/profile", bearer(token)))
        credentials = {"username": "user00002", "password": "authbench-password"}
        assert_unavailable(call(server.url, "POST", "/login", body=credentials))
    finally:
        pool.stop_all()
        pg.destroy()
