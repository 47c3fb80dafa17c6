"""The harness's one HTTP client: a base URL, and requests against it on a fresh connection each.

An `Endpoint` is what a base URL says (scheme, host, port, path prefix: with
`https://api.example.com/auth` the contract's `/me` is `/auth/me`) and how its certificate is
trusted (the system's store, `ca_file`, or `insecure`). The Host header is the URL's host (and
port when it is not the scheme's own); TLS sends the URL's host name as SNI and checks the
certificate against it, not against the address it resolved to.

- `send`: one request; a failure raises one of the `HttpFailure`s, whose message is one line
  naming the address: `Unreachable` (refused, no such host, no connection in time),
  `TlsRefused` (the certificate or the handshake), `NoAnswer` (connected, then nothing).
- `request`: the same, never raising: status 0, and the failure's line in `Reply.failure`. The
  harness's readiness poll and answer checks, and the conformance catalogue, use it.
- `exchange`: bytes sent as they are (malformed requests, a 1 MiB header), optionally
  half-closed after sending, and the first answer read, to the close when the server closes,
  so that a reset after the answer shows.

Anywhere a target is taken, a port alone means 127.0.0.1 over plain HTTP.
"""

from __future__ import annotations

import functools
import http.client
import json
import socket
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class HttpFailure(ConnectionError):
    """A request that got no HTTP answer; the message says why in one line."""


class BadTarget(HttpFailure):
    """A URL or a CA file that cannot be used."""


class Unreachable(HttpFailure):
    """No connection: refused, no such host, or not within the timeout."""


class TlsRefused(HttpFailure):
    """Connected, but TLS failed: the certificate was refused, or the handshake."""


class NoAnswer(HttpFailure):
    """Connected (and TLS done), then no answer: closed, reset, timed out, or not HTTP."""


@dataclass(frozen=True)
class Endpoint:
    """A server's base URL, and how to trust its certificate."""

    scheme: str = "http"
    host: str = "127.0.0.1"
    port: int = 80
    prefix: str = ""  # "" or "/auth": the contract's routes under it
    ca_file: str | None = None
    insecure: bool = False

    @classmethod
    def parse(cls, url: str, *, ca_file: str | None = None, insecure: bool = False) -> Endpoint:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if "@" in parts.netloc:  # user info may be a password: never echoed
            url = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
        if scheme not in DEFAULT_PORTS:
            raise BadTarget(f"{url}: not an http:// or https:// URL")
        if not parts.hostname:
            raise BadTarget(f"{url}: no host name")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise BadTarget(f"{url}: a base URL has no query, fragment or user name")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise BadTarget(f"{url}: the port is not a number from 1 to 65535") from None
        prefix = parts.path.rstrip("/")
        return cls(scheme, parts.hostname, port, prefix, ca_file, insecure)

    @classmethod
    def local(cls, port: int, host: str = "127.0.0.1") -> Endpoint:
        return cls("http", host, port)

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def address(self) -> str:
        """host:port, as failures name it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.prefix}"

    def path(self, path: str) -> str:
        """A contract path ("/me") under this URL's prefix."""
        return self.prefix + path

    def context(self) -> ssl.SSLContext:
        return _tls_context(self.ca_file, self.insecure)

    def __str__(self) -> str:
        return self.url


def endpoint_of(target: Endpoint | str | int) -> Endpoint:
    if isinstance(target, Endpoint):
        return target
    if isinstance(target, int):
        return Endpoint.local(target)
    return Endpoint.parse(target)


