"""The happy path of every route on all three servers, and the shapes they share."""

from __future__ import annotations

import pytest

from tests.support.client import bearer, call, login

SERVERS = ["session_server", "jwt_server", "control_server"]


@pytest.fixture(params=SERVERS)
def server(request, runtime):
    return request.getfixturevalue(request.param)


def test_healthz_names_the_server(server):
    answer = call(server.url, "GET", "/healthz")
    assert answer.status == 200
    assert answer.json() == {"status": "ok", "server": server.name}


def test_login_me_logout_round_trip(server):
    answer = call(
        server.url,
        "POST",
        "/login",
        body={"username": "user00007", "password": "authbench-password"},
    )
    assert answer.status == 200
    grant = answer.json()
    assert set(grant) == {"token", "token_type", "expires_in"}
    assert grant["token_type"] == "Bearer" and grant["expires_in"] > 0
    assert answer.header("cache-control") == "no-store"

    me = call(server.url, "GET", "/me", bearer(grant["token"]))
    assert me.status == 200
    assert set(me.json()) == {"user_id", "username"}
    if server.name != "control":
        assert me.json() == {"user_id": 7, "username": "user00007"}

    assert call(server.url, "POST", "/logout", bearer(grant["token"])).status == 204


def test_every_me_answer_carries_auth_time_in_microseconds(server):
    token = login(server)
    for headers in (bearer(token), []):
        timing = call(server.url, "GET", "/me", headers).header("server-timing")
        name, _, duration = timing.partition(";dur=")
        assert name == "auth"
        whole, _, decimals = duration.partition(".")
        assert whole.isdigit() and len(decimals) == 3  # milliseconds with microsecond resolution


@pytest.mark.parametrize("server_fixture", ["session_server", "jwt_server"])
def test_wrong_password_and_unknown_user_are_refused_alike(request, runtime, server_fixture):
    server = request.getfixturevalue(server_fixture)
    wrong = call(server.url, "POST", "/login", body={"username": "user00001", "password": "nope"})
    unknown = call(server.url, "POST", "/login", body={"username": "nobody", "password": "nope"})
    for answer in (wrong, unknown):
        assert answer.status == 400
        assert answer.json()["error"] == "invalid_grant"
    assert wrong.body == unknown.body


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"username": "user00001"}', b'{"username": 1, "password": 2}'],
    ids=["not-json", "not-an-object", "missing-password", "not-strings"],
)
def test_login_rejects_malformed_bodies(session_server, body):
    answer = call(session_server.url, "POST", "/login", body=body)
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"


def test_login_body_size_is_capped(session_server):
    answer = call(session_server.url, "POST", "/login", body=b"{" + b" " * 10_000 + b"}")
    assert answer.status == 413


def test_unknown_path_and_wrong_method(server):
    assert call(server.url, "GET", "/admin").status == 404
    answer = call(server.url, "DELETE", "/me")
    assert answer.status == 405
    assert answer.header("allow") == "GET"


def test_answers_carry_content_length_and_are_not_chunked(server):
    """A 36-byte JSON body needs no chunked framing: every answer says its length."""
    grant = call(
        server.url,
        "POST",
        "/login",
        body={"username": "user00008", "password": "authbench-password"},
    )
    answers = [
        grant,
        call(server.url, "GET", "/me", bearer(grant.json()["token"])),
        call(server.url, "GET", "/me"),  # a 401 for the authenticating servers
        call(server.url, "GET", "/nowhere"),
        call(server.url, "GET", "/healthz"),
    ]
    for answer in answers:
        assert answer.header("transfer-encoding") is None, answer.status
        assert answer.header("content-length") == str(len(answer.body)), answer.status
    logout = call(server.url, "POST", "/logout", bearer(grant.json()["token"]))
    assert logout.status == 204 and logout.header("content-length") in (None, "0")


def test_importing_the_store_derives_no_password_record():
    """The full-cost scrypt record for unknown users is derived on first login, not at import
    (every server, Locust process and CLI call imports this module)."""
    import subprocess
    import sys

    probe = (
        "import servers.store as s, servers.jwt_auth, servers.session;"
        "print(s.dummy_record.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


# --- GET /profile: an endpoint that reads the database anyway ---------------------------------


def test_profile_answers_with_the_users_row_and_ten_recent_orders(server):
    token = login(server, "user00012")
    answer = call(server.url, "GET", "/profile", bearer(token))
    assert answer.status == 200, answer.body
    body = answer.json()
    expected_user = 1 if server.name == "control" else 12  # the control reads a fixed user
    assert (body["user_id"], body["username"]) == (expected_user, f"user{expected_user:05d}")
    orders = body["orders"]
    assert len(orders) == 10
    assert {"id", "item", "amount_cents", "created_at"} <= set(orders[0])
    stamps = [o["created_at"] for o in orders]
    assert stamps == sorted(stamps, reverse=True)  # the most recent first
    assert answer.header("server-timing").startswith("auth;dur=")
    assert answer.header("content-length") == str(len(answer.body))


@pytest.mark.parametrize("fixture", ["session_server", "jwt_server"])
def test_profile_keeps_the_error_contract_of_me(request, runtime, fixture):
    server = request.getfixturevalue(fixture)
    missing = call(server.url, "GET", "/profile")
    assert missing.status == 401 and missing.challenge == 'Bearer realm="authbench"'
    forged = call(server.url, "GET", "/profile", bearer("A" * 43))
    assert forged.status == 401 and 'error="invalid_token"' in forged.challenge
    malformed = call(server.url, "GET", "/profile", [("Authorization", "Bearer a b")])
    assert malformed.status == 400 and 'error="invalid_request"' in malformed.challenge
    token = login(server, "user00013")
    call(server.url, "POST", "/logout", bearer(token))
    after = call(server.url, "GET", "/profile", bearer(token))
    assert after.status == (401 if server.name == "session" else 200)  # JWT: no revocation


def test_the_naive_two_query_profile_returns_the_same_answer(servers, session_server):
    naive = servers.start("session", AUTHBENCH_PROFILE_QUERY="naive")
    token = login(session_server, "user00014")
    joined_body = call(session_server.url, "GET", "/profile", bearer(token)).json()
    token = login(naive, "user00014")
    assert call(naive.url, "GET", "/profile", bearer(token)).json() == joined_body
