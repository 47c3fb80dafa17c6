"""The control server: the same routes and JSON shapes with no auth step at all.

It is the floor of every comparison: what uvicorn, httptools and this small ASGI app cost per
request. It needs no database; /login hands out a placeholder token and /me ignores it.
"""

from __future__ import annotations

from collections.abc import Mapping

from servers.common import App, Principal, token_response

ANONYMOUS = Principal(0, "anonymous")


class NoAuth:
    name = "control"

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def login(self, username: str, password: str) -> dict:
        """Exercises: JSON parsing only; no password check, no token."""
        return token_response("control", 3600)

    async def authenticate(self, headers) -> Principal:
        """Exercises: nothing. The Authorization header is not even read."""
        return ANONYMOUS

    async def logout(self, headers) -> None:
        """Exercises: nothing."""
        return None


def make_auth(environ: Mapping[str, str]) -> NoAuth:
    return NoAuth()


app = App(make_auth)
