"""The catalogue's cases beyond an HTTP stack's own limits (docs/server-contract.md): requests
that a parser may refuse, or that most clients never send, as raw bytes.

Each must get an answer, never a reset: a 1 MiB Authorization header, a 5,000-byte path, a
request half-closed by the client after sending it. The bytes go through the harness's client
(`bench.system.http_client.exchange`), so they reach the URL's host, under its prefix, over TLS
when it is https; an answer with `Connection: close` is read to the end of the connection, so
that an RST after it fails the case.
"""

from __future__ import annotations

from bench.run.conform_kit import BOTH, Skipped, challenge_error, register_case
from bench.system.http_client import Endpoint, Exchange, Reply, exchange

__all__ = ["Exchange", "exchange", "get", "huge_token", "long_path"]

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