@functools.lru_cache(maxsize=8)
def _tls_context(ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    """Verification on, with the system's trust store or the given CAs; or off, if asked."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise BadTarget(f"cannot use the CA file {ca_file}: {exc.strerror or exc}") from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(endpoint: Endpoint, timeout: float) -> socket.socket:
    """A connected socket, TLS done if https (SNI: the URL's host name); or a typed failure."""
    where = endpoint.address
    context = endpoint.context() if endpoint.tls else None  # a CA file that cannot be used: first
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    except socket.gaierror as exc:
        raise Unreachable(f"{where}: cannot resolve {endpoint.host} ({exc.strerror})") from None
    except ConnectionRefusedError:
        raise Unreachable(f"{where}: connection refused (nothing listens there)") from None
    except TimeoutError:
        raise Unreachable(f"{where}: no connection within {timeout:g} s") from None
    except OSError as exc:
        raise Unreachable(f"{where}: cannot connect ({exc.strerror or exc})") from None
    if context is None:
        return sock
    try:
        return context.wrap_socket(sock, server_hostname=endpoint.host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise TlsRefused(f"{endpoint.url}: TLS verification failed: {exc.verify_message}") from None
    except ssl.SSLError as exc:
        sock.close()
        said = exc.reason or str(exc)
        raise TlsRefused(f"{endpoint.url}: TLS handshake failed: {said}") from None
    except OSError as exc:
        sock.close()
        said = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise NoAnswer(f"{endpoint.url}: no TLS handshake ({said})") from None
    except BaseException:
        sock.close()
        raise


@dataclass
class Reply:
    """An answer, or its absence (status 0, and `failure` says why)."""

    status: int
    ms: float
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    failure: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def challenge(self) -> str | None:
        return self.headers.get("www-authenticate")

    @property
    def seconds(self) -> float:
        return self.ms / 1000


Headers = Mapping[str, str] | Iterable[tuple[str, str | bytes]]


def send(
    target: Endpoint | str | int,
    method: str,
    path: str,
    headers: Headers = (),
    *,
    body: Any = None,
    token: str | None = None,
    timeout: float = 10.0,
) -> Reply:
    """`method path` (under the URL's prefix) on a fresh connection; `headers` as given (a list
    may repeat a name), a bearer `token`, and a `body` sent as JSON (bytes as they are)."""
    endpoint = endpoint_of(target)
    headers = headers or ()
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    if token:
        pairs.append(("Authorization", f"Bearer {token}"))
    payload = None
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        pairs += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if not any(name.lower() == "host" for name, _ in pairs):
        pairs.insert(0, ("Host", endpoint.host_header))
    started = time.perf_counter()
    conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    conn.sock = connect(endpoint, timeout)
    try:
        conn.putrequest(method, endpoint.path(path), skip_host=True, skip_accept_encoding=True)
        for name, value in pairs:
            conn.putheader(name, value)
        conn.endheaders(payload)
        answer = conn.getresponse()
        data = answer.read()
    except (OSError, http.client.HTTPException) as exc:
        raise NoAnswer(f"{endpoint.address}: {_what(exc)} to {method} {path}") from None
    finally:
        conn.close()
    ms = (time.perf_counter() - started) * 1000
    return Reply(answer.status, ms, data, {k.lower(): v for k, v in answer.getheaders()})


def _what(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "connection reset, no answer"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed, no answer"
    if isinstance(exc, http.client.HTTPException):
        return f"not an HTTP answer ({type(exc).__name__})"
    return f"no answer ({exc.strerror or exc})" if isinstance(exc, OSError) else str(exc)


def request(
    target: Endpoint | str | int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: Headers = (),
    timeout: float = 5.0,
) -> Reply:
    """`send`, never raising for a missing answer: status 0, the reason in `failure`."""
    started = time.perf_counter()
    try:
        return send(target, method, path, headers, body=body, token=token, timeout=timeout)
    except HttpFailure as exc:
        return Reply(0, (time.perf_counter() - started) * 1000, failure=str(exc))


# Raw bytes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """Raw bytes sent, and the first answer. `error` says what went wrong on the wire: ""
    (a clean answer), "reset", "timeout", "closed without an answer", or why there was no
    connection at all (then `reply.failure` says it too)."""

    reply: Reply
    error: str
    raw: bytes

    @property
    def answered(self) -> bool:
        return self.reply.status > 0 and not self.error


def exchange(
    target: Endpoint | str | int, data: bytes, *, half_close: bool = False, timeout: float = 10.0
) -> Exchange:
    """Send `data` as it is on a fresh connection (then shut down the sending side if
    `half_close`), and read the first answer: up to its Content-Length, or to the close for an
    answer with `Connection: close` or without a length (so that a reset after it counts)."""
    endpoint = endpoint_of(target)
    started = time.perf_counter()
    received, error = b"", ""
    try:
        sock = connect(endpoint, timeout)
    except HttpFailure as exc:
        reply = Reply(0, (time.perf_counter() - started) * 1000, failure=str(exc))
        return Exchange(reply, str(exc), b"")
    with sock:
        try:
            sock.sendall(data)
            if half_close:  # a TCP FIN (SSLSocket.shutdown would drop TLS and read ciphertext)
                socket.socket.shutdown(sock, socket.SHUT_WR)
            while not _complete(received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ssl.SSLEOFError:
            pass  # closed without TLS's close_notify: the end of what it sent
        except (ConnectionResetError, BrokenPipeError):
            error = "reset"
        except TimeoutError:
            error = "timeout"
        except OSError as exc:
            error = exc.strerror or type(exc).__name__
    reply = _parse(received, (time.perf_counter() - started) * 1000)
    if not error and reply.status == 0:
        error = "closed without an answer"
    if error:
        reply.failure = f"{endpoint.address}: {error}"
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


# The contract's login ---------------------------------------------------------------------------


class LoginFailed(Exception):
    """POST /login gave no token; the message says what it gave, in one line."""


def said(reply: Reply) -> str:
    """An answer in a few words: its status and error code, or why there was none."""
    if not reply.status:
        return reply.failure
    try:
        error = reply.json().get("error")
    except (ValueError, AttributeError):
        error = None
    return f"{reply.status} {error}" if error else f"{reply.status}: {reply.body[:120]!r}"


def login(target: Endpoint | str | int, username: str, password: str, timeout: float = 10.0) -> str:
    """A token from the contract's POST /login as `username`; LoginFailed (one line) else. The
    one login of the harness: external arms, `bench conform`, `bench xcheck`."""
    body = {"username": username, "password": password}
    reply = request(target, "POST", "/login", body=body, timeout=timeout)
    try:
        token = reply.json().get("token") if reply.status == 200 else None
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise LoginFailed(f"POST /login as {username} gave {said(reply)}")
    return token
