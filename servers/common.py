"""What the three servers share over HTTP: settings, RFC 6750 bearer parsing, errors,
Server-Timing, and one raw-ASGI application that routes the five endpoints. Their connections to
PostgreSQL and Redis are in servers.connections, the data they read in servers.store.

Each server only supplies an `Auth` object (its auth step); everything else is here, so that
under load the only difference between `control`, `session` and `jwt_auth` is that step. Raw
ASGI (no framework) keeps the control server's cost down to what uvicorn and httptools cost.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("authbench.server")

MAX_TOKEN_BYTES = 8 * 1024  # refused before any decoding: PyJWT will happily decode 5 MB
MAX_BODY_BYTES = 4 * 1024
# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class ConfigError(ValueError):
    """Bad configuration: reported as one line before the server starts."""


def env_float(environ: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw}")
    return value


def env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    value = env_float(environ, name, default, minimum)
    if value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {environ[name]!r}")
    return int(value)


def env_flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}")


def env_choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default)."""
    raw = environ.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    cached: bool = False  # found in the server's own cache, not in the store (Server-Timing says)

    def as_json(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "username": self.username}


# --------------------------------------------------------------------------------------------
# Errors as HTTP answers


class Problem(Exception):
    """An error answer: status, JSON body {"error", "error_description"}, extra headers."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        headers: list[tuple[bytes, bytes]] = (),
    ):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = list(headers)


REALM = "authbench"  # the protection space named in every WWW-Authenticate challenge


def _challenge(error: str | None = None, description: str | None = None) -> tuple[bytes, bytes]:
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
    if description:
        value += f', error_description="{description}"'
    return (b"www-authenticate", value.encode())


def no_credentials() -> Problem:
    """RFC 6750 3.1: no (Bearer) credentials at all: a bare challenge, no error code."""
    return Problem(401, "unauthorized", "bearer token required", [_challenge()])


def invalid_token(description: str) -> Problem:
    return Problem(401, "invalid_token", description, [_challenge("invalid_token", description)])


def invalid_request(description: str) -> Problem:
    return Problem(
        400,
        "invalid_request",
        description,
        [_challenge("invalid_request", description)],
    )


# --------------------------------------------------------------------------------------------
# Bearer parsing (RFC 6750 section 2.1)


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str:
    """The bearer token of a request, or a Problem saying exactly what is wrong with it."""
    values = [value for name, value in headers if name == b"authorization"]
    if not values:
        raise no_credentials()
    if len(values) > 1:
        raise invalid_request("more than one Authorization header")
    raw = values[0]
    scheme, _, credentials = raw.partition(b" ")
    if scheme.lower() != b"bearer":
        raise no_credentials()  # Basic, Digest, ...: not ours, answer with our challenge
    credentials = credentials.strip(b" ")
    if not credentials:
        raise invalid_request("empty bearer token")
    if len(credentials) > MAX_TOKEN_BYTES:
        raise invalid_token(f"token longer than {MAX_TOKEN_BYTES} bytes")
    try:
        token = credentials.decode("ascii")
    except UnicodeDecodeError:
        raise invalid_request("token has characters outside RFC 6750 b64token") from None
    if " " in token:
        raise invalid_request("more than one token in the Authorization header")
    if not B64TOKEN.fullmatch(token):
        raise invalid_request("token has characters outside RFC 6750 b64token")
    return token


# --------------------------------------------------------------------------------------------
# The application


class Auth(Protocol):
    """A server's auth step. `name` is what /healthz reports."""

    name: str

    async def startup(self) -> None: ...
    async def shutdown(self) -> None: ...
    async def login(self, username: str, password: str) -> dict[str, Any]: ...
    async def authenticate(self, headers: list[tuple[bytes, bytes]]) -> Principal: ...
    async def profile(
        self, headers: list[tuple[bytes, bytes]], timing: list[int]
    ) -> dict[str, Any]: ...
    async def logout(self, headers: list[tuple[bytes, bytes]]) -> None: ...


