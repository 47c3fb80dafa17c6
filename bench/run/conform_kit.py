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

from bench.system.http_client import Endpoint, Headers, LoginFailed, Reply, login, request

KINDS = ("session", "jwt")


@dataclass
class Target:
    """The server under test (its base URL, and how its certificate is trusted) and what the
    catalogue may use against it."""

    url: str
    kind: str
    secret: bytes | None = None
    issuer: str = "authbench"
    audience: str = "authbench-api"
    username: str = "user00001"
    password: str = "authbench-password"
    revokes: bool | None = None  # JWT: does logout revoke (a denylist)? session: always
    ca_file: str | None = None  # https: trust the CAs in this PEM file (else the system's)
    insecure: bool = False  # https: do not check the certificate at all
    _token: str | None = field(default=None, repr=False)
    endpoint: Endpoint = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.endpoint = Endpoint.parse(self.url, ca_file=self.ca_file, insecure=self.insecure)

    def call(self, method: str, path: str, **options) -> Reply:
        """One request under the URL (`token`, `body`, `headers`); status 0 if no answer."""
        return request(self.endpoint, method, path, timeout=10.0, **options)

    def get(self, path: str = "/me", headers: Headers = (), token: str | None = None) -> Reply:
        return self.call("GET", path, headers=headers, token=token)

    def login(self) -> str:
        try:
            return login(self.endpoint, self.username, self.password)
        except LoginFailed as exc:
            raise ConformError(f"cannot log in: {exc}") from None

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.login()
        return self._token


class ConformError(RuntimeError):
    """The catalogue cannot run against this server; the message says why in one line."""


class Skipped(Exception):
    """A case that does not apply to this target; the message says why."""


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
