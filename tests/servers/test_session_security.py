"""Opaque session tokens and revocation, against the running servers and the real database.

docs/server-contract.md, "Tokens" (the opaque session token, only its sha256 stored), "Routes"
(logout revokes at once) and "Errors (RFC 6750)", plus the revocation trade-off: a session is
refused at once after logout; a JWT keeps working unless the denylist is on.
"""

from __future__ import annotations

import secrets
import time

import pytest

from servers.session import TTLCache
from servers.store import hash_token as token_hash
from tests.support.client import bearer, call, login
from tests.support.servers_under_test import sql


def me(server, token):
    return call(server.url, "GET", "/me", bearer(token))


def assert_invalid_token(answer) -> None:
    assert answer.status == 401, (answer.status, answer.body)
    assert 'error="invalid_token"' in answer.challenge


def test_issued_token_is_43_url_safe_characters(session_server):
    token = login(session_server)
    assert len(token) == 43
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_unknown_token_is_refused(session_server):
    assert_invalid_token(me(session_server, secrets.token_urlsafe(32)))


@pytest.mark.parametrize(
    "token", ["short", "x" * 42, "x" * 44, "a" * 42 + "+", "a" * 42 + "/", "a" * 42 + "="]
)
def test_malformed_token_is_refused(session_server, token):
    assert_invalid_token(me(session_server, token))


def test_database_holds_only_the_sha256_of_the_token(session_server, pg):
    token = login(session_server, "user00011")
    rows = sql(pg, "SELECT * FROM authbench.sessions WHERE token_hash = $1", token_hash(token))
    assert len(rows) == 1
    for value in rows[0].values():
        assert token not in str(value) and token.encode() != value


def test_logout_refuses_the_token_at_once(session_server):
    token = login(session_server)
    assert me(session_server, token).status == 200
    assert call(session_server.url, "POST", "/logout", bearer(token)).status == 204
    assert_invalid_token(me(session_server, token))
    assert_invalid_token(call(session_server.url, "POST", "/logout", bearer(token)))


def test_login_always_creates_a_new_session_and_ignores_an_offered_one(session_server):
    first = login(session_server)
    offered = secrets.token_urlsafe(32)
    answer = call(
        session_server.url,
        "POST",
        "/login",
        bearer(first),
        body={"username": "user00001", "password": "authbench-password", "token": offered},
    )
    second = answer.json()["token"]
    assert second not in {first, offered}
    assert me(session_server, second).status == 200
    assert_invalid_token(me(session_server, offered))


@pytest.mark.parametrize(
    ("column", "age"),
    [("expires_at", "1 second"), ("last_seen", "31 minutes")],
    ids=["absolute-expiry", "idle-timeout"],
)
def test_expiry_is_enforced(session_server, pg, column, age):
    """Absolute lifetime past, or idle longer than the 30-minute default: refused."""
    token = login(session_server)
    assert me(session_server, token).status == 200
    sql(
        pg,
        f"UPDATE authbench.sessions SET {column} = now() - interval '{age}' WHERE token_hash = $1",
        token_hash(token),
    )
    assert_invalid_token(me(session_server, token))


def test_use_keeps_a_session_alive_without_a_write_per_request(servers, pg):
    """last_seen is refreshed once it is older than a quarter of the idle timeout, not always."""
    server = servers.start("session", AUTHBENCH_SESSION_IDLE="8")
    token = login(server)
    digest = token_hash(token)

    def last_seen():
        return sql(pg, "SELECT last_seen FROM authbench.sessions WHERE token_hash = $1", digest)[0][
            0
        ]

    fresh = last_seen()
    assert me(server, token).status == 200
    assert last_seen() == fresh  # recent: no write
    sql(
        pg,
        "UPDATE authbench.sessions SET last_seen = now() - interval '7 seconds' "
        "WHERE token_hash = $1",
        digest,
    )
    stale = last_seen()
    assert me(server, token).status == 200  # still inside the 8 s idle window ...
    assert last_seen() > stale  # ... and the use moved the window on


# --- revocation: the trade-off ------------------------------------------------------------


def test_jwt_keeps_working_after_logout_without_a_denylist(jwt_server):
    token = login(jwt_server)
    assert call(jwt_server.url, "POST", "/logout", bearer(token)).status == 204
    assert me(jwt_server, token).status == 200


@pytest.fixture(scope="module")
def denylist_server(servers):
    return servers.start("jwt_auth", AUTHBENCH_JWT_DENYLIST="1")


def test_denylist_refuses_a_revoked_jti_and_its_padded_twin(denylist_server):
    token = login(denylist_server)
    assert me(denylist_server, token + "=").status == 200  # PyJWT accepts the padded twin ...
    assert call(denylist_server.url, "POST", "/logout", bearer(token)).status == 204
    for twin in (token, token + "="):
        answer = me(denylist_server, twin)
        assert_invalid_token(answer)  # ... so the denylist is keyed on jti, not on the text
        assert "revoked" in answer.json()["error_description"]


def test_denylist_leaves_other_tokens_of_the_same_user_alone(denylist_server):
    kept, revoked = login(denylist_server), login(denylist_server)
    call(denylist_server.url, "POST", "/logout", bearer(revoked))
    assert me(denylist_server, kept).status == 200


def test_session_cache_keeps_a_deleted_session_alive_until_its_ttl(servers, pg):
    """What a cache costs: a session deleted behind the server's back still works until the
    entry expires (logout through the same worker does evict it)."""
    server = servers.start("session", AUTHBENCH_SESSION_CACHE_TTL="1.5")
    token = login(server)
    assert me(server, token).status == 200  # now cached
    sql(pg, "DELETE FROM authbench.sessions WHERE token_hash = $1", token_hash(token))
    assert me(server, token).status == 200
    deadline = time.monotonic() + 5
    while me(server, token).status == 200:
        assert time.monotonic() < deadline, "cached session outlived its TTL"
        time.sleep(0.1)
    assert_invalid_token(me(server, token))

    evicted = login(server)
    assert me(server, evicted).status == 200
    assert call(server.url, "POST", "/logout", bearer(evicted)).status == 204
    assert_invalid_token(me(server, evicted))


def test_ttl_cache_expires_entries_and_stays_bounded():
    now = [0.0]
    cache = TTLCache(ttl_s=10, size=3, clock=lambda: now[0])
    for key in (b"a", b"b", b"c"):
        cache.put(key, key.decode())
    assert cache.get(b"a") == "a"  # a is now the most recently used
    cache.put(b"d", "d")
    assert len(cache) == 3
    assert cache.get(b"b") is None  # the least recently used went
    assert cache.get(b"a") == "a"
    now[0] = 10.0
    assert cache.get(b"a") is None
