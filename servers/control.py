"""The control server: the same routes and JSON shapes with no auth step at all.

It is the floor of every comparison: what uvicorn, httptools and this small ASGI app cost per
request. /login hands out a placeholder token and /me ignores it. GET /profile reads the same
data as the other servers for a fixed user (the floor of an endpoint that reads the database),
so the control opens a pool when DATABASE_URL is set; without it, /profile answers 503.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from servers.common import App, Principal, token_response
from servers.connections import Database, DatabaseSettings, StoreUnavailable, connection_name
from servers.store import profile_of

ANONYMOUS = Principal(0, "anonymous")
PROFILE_USER_ID = 1  # /profile on the control reads this user's data, for every request


class NoAuth:
    name = "control"

    def __init__(self, environ: Mapping[str, str]):
        self.db = None
        if environ.get("DATABASE_URL"):
            settings = DatabaseSettings.from_env(environ)
            self.db = Database(settings, connection_name(self.name, os.getpid()))

    async def startup(self) -> None:
        if self.db is not None:
            await self.db.open()

    async def shutdown(self) -> None:
        if self.db is not None:
            await self.db.close()

    async def login(self, username: str, password: str) -> dict:
        """Exercises: JSON parsing only; no password check, no token."""
        return token_response("control", 3600)

    async def authenticate(self, headers) -> Principal:
        """Exercises: nothing. The Authorization header is not even read."""
        return ANONYMOUS

    async def profile(self, headers, timing: list[int]) -> dict:
        """Exercises: the data query alone, for a fixed user: no auth step."""
        timing[0] = time.perf_counter_ns()  # no auth step: it ends where it starts
        if self.db is None:
            raise StoreUnavailable("the control server has no DATABASE_URL")
        return await profile_of(self.db, PROFILE_USER_ID)

    async def logout(self, headers) -> None:
        """Exercises: nothing."""
        return None


def make_auth(environ: Mapping[str, str]) -> NoAuth:
    return NoAuth(environ)


app = App(make_auth)
