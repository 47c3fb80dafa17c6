"""A deliberately raw HTTP client for the tests: any header, any bytes, duplicate headers."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    seconds: float = 0.0

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        return json.loads(self.body)

    @property
    def challenge(self) -> str | None:
        return self.header("www-authenticate")


def call(
    url: str,
    method: str,
    path: str,
    headers: list[tuple[str, str | bytes]] = (),
    body=None,
    timeout: float = 10.0,
) -> Answer:
    import time

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            conn.putheader("content-type", "application/json")
            conn.putheader("content-length", str(len(payload)))
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(payload)
        response = conn.getresponse()
        data = response.read()
        return Answer(response.status, response.getheaders(), data, time.perf_counter() - started)
    finally:
        conn.close()


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def eventually(condition, within_s: float, message: str, every_s: float = 0.05) -> None:
    """Poll `condition` until it is true; fail with `message` if it is not within `within_s`."""
    import time

    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(every_s)
