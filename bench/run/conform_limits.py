"""The catalogue's cases beyond an HTTP stack's own limits (docs/server-contract.md): requests
that a parser refuses, or that most clients never send, over a raw socket.

Each must get an answer, never a reset: a 1 MiB Authorization header, a 5,000-byte path, a
request half-closed by the client after sending it, malformed request lines and headers, and
random bytes. A server that refuses must answer, close with a FIN, and read what the client is
still sending in the meantime: closing a socket with unread data sends an RST, and the client
then sees `ConnectionResetError` instead of the answer.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass

from bench.run.conform_kit import BOTH, challenge_error, register_case
from bench.system.oneshot import Reply

ONE_MIB = 1 << 20


@dataclass(frozen=True)
class Exchange:
    """One raw request and its first answer; `error` says what went wrong on the wire, if anything:
    "" (a clean answer), "reset", "timeout", "closed without an answer" or another OSError."""

    reply: Reply
    error: str
    raw: bytes

    @property
    def answered(self) -> bool:
        return self.reply.status > 0 and not self.error


def exchange(
    port: int, data: bytes, *, half_close: bool = False, timeout: float = 10.0
) -> Exchange:
    """Send `data` as it is on a fresh connection to 127.0.0.1:port (then shut down the sending
    side if `half_close`), and read the first answer: up to its content-length, or to the close
    for an answer with `Connection: close` or without a length (so that a reset after it counts)."""
    started = time.perf_counter()
    received, error = b"", ""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            while not _complete(received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
    except (ConnectionResetError, BrokenPipeError):
        error = "reset"
    except TimeoutError:
        error = "timeout"
    except OSError as exc:  # refused, unreachable
        error = type(exc).__name__
    reply = _parse(received, (time.perf_counter() - started) * 1000)
    if not error and reply.status == 0:
        error = "closed without an answer"
    return Exchange(reply, error, received)


def _split(received: bytes) -> tuple[bytes, bytes] | None:
    head, sep, body = received.partition(b"\r\n\r\n")
    return (head, body) if sep else None


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _complete(received: bytes) -> bool:
    """The first answer is all here, and the server keeps the connection open after it."""
    parts = _split(received)
    if parts is None:
        return False
    headers = _headers(parts[0])
    if headers.get("connection", "").lower() == "close" or "content-length" not in headers:
        return False  # read to the close: a reset after the answer must show
    return len(parts[1]) >= int(headers["content-length"])


def _parse(received: bytes, ms: float) -> Reply:
    parts = _split(received)
    status_line = received.split(b"\r\n", 1)[0].split()
    if parts is None or len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1."):
        return Reply(0, ms)
    headers = _headers(parts[0])
    body = parts[1][: int(headers["content-length"])] if "content-length" in headers else parts[1]
    return Reply(int(status_line[1]), ms, body, headers)


# The requests ----------------------------------------------------------------------------


def get(path: str = "/me", headers: dict[str, str] | None = None, close: bool = True) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["Connection: close"] if close else []
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def huge_token() -> bytes:
    return get(headers={"Authorization": "Bearer " + "a" * ONE_MIB})


def long_path() -> bytes:
    return get("/" + "a" * 4999)


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
    """The reply, or for a failure on the wire an empty one (the catalogue prints "no answer")."""
    return ex.reply if ex.answered else Reply(0, ex.reply.ms)


def _huge_header_answer(r: Reply) -> bool:
    return r.status in (400, 431) or (r.status == 401 and challenge_error(r) == "invalid_token")


@register_case("a 1 MiB Authorization header: 431, 400 or 401 invalid_token, never a reset", BOTH)
def _huge_header(t):
    reply = _described(exchange(t.port, huge_token()))
    return (
        "Authorization: Bearer <1 MiB>",
        reply,
        _huge_header_answer,
        "431, 400 or 401 invalid_token",
    )


@register_case("a 5,000-byte path: 414, 400 or 404, never a reset", BOTH)
def _long_path(t):
    reply = _described(exchange(t.port, long_path()))
    return (
        "GET /aaaa... (5,000 bytes)",
        reply,
        lambda r: r.status in (400, 404, 414),
        "414, 400 or 404",
    )


@register_case("a request half-closed by the client after sending: the whole answer", BOTH)
def _half_closed(t):
    request = get(headers={"Authorization": f"Bearer {t.token}"}, close=False)
    reply = _described(exchange(t.port, request, half_close=True))

    def whole(r: Reply) -> bool:
        return r.status == 200 and r.json().get("username") == t.username

    return "GET /me, then shutdown(SHUT_WR)", reply, whole, "200 with the user"


for _name, _data in MALFORMED.items():

    @register_case(f"{_name}: 400, never a reset", BOTH)
    def _malformed(t, _name=_name, _data=_data):
        sent = repr(_data[:48])[2:-1] + ("..." if len(_data) > 48 else "")
        return sent, _described(exchange(t.port, _data)), lambda r: r.status == 400, "400"


@register_case("256 KiB of random bytes: 400, never a reset", BOTH)
def _random(t):
    reply = _described(exchange(t.port, random_bytes(2026)))
    return "random bytes (seed 2026)", reply, lambda r: r.status == 400, "400"
