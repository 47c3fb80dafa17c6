"""Forged, tampered and malformed JWTs against the running JWT servers.

docs/server-contract.md, "Tokens" (what a JWT must be) and "Errors (RFC 6750)": every one must be
a 401 with error="invalid_token" (a few are refused earlier by RFC 6750 syntax, with 400
invalid_request; none may be a 200).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from servers.jwt_auth import generate_private_key_pem
from tests.support.client import bearer, call, login
from tests.support.servers_under_test import JWT_SECRET

ISSUER, AUDIENCE = "authbench", "authbench-api"


JWT_SERVERS = {  # every implementation, and PyJWT both as documented and with the key prepared
    "python": ("python", {}),
    "python-prepared-key": ("python", {"AUTHBENCH_JWT_PREPARED_KEY": "1"}),
    "fastapi": ("fastapi", {}),
    "node": ("node", {}),
}


@pytest.fixture(scope="module", params=list(JWT_SERVERS))
def jwt_server(request, servers):
    runtime, settings = JWT_SERVERS[request.param]
    return servers.start("jwt_auth", runtime=runtime, **settings)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "1",
        "name": "user00001",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "test-jti",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def hs256(header: dict, payload, key: bytes = JWT_SECRET.encode(), digest=hashlib.sha256) -> str:
    """Sign by hand, so that any header and any payload can be built."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def good_token(**overrides) -> str:
    return hs256({"alg": "HS256", "typ": "JWT"}, claims(**overrides))


def assert_invalid_token(server, token: str) -> None:
    answer = call(server.url, "GET", "/me", bearer(token))
    assert answer.status == 401, (answer.status, answer.body)
    assert 'error="invalid_token"' in answer.challenge
    assert answer.json()["error"] == "invalid_token"


def test_the_forger_makes_tokens_the_server_accepts(jwt_server):
    """Guards every test below: a refusal must come from the case, not from the forger."""
    answer = call(jwt_server.url, "GET", "/me", bearer(good_token()))
    assert answer.status == 200
    assert answer.json() == {"user_id": 1, "username": "user00001"}


# --- algorithms ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "nOnE", "NONE"])
def test_alg_none_with_empty_signature(jwt_server, alg):
    token = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims())}."
    assert_invalid_token(jwt_server, token)


def test_header_without_alg(jwt_server):
    assert_invalid_token(jwt_server, hs256({"typ": "JWT"}, claims()))


def test_alg_outside_the_allow_list_even_with_the_right_key(jwt_server):
    token = hs256({"alg": "HS512", "typ": "JWT"}, claims(), digest=hashlib.sha512)
    assert_invalid_token(jwt_server, token)


def test_rs256_token_on_an_hs256_server(jwt_server):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(generate_private_key_pem("RS256"), password=None)
    assert_invalid_token(jwt_server, jwt.encode(claims(), key, algorithm="RS256"))


# --- signatures ---------------------------------------------------------------------------


def test_signature_stripped(jwt_server):
    head, body, _ = good_token().split(".")
    assert_invalid_token(jwt_server, f"{head}.{body}.")


def test_signature_altered(jwt_server):
    head, body, signature = good_token().split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_invalid_token(jwt_server, f"{head}.{body}.{flipped}")


def test_payload_altered_after_signing(jwt_server):
    head, _, signature = good_token().split(".")
    assert_invalid_token(jwt_server, f"{head}.{segment(claims(sub='2'))}.{signature}")


def test_signed_with_another_key(jwt_server):
    other = hs256(
        {"alg": "HS256", "typ": "JWT"}, claims(), key=b"another-secret-of-32-bytes-or-more!!"
    )
    assert_invalid_token(jwt_server, other)


def test_signed_with_an_empty_hmac_key(jwt_server):
    assert_invalid_token(jwt_server, hs256({"alg": "HS256", "typ": "JWT"}, claims(), key=b""))


# --- claims -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"])
def test_each_required_claim_missing(jwt_server, missing):
    assert_invalid_token(jwt_server, good_token(**{missing: None}))


def test_expired_by_one_second_with_zero_leeway(jwt_server):
    now = int(time.time())
    assert_invalid_token(jwt_server, good_token(iat=now - 60, nbf=now - 60, exp=now - 1))


def test_not_before_in_the_future(jwt_server):
    assert_invalid_token(jwt_server, good_token(nbf=int(time.time()) + 30))


