"""An external arm's check before load (bench.system.external), against real servers on loopback
reached by URL only: a conforming twin gives its tokens, and everything that can go wrong (a
wrong password, another kind of server, a server that is not of the contract, nothing
listening, a token command that fails) is one line naming the arm, its URL and what answered
wrong, with the command that checks the server against the contract."""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from collections.abc import Iterator

import pytest

from bench.system.external import Credentials, ExternalServer, check, conform_command
from bench.system.http_client import Endpoint, request
from bench.system.ports import free_port
from bench.system.server_process import ServerFailed
from servers.store import SEED_PASSWORD

SEEDED = Credentials("user00001", SEED_PASSWORD)


def arm(kind: str, url: str, label: str = "mine") -> ExternalServer:
    return ExternalServer(kind, Endpoint.parse(url), label)


def failure(server: ExternalServer, credentials: Credentials = SEEDED, path: str = "/me") -> str:
    with pytest.raises(ServerFailed) as caught:
        check(server, credentials, server.name != "control", path, 2)
    said = str(caught.value)
    assert "\n" not in said and "Traceback" not in said, said
    return said


@pytest.fixture(scope="module")
def jwt_twin(servers):
    return servers.start("jwt_auth")


@pytest.fixture(scope="module")
def session_twin(servers):
    return servers.start("session")


@pytest.fixture
def not_the_contract(tmp_path) -> Iterator[str]:
    """Python's own file server on loopback: HTTP, but none of the contract's routes."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_conforming_twin_gives_fresh_tokens_that_it_accepts(session_twin, jwt_twin):
    for twin in (session_twin, jwt_twin):
        server = arm(twin.name, twin.url)
        tokens = check(server, SEEDED, True, "/me", 3)
        assert len(set(tokens)) == 3  # a fresh login each
        assert all(request(twin.url, "GET", "/me", token=t).status == 200 for t in tokens)
        assert (server.pids(), server.log(), server.process) == ([], "", None)


def test_a_wrong_password_is_one_line_suggesting_conform(jwt_twin):
    said = failure(arm("jwt_auth", jwt_twin.url), Credentials("user00001", "wrong"))
    assert said == (
        f"external arm mine ({jwt_twin.url}) answered wrongly: POST /login as user00001 gave 400 "
        f"invalid_grant; check it with: python -m bench conform {jwt_twin.url} --kind jwt"
    )


def test_another_kind_of_server_is_named_by_its_healthz(jwt_twin):
    said = failure(arm("session", jwt_twin.url))
    assert said.startswith(f"external arm mine ({jwt_twin.url}) answered wrongly: GET /healthz")
    assert said.endswith(f"check it with: python -m bench conform {jwt_twin.url} --kind session")


def test_a_server_that_is_not_of_the_contract_is_one_line(not_the_contract):
    said = failure(arm("jwt_auth", not_the_contract))
    assert said.startswith(
        f"external arm mine ({not_the_contract}) answered wrongly: GET /healthz gave 404"
    )
    assert said.endswith(f"python -m bench conform {not_the_contract} --kind jwt")


def test_nothing_listening_is_one_line_naming_the_address():
    port = free_port("127.0.0.2")
    said = failure(arm("session", f"http://127.0.0.2:{port}"))
    assert said == (
        f"external arm mine cannot be reached: 127.0.0.2:{port}: connection refused "
        "(nothing listens there)"
    )


def test_a_token_command_s_token_is_used_and_its_failures_are_one_line(jwt_twin):
    login = (
        "import json, urllib.request; "
        f"r = urllib.request.Request('{jwt_twin.url}/login', "
        f"json.dumps({{'username': 'user00002', 'password': '{SEED_PASSWORD}'}}).encode(), "
        "{'content-type': 'application/json'}); "
        "print(json.load(urllib.request.urlopen(r))['token'])"
    )
    server = arm("jwt_auth", jwt_twin.url, "cmd")
    (token,) = check(server, Credentials("", "", (sys.executable, "-c", login)), True, "/me", 4)
    assert request(jwt_twin.url, "GET", "/me", token=token).json()["username"] == "user00002"
    failing = (sys.executable, "-c", "import sys; sys.exit('no key here')")
    assert failure(server, Credentials("", "", failing)) == (
        f"external arm cmd: token_command {sys.executable} exited with 1: no key here"
    )
    silent = (sys.executable, "-c", "pass")
    assert failure(server, Credentials("", "", silent)).endswith(
        "printed 0 words: it must print one token"
    )
    assert failure(server, Credentials("", "", ("/no/such/program",))) == (
        "external arm cmd: token_command /no/such/program: no such program"
    )
    forged = (sys.executable, "-c", "print('not-a-token')")
    assert "GET /me with a fresh token gave 401" in failure(server, Credentials("", "", forged))


def test_known_tokens_are_reused_until_the_deployment_refuses_them(session_twin):
    """Tokens are got once per run: a later check reuses them, and logs in again only when the
    deployment answers 401 (here: the session logged out)."""
    server = arm("session", session_twin.url)
    first = check(server, SEEDED, True, "/me", 2)
    assert check(server, SEEDED, True, "/me", 2, known=first) == first
    assert request(session_twin.url, "POST", "/logout", token=first[0]).status in (200, 204)
    again = check(server, SEEDED, True, "/me", 2, known=first)
    assert len(again) == 2 and not set(again) & set(first)


def test_the_conform_suggestion_is_a_shell_command_with_the_arm_s_options(tmp_path):
    folder = tmp_path / "with space"
    endpoint = Endpoint.parse("https://h:8443/auth", ca_file=str(folder / "ca.pem"))
    assert conform_command("jwt_auth", endpoint, "load tester") == (
        "python -m bench conform https://h:8443/auth --kind jwt --username 'load tester' "
        f"--ca-file '{folder / 'ca.pem'}'"
    )
    insecure = Endpoint.parse("https://h:8443", insecure=True)
    assert conform_command("session", insecure, "user00001") == (
        "python -m bench conform https://h:8443 --kind session --insecure"
    )
    assert conform_command("control", insecure) == "curl -i https://h:8443/healthz"
