"""The conformance catalogue's parts: the target, what a case returns, tokens signed by hand,
and the predicates for what must come back (RFC 6750 challenges, Server-Timing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.system.oneshot import Reply, request

KINDS = ("session", "jwt")


@dataclass
class Target:
    """The server under test and what the catalogue may use against it."""

    url: str
    kind: str
    secret: bytes | None = None
    issuer: str = "authbench"
    audience: str = "authbench-api"
    username: str = "user00001"
    password: str = "authbench-password"
    revokes: bool | None = None  # JWT: does logout revoke (a denylist)? session: always
    _token: str | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80

    def get(
        self, path: str = "/me", headers: dict[str, str] | None = None, token: str | None = None
    ) -> Reply:
        return request(self.port, "GET", path, headers=headers, token=token)

    def login(self) -> str:
        reply = request(
            self.port, "POST", "/login", body={"username": self.username, "password": self.password}
        )
        if reply.status != 200:
            raise ConformError(f"cannot log in as {self.username}: POST /login gave {reply.status}")
        return reply.json()["token"]

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.login()
        return self._token


class ConformError(RuntimeError):
    """The catalogue cannot run against this server; the message says why in one line."""


@dataclass(frozen=True)
class Result:
    case: str
    outcome: str  # pass, fail, skip
    sent: str
    got: str


@dataclass(frozen=True)
class Case:
    name: str
    kinds: tuple[str, ...]
    run: Callable[[Target], tuple[str, Reply, Callable[[Reply], bool], str]]
    needs_secret: bool = False


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def sign(header: dict, payload, key: bytes, digest=hashlib.sha256) -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), digest).digest())}"


def claims(t: Target, **changes) -> dict:
    now = int(time.time())
    base = {
        "iss": t.issuer,
        "aud": t.audience,
        "sub": "1",
        "name": t.username,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": secrets.token_urlsafe(8),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(t: Target, header: dict | None = None, **changes) -> str:
    return sign(header or {"alg": "HS256", "typ": "JWT"}, claims(t, **changes), t.secret)


# What must come back -----------------------------------------------------------------------


def challenge_error(reply: Reply) -> str | None:
    value = reply.headers.get("www-authenticate", "")
    if not value.startswith("Bearer"):
        return "none"
    return value.split('error="', 1)[1].split('"', 1)[0] if 'error="' in value else ""


def invalid_token(reply: Reply) -> bool:
    return reply.status == 401 and challenge_error(reply) == "invalid_token"


def refused(reply: Reply) -> bool:
    """401 invalid_token, or 400 invalid_request (refused earlier, by RFC 6750 syntax)."""
    return invalid_token(reply) or (
        reply.status == 400 and challenge_error(reply) == "invalid_request"
    )


def invalid_request(reply: Reply) -> bool:
    return reply.status == 400 and challenge_error(reply) == "invalid_request"


def bare_challenge(reply: Reply) -> bool:
    return reply.status == 401 and challenge_error(reply) == ""


def ok(reply: Reply) -> bool:
    return reply.status == 200


def with_timing(check: Callable[[Reply], bool]) -> Callable[[Reply], bool]:
    return lambda r: check(r) and r.headers.get("server-timing", "").startswith("auth;dur=")


def bearer(value: str) -> dict[str, str]:
    return {"authorization": value}


# The catalogue ---------------------------------------------------------------------------


def register_case(name: str, kinds: tuple[str, ...], needs_secret: bool = False):
    def register(fn):
        CATALOGUE.append(Case(name, kinds, fn, needs_secret))
        return fn

    return register


CATALOGUE: list[Case] = []
BOTH = KINDS


def raw_get(t: Target, headers: list[tuple[str, str]]) -> Reply:
    """GET /me with headers given as a list (the same header twice)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=5)
    started = time.perf_counter()
    try:
        conn.putrequest("GET", "/me")
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        answer = conn.getresponse()
        body = answer.read()
        return Reply(
            answer.status,
            (time.perf_counter() - started) * 1000,
            body,
            {k.lower(): v for k, v in answer.getheaders()},
        )
    except (OSError, http.client.HTTPException):
        return Reply(0, (time.perf_counter() - started) * 1000)
    finally:
        conn.close()
