"""The tests' names for the harness's one HTTP client (bench.system.http_client).

`call(url, method, path, headers, body=...)` is its `send`: any header, a name repeated, bytes
as they are, an `Answer` (`status`, `headers`, `header()`, `challenge`, `json()`, `seconds`), and
a one-line typed failure when no answer comes. `login` gets a token from a running server;
`assert_unavailable` is the contract's answer when a store is in trouble.
"""

from __future__ import annotations

import time

from bench.system.http_client import Reply as Answer
from bench.system.http_client import login as http_login
from bench.system.http_client import send as call
from bench.system.server_process import ServerProcess
from servers.store import SEED_PASSWORD

__all__ = [
    "UNAVAILABLE_WITHIN_S",
    "Answer",
    "assert_unavailable",
    "bearer",
    "call",
    "eventually",
    "login",
]

# docs/server-contract.md, "Errors (RFC 6750)": a 503 within about a second while a store is
# in trouble (the acquire and command timeouts), never a hang.
UNAVAILABLE_WITHIN_S = 1.5


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def eventually(condition, within_s: float, message: str, every_s: float = 0.05) -> None:
    """Poll `condition` until it is true; fail with `message` if it is not within `within_s`."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(every_s)


def login(server: ServerProcess, username: str = "user00001", password: str = SEED_PASSWORD) -> str:
    """A token from the server's POST /login: the harness's own login (LoginFailed else)."""
    return http_login(server.url, username, password)


def assert_unavailable(answer: Answer) -> None:
    assert answer.status == 503, (answer.status, answer.body)
    assert answer.header("retry-after") == "1"
    assert answer.seconds < UNAVAILABLE_WITHIN_S, f"took {answer.seconds:.2f} s"
