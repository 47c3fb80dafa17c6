"""One HTTP request on a fresh loopback connection: the harness's only hand-made client.

Used to check a server's answers before load (`verify`), to probe it during the experiments,
and to poll readiness. Never raises for a missing answer: status 0 says there was none.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int  # 0: no answer (refused, reset, timed out)
    ms: float
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> Reply:
    """`method path` to 127.0.0.1:port, with a bearer token and/or a JSON body if given."""
    sent = dict(headers or {})
    if token:
        sent["authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        sent["content-type"] = "application/json"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        data = response.read()
        return Reply(
            response.status,
            (time.perf_counter() - started) * 1000,
            data,
            {k.lower(): v for k, v in response.getheaders()},
        )
    except (OSError, http.client.HTTPException):
        return Reply(0, (time.perf_counter() - started) * 1000)
    finally:
        conn.close()