def test_issued_in_the_future(jwt_server):
    assert_invalid_token(jwt_server, good_token(iat=int(time.time()) + 30))


@pytest.mark.parametrize("issuer", ["evil", "auth", "authbenc", "authbench-evil", "xauthbench", ""])
def test_wrong_issuer_including_prefix_and_substring(jwt_server, issuer):
    assert_invalid_token(jwt_server, good_token(iss=issuer))


@pytest.mark.parametrize(
    "audience",
    ["other-api", "authbench", "authbench-ap", ["authbench-api"], ["authbench-api", "other-api"]],
    ids=["other", "prefix-of-issuer", "prefix", "list-of-one", "list"],
)
def test_wrong_audience_and_audience_lists(jwt_server, audience):
    assert_invalid_token(jwt_server, good_token(aud=audience))


@pytest.mark.parametrize("sub", ["admin", "1; DROP TABLE authbench.users", 1, ""])
def test_subject_that_is_not_a_user_id(jwt_server, sub):
    assert_invalid_token(jwt_server, good_token(sub=sub))


# --- headers that would steer key lookup ---------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"kid": "../../../../dev/null"},
        {"kid": "' UNION SELECT 'secret' --"},
        {"jku": "http://127.0.0.1:9/keys.json"},
        {"x5u": "http://127.0.0.1:9/cert.pem"},
        {"jwk": {"kty": "oct", "k": b64(b"attacker-key-of-at-least-32-bytes!!")}},
        {"x5c": ["MIIB"]},
    ],
    ids=["kid-path-traversal", "kid-sql", "jku", "x5u", "embedded-jwk", "x5c"],
)
@pytest.mark.parametrize("signer", ["our-key", "attacker-key"])
def test_key_steering_headers_are_refused(jwt_server, extra, signer):
    """No file, database or network access follows from them: even signed with our own key,
    a header the server does not expect is refused."""
    key = JWT_SECRET.encode() if signer == "our-key" else b"attacker-key-of-at-least-32-bytes!!"
    assert_invalid_token(jwt_server, hs256({"alg": "HS256", "typ": "JWT", **extra}, claims(), key))


@pytest.mark.parametrize("crit", [["exp"], ["made-up"], "b64", [], [1]])
def test_unknown_or_malformed_crit(jwt_server, crit):
    assert_invalid_token(jwt_server, hs256({"alg": "HS256", "typ": "JWT", "crit": crit}, claims()))


# --- structure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "a",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "eyJhbGciOiJIUzI1NiJ9.x.y",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.a",
        "...",
        "e30.e30.",
    ],
    ids=[
        "one-segment",
        "two",
        "four",
        "five-jwe-like",
        "bad-base64",
        "short-signature",
        "dots",
        "empty-json",
    ],
)
def test_structurally_broken_tokens(jwt_server, token):
    assert_invalid_token(jwt_server, token)


def test_whitespace_inside_a_token_is_refused(jwt_server):
    head, body, signature = good_token().split(".")
    for value in (f"{head}. {body}.{signature}", f"{head}.{body}\t.{signature}"):
        answer = call(jwt_server.url, "GET", "/me", [("Authorization", f"Bearer {value}")])
        assert answer.status == 400  # not a b64token (RFC 6750 2.1): refused before decoding


@pytest.mark.parametrize("payload", [[1, 2, 3], "a string", 42, None])
def test_payload_that_is_not_a_json_object(jwt_server, payload):
    assert_invalid_token(jwt_server, hs256({"alg": "HS256", "typ": "JWT"}, payload))


def test_deeply_nested_json_header(jwt_server):
    header = b64(b"[" * 5000 + b"]" * 5000)
    assert_invalid_token(jwt_server, f"{header}.{segment(claims())}.sig")


def test_deeply_nested_json_payload_with_a_valid_signature(jwt_server):
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{b64(b'[' * 4000 + b']' * 4000)}"
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert_invalid_token(jwt_server, f"{signing_input}.{b64(signature)}")


def test_server_issued_token_round_trips_and_carries_every_claim(jwt_server):
    token = login(jwt_server)
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert {"exp", "iat", "nbf", "iss", "aud", "sub", "jti"} <= payload.keys()
    assert payload["exp"] - payload["iat"] == 3600


