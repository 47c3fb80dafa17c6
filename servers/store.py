"""The database side shared by the servers and the harness: schema, password records, seeding.

Everything lives in its own `authbench` schema so that pointing DATABASE_URL at an existing
server never touches tables that are not ours.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS authbench;
CREATE TABLE IF NOT EXISTS authbench.users (
    id            integer PRIMARY KEY,
    username      text    NOT NULL UNIQUE,
    password_hash text    NOT NULL
);
-- The opaque token itself is never stored: a leaked table holds no usable tokens.
CREATE TABLE IF NOT EXISTS authbench.sessions (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    integer     NOT NULL REFERENCES authbench.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sessions_user_id ON authbench.sessions (user_id);
-- JWT denylist, keyed on jti (never on the token text: PyJWT accepts `token + "="` as the same).
CREATE TABLE IF NOT EXISTS authbench.revoked_tokens (
    jti        text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
"""

SEED_PASSWORD = "authbench-password"


def seed_username(user_id: int) -> str:
    return f"user{user_id:05d}"


@dataclass(frozen=True)
class Scrypt:
    """scrypt parameters. The default (N=2^14, r=8, p=5) is one of OWASP's equivalent settings."""

    n: int = 2**14
    r: int = 8
    p: int = 5

    def hash(self, password: str, salt: bytes | None = None) -> str:
        salt = salt if salt is not None else secrets.token_bytes(16)
        digest = self._derive(password, salt, self.n, self.r, self.p)
        b64 = base64.urlsafe_b64encode
        return f"scrypt${self.n}${self.r}${self.p}${b64(salt).decode()}${b64(digest).decode()}"

    @staticmethod
    def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        maxmem = 128 * r * (n + p + 2) + 1024 * 1024
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32)

    @classmethod
    def verify(cls, password: str, record: str) -> bool:
        """Check a password against a stored record; the record carries its own parameters."""
        try:
            scheme, n, r, p, salt, digest = record.split("$")
            if scheme != "scrypt":
                return False
            expected = base64.urlsafe_b64decode(digest)
            actual = cls._derive(password, base64.urlsafe_b64decode(salt), int(n), int(r), int(p))
        except ValueError:
            return False
        return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_record() -> str:
    """Verified against when the username is unknown, so that a missing user costs the same time
    as a wrong password and the login does not reveal which usernames exist. Derived on first
    use (a full-cost scrypt takes about 0.2 s), not when the module is imported."""
    return Scrypt().hash(secrets.token_urlsafe(16), salt=b"\0" * 16)


def hash_token(token: str) -> bytes:
    """What the sessions table stores for a token: its sha256, never the token itself."""
    return hashlib.sha256(token.encode()).digest()


async def apply_schema(conn) -> None:
    await conn.execute(SCHEMA_SQL)


async def seed_users(conn, count: int, kdf: Scrypt | None = None) -> None:
    """Create users 1..count (user00001 ...) with SEED_PASSWORD, if not there yet.

    One scrypt record is derived and shared by every seeded row: these are load-test accounts,
    and deriving 10,000 records at OWASP cost would take minutes. Real sign-ups salt each user.
    """
    kdf = kdf or Scrypt()
    existing = await conn.fetchval("SELECT count(*) FROM authbench.users WHERE id <= $1", count)
    if existing >= count:
        return
    record = kdf.hash(SEED_PASSWORD)
    await conn.execute("DELETE FROM authbench.users WHERE id <= $1", count)
    rows = [(i, seed_username(i), record) for i in range(1, count + 1)]
    await conn.copy_records_to_table(
        "users", schema_name="authbench", records=rows, columns=["id", "username", "password_hash"]
    )


async def seed_sessions(conn, count: int, users: int, lifetime_s: int = 3600) -> None:
    """Fill the sessions table with `count` live sessions of unknown tokens.

    The benchmark's own sessions are created by logging in; these give the index a realistic
    size so that the lookup under test is not a lookup in a table of ten rows.
    """
    import datetime as dt

    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime_s)
    rows = [
        (hash_token(secrets.token_urlsafe(32)), 1 + i % users, expires_at) for i in range(count)
    ]
    await conn.copy_records_to_table(
        "sessions",
        schema_name="authbench",
        records=rows,
        columns=["token_hash", "user_id", "expires_at"],
    )


# Seeded load-test accounts get a cheap scrypt record: every Locust user logs in once during
# warm-up, and login is not what is measured. The record carries its parameters, so the servers
# verify it exactly as they would any other. Used by the bench, `make serve` and the tests.
LOAD_TEST_KDF = Scrypt(n=2**10, r=8, p=1)


async def prepare_database(
    dsn: str, users: int, sessions: int = 0, kdf: Scrypt | None = LOAD_TEST_KDF
) -> None:
    """Schema, `users` seeded accounts and at least `sessions` live sessions; idempotent.

    The one database preparation: every run, `make serve`, the micro-benchmarks and the tests.
    """
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await apply_schema(conn)
        await seed_users(conn, users, kdf=kdf)
        have = await conn.fetchval("SELECT count(*) FROM authbench.sessions")
        if have < sessions:
            await seed_sessions(conn, sessions - have, users)
        await conn.execute("ANALYZE authbench.users; ANALYZE authbench.sessions")
    finally:
        await conn.close()
