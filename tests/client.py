"""The tests' names for the harness's one HTTP client (bench.system.http_client).

`call(url, method, path, headers, body=...)` is its `send`: any header, a name repeated, bytes
as they are, an `Answer` (`status`, `headers`, `header()`, `challenge`, `json()`, `seconds`), and
a one-line typed failure when no answer comes.
"""

from __future__ import annotations

import time

from bench.system.http_client import Reply as Answer
from bench.system.http_client import send as call

__all__ = ["Answer", "bearer", "call", "eventually"]


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def eventually(condition, within_s: float, message: str, every_s: float = 0.05) -> None:
    """Poll `condition` until it is true; fail with `message` if it is not within `within_s`."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(every_s)
