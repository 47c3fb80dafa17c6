"""The catalogue's cases beyond an HTTP stack's own limits (docs/server-contract.md): requests
that a parser refuses, or that most clients never send, as raw bytes.

Each must get an answer, never a reset: a 1 MiB Authorization header, a 5,000-byte path, a
request half-closed by the client after sending it, malformed request lines and headers, and
random bytes. A server that refuses must answer, close with a FIN, and read what the client is
still sending in the meantime: closing a socket with unread data sends an RST, and the client
then sees `ConnectionResetError` instead of the answer.

The bytes go through the harness's client (`bench.system.http_client.exchange`), so they reach
the URL's host, under its prefix, over TLS when it is https; an answer with `Connection: close`
is read to the end of the connection, so that an RST after it fails the case.
"""

from __future__ import annotations

import random

from bench.run.conform_kit import BOTH, Skipped, challenge_error, register_case
from bench.system.http_client import Endpoint, Exchange, Reply, exchange

__all__ = ["MALFORMED", "Exchange", "exchange", "get", "huge_token", "long_path", "random_bytes"]

ONE_MIB = 1 << 20
LOCAL = Endpoint()


def get(
    path: str = "/me",
    headers: dict[str, str] | None = None,
    close: bool = True,
    base: Endpoint = LOCAL,
) -> bytes:
    """A GET request's bytes, for `base` (its Host, under its prefix)."""
    lines = [f"GET {base.path(path)} HTTP/1.1", f"Host: {base.host_header}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["Connection: close"] if close else []
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def huge_token(base: Endpoint = LOCAL) -> bytes:
    return get(headers={"Authorization": "Bearer " + "a" * ONE_MIB}, base=base)


def long_path(base: Endpoint = LOCAL) -> bytes:
    return get("/" + "a" * 4999, base=base)


MALFORMED = {
    "a malformed request line": b"GET /me HTTP/1.1 extra\r\nHost: 127.0.0.1\r\n\r\n",
    "a request line that is not HTTP": b"GARBAGE\r\n\r\n",
    "a header line without a colon": b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n",
    "a NUL byte in the path": b"GET /m\x00e HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "Content-Length and Transfer-Encoding both": (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "a malformed header with 1 MiB of body behind it": (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\nNo colon\r\n\r\n"
        + b"x" * ONE_MIB
    ),
}


def random_bytes(seed: int, size: int = 256 * 1024) -> bytes:
    """`size` random bytes (seeded): no HTTP method starts with them, in practice."""
    return random.Random(seed).randbytes(size)


# The cases -------------------------------------------------------------------------------


def _described(ex: Exchange) -> Reply:
    """The reply, or for a failure on the wire an empty one that says what happened."""
    if ex.answered:
        return ex.reply
    return Reply(0, ex.reply.ms, failure=ex.reply.failure or ex.error)


def _huge_header_answer(r: Reply) -> bool:
    refused = r.status in (400, 413, 431)
    return refused or (r.status == 401 and challenge_error(r) == "invalid_token")


@register_case("a 1 MiB Authorization header: 431, 413, 400 or 401 invalid_token, no reset", BOTH)
def _huge_header(t):
    reply = _described(exchange(t.endpoint, huge_token(t.endpoint)))
    return (
        "Authorization: Bearer <1 MiB>",
        reply,
        _huge_header_answer,
        "431, 413, 400 or 401 invalid_token",
    )


@register_case("a 5,000-byte path: 414, 400 or 404, never a reset", BOTH)
def _long_path(t):
    reply = _described(exchange(t.endpoint, long_path(t.endpoint)))
    return (
        "GET /aaaa... (5,000 bytes)",
        reply,
        lambda r: r.status in (400, 404, 414),
        "414, 400 or 404",
    )


@register_case("a request half-closed by the client after sending: the whole answer", BOTH)
def _half_closed(t):
    if t.endpoint.tls:  # asyncio's TLS, for one, closes at a FIN: that is not the server's doing
        raise Skipped("over https a client's FIN ends the TLS session: checked over http only")
    request = get(headers={"Authorization": f"Bearer {t.token}"}, close=False, base=t.endpoint)
    reply = _described(exchange(t.endpoint, request, half_close=True))

    def whole(r: Reply) -> bool:
        return r.status == 200 and r.json().get("username") == t.username

    return "GET /me, then shutdown(SHUT_WR)", reply, whole, "200 with the user"


for _name, _data in MALFORMED.items():

    @register_case(f"{_name}: 400, never a reset", BOTH)
    def _malformed(t, _name=_name, _data=_data):
        sent = repr(_data[:48])[2:-1] + ("..." if len(_data) > 48 else "")
        return sent, _described(exchange(t.endpoint, _data)), lambda r: r.status == 400, "400"


@register_case("256 KiB of random bytes: 400, never a reset", BOTH)
def _random(t):
    reply = _described(exchange(t.endpoint, random_bytes(2026)))
    return "random bytes (seed 2026)", reply, lambda r: r.status == 400, "400"