def token_response(token: str, expires_in: int) -> dict[str, Any]:
    return {"token": token, "token_type": "Bearer", "expires_in": expires_in}


NO_BODY_STATUSES = (204, 304)  # RFC 9110: no Content-Length on these
JSON_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def respond(
    send: Send, status: int, body: Any = None, headers: list[tuple[bytes, bytes]] = ()
) -> None:
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    all_headers = [*JSON_HEADERS, *headers] if body is not None else list(headers)
    if status not in NO_BODY_STATUSES:
        # Without it, uvicorn sends every answer chunked: more bytes and more work per request.
        all_headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": payload})


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Problem(400, "invalid_request", "client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Problem(413, "invalid_request", f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_credentials(body: bytes) -> tuple[str, str]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Problem(400, "invalid_request", "body must be JSON") from None
    if not isinstance(data, dict):
        raise Problem(400, "invalid_request", "body must be a JSON object")
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise Problem(400, "invalid_request", "username and password must be strings")
    return username, password


def server_timing(
    started_ns: int, ended_ns: int | None = None, cached: bool = False
) -> tuple[bytes, bytes]:
    """`Server-Timing: auth;dur=<ms>` with three decimals: microsecond resolution. The auth step
    ends now, or at `ended_ns` when more work followed it (GET /profile). A lookup answered from
    the server's own cache adds `, cache;desc=hit`, so the client can count the hit rate."""
    ended_ns = ended_ns or time.perf_counter_ns()
    value = b"auth;dur=%.3f" % ((ended_ns - started_ns) / 1e6)
    return (b"server-timing", value + b", cache;desc=hit" if cached else value)


ROUTES = {
    "/login": "POST",
    "/me": "GET",
    "/profile": "GET",
    "/logout": "POST",
    "/healthz": "GET",
}


class App:
    """The ASGI application all three servers share; `make_auth(environ)` builds the auth step.

    Nothing happens at import time: settings are read and the pool is opened in the lifespan.
    """

    def __init__(self, make_auth: Callable[[Mapping[str, str]], Auth]):
        self.make_auth = make_auth
        self.auth: Auth | None = None

    async def __call__(self, scope: dict[str, Any], receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    auth = self.make_auth(os.environ)
                    await auth.startup()
                except ConfigError as exc:
                    await send(
                        {
                            "type": "lifespan.startup.failed",
                            "message": f"authbench: {exc}",
                        }
                    )
                    return
                self.auth = auth
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.auth is not None:
                    await self.auth.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope: dict[str, Any], receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        allowed = ROUTES.get(path)
        if allowed is None:
            await respond(send, 404, {"error": "not_found", "error_description": path})
            return
        if method != allowed:
            await respond(
                send,
                405,
                {"error": "method_not_allowed", "error_description": f"use {allowed}"},
                [(b"allow", allowed.encode())],
            )
            return
        auth = self.auth
        started = time.perf_counter_ns()
        try:
            if path == "/me":
                principal = await auth.authenticate(scope["headers"])
                timing = server_timing(started, cached=principal.cached)
                await respond(send, 200, principal.as_json(), [timing])
            elif path == "/profile":
                # `timing` receives the moment the auth step ended (for a session folded into
                # the data query, that is the end of the one query).
                timing = [0]
                body = await auth.profile(scope["headers"], timing)
                await respond(send, 200, body, [server_timing(started, timing[0] or None)])
            elif path == "/healthz":
                await respond(send, 200, {"status": "ok", "server": auth.name})
            elif path == "/login":
                username, password = parse_credentials(await read_body(receive))
                await respond(send, 200, await auth.login(username, password))
            else:  # /logout
                await auth.logout(scope["headers"])
                await respond(send, 204)
        except Problem as problem:
            headers = problem.headers
            if path in ("/me", "/profile"):
                headers = [*headers, server_timing(started)]
            body = {"error": problem.error, "error_description": problem.description}
            await respond(send, problem.status, body, headers)
        except Exception:
            log.exception("unexpected error on %s %s", method, path)
            await respond(
                send,
                500,
                {"error": "server_error", "error_description": "see server log"},
            )