# --- asymmetric servers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def rs256(servers, tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("keys")) / "rs256.pem"
    path.write_bytes(generate_private_key_pem("RS256"))
    server = servers.start(
        "jwt_auth", AUTHBENCH_JWT_ALG="RS256", AUTHBENCH_JWT_PRIVATE_KEY=str(path)
    )
    return server, path


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_asymmetric_algorithms_serve_their_own_tokens(servers, alg):
    server = servers.start("jwt_auth", AUTHBENCH_JWT_ALG=alg)
    token = login(server)
    assert jwt.get_unverified_header(token)["alg"] == alg
    assert call(server.url, "GET", "/me", bearer(token)).status == 200
    assert_invalid_token(server, good_token())  # an HS256 token is not accepted


def test_public_key_used_as_hmac_secret_is_refused(rs256):
    """The classic algorithm-confusion attack: sign HS256 with the server's public key."""
    server, path = rs256
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    public = load_pem_private_key(path.read_bytes(), password=None).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public).encode()
    for secret in (pem, pem.strip(), jwk):
        assert_invalid_token(server, hs256({"alg": "HS256", "typ": "JWT"}, claims(), key=secret))
    assert call(server.url, "GET", "/me", bearer(login(server))).status == 200


# --- NumericDate claims are JSON numbers (RFC 7519 section 2) ------------------------------


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("as_what", ["numeric string", "boolean"])
def test_numeric_dates_must_be_numbers(jwt_server, claim, as_what):
    """PyJWT converts a string date with int(); the server refuses it before that matters."""
    now = int(time.time())
    valid = {"exp": now + 600, "nbf": now, "iat": now}[claim]
    value = str(valid) if as_what == "numeric string" else True
    assert_invalid_token(jwt_server, good_token(**{claim: value}))
    # A boolean exp may already fail PyJWT's own expiry check; jsonwebtoken (Node) refuses string
    # dates itself, in its own words. Where PyJWT decides, our own check must have come first.
    if as_what == "numeric string" and jwt_server.runtime != "node":
        answer = call(jwt_server.url, "GET", "/me", bearer(good_token(**{claim: value})))
        assert f"{claim} is not a NumericDate" in answer.json()["error_description"]


def test_fractional_numeric_dates_are_numbers_and_accepted(jwt_server):
    now = time.time()
    token = good_token(iat=now - 1.5, nbf=now - 1.5, exp=now + 600.25)
    assert call(jwt_server.url, "GET", "/me", bearer(token)).status == 200


# --- several workers share one key -------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["HS256", "ES256"])
def test_tokens_from_any_worker_are_accepted_by_every_worker(pg, tmp_path, algorithm):
    """`--workers 2` with no key given: the key is made once and shared, so a token signed by
    one worker verifies on the other. Fresh connections land on either worker; with separate
    keys about half of these checks would fail."""
    from bench.system.server_process import ServerProcess

    env = {"DATABASE_URL": pg.url, "AUTHBENCH_JWT_ALG": algorithm}
    with ServerProcess("jwt_auth", env, workers=2, log_path=tmp_path / "jwt.log") as server:
        deadline = time.monotonic() + 15
        while len(server.pids()) < 3:  # the supervisor and both workers
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        time.sleep(1.0)  # the second worker is listening too, not just forked
        tokens = [login(server, f"user{n:05d}") for n in range(1, 21)]
        for token in tokens:
            for _ in range(2):
                answer = call(server.url, "GET", "/me", bearer(token))
                assert answer.status == 200, (answer.status, answer.body)


def test_a_shared_generated_key_leaves_no_key_file_behind():
    """The generated key travels to the workers in the environment: no PEM file in /tmp that
    a server ended by SIGTERM (uvicorn re-raises it, skipping atexit) would leave behind."""
    import tempfile
    from pathlib import Path

    from servers.jwt_auth import SHARED_KEY_PEM, JwtSettings, share_jwt_keys

    before = set(Path(tempfile.gettempdir()).glob("authbench-jwt-*.pem"))
    env = {"DATABASE_URL": "postgresql://unused/", "AUTHBENCH_JWT_ALG": "EdDSA"}
    share_jwt_keys(env)
    assert env[SHARED_KEY_PEM].startswith("-----BEGIN PRIVATE KEY-----")
    assert "AUTHBENCH_JWT_PRIVATE_KEY" not in env
    one, two = JwtSettings.from_env(env), JwtSettings.from_env(env)
    assert one.verify_key.public_bytes_raw() == two.verify_key.public_bytes_raw()
    assert set(Path(tempfile.gettempdir()).glob("authbench-jwt-*.pem")) == before
