"""Bad configuration fails fast: one line naming the problem, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from servers.store import Scrypt


def start(server: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHBENCH_", "DATABASE"))}
    return subprocess.run(
        [sys.executable, "-m", "servers", server, *args],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("authbench: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_short_jwt_secret(pg):
    result = start("jwt_auth", AUTHBENCH_JWT_SECRET="x" * 31, DATABASE_URL=pg.url)
    assert_one_line_error(result, "AUTHBENCH_JWT_SECRET is 31 bytes", "at least 32")


@pytest.mark.parametrize("algorithm", ["none", "HS512", "hs256", "RS256,HS256"])
def test_unknown_or_disallowed_algorithm(pg, algorithm):
    result = start("jwt_auth", AUTHBENCH_JWT_ALG=algorithm, DATABASE_URL=pg.url)
    assert_one_line_error(result, "AUTHBENCH_JWT_ALG", "not supported")


def test_private_key_of_the_wrong_kind(pg, tmp_path):
    from servers.jwt_auth import generate_private_key_pem

    path = tmp_path / "ec.pem"
    path.write_bytes(generate_private_key_pem("ES256"))
    result = start(
        "jwt_auth",
        AUTHBENCH_JWT_ALG="RS256",
        AUTHBENCH_JWT_PRIVATE_KEY=str(path),
        DATABASE_URL=pg.url,
    )
    assert_one_line_error(result, "does not fit RS256")


def test_missing_private_key_file(pg, tmp_path):
    result = start(
        "jwt_auth",
        AUTHBENCH_JWT_ALG="ES256",
        AUTHBENCH_JWT_PRIVATE_KEY=str(tmp_path / "nope.pem"),
        DATABASE_URL=pg.url,
    )
    assert_one_line_error(result, "cannot read")


@pytest.mark.parametrize("server", ["session", "jwt_auth"])
def test_unreachable_database_url(server):
    result = start(server, DATABASE_URL="postgresql://authbench@127.0.0.1:1/authbench")
    assert_one_line_error(result, "cannot reach PostgreSQL at postgresql://authbench@127.0.0.1:1")


def test_database_password_is_not_printed():
    result = start("session", DATABASE_URL="postgresql://authbench:hunter2@127.0.0.1:1/authbench")
    assert_one_line_error(result, "postgresql://authbench:***@127.0.0.1:1")
    assert "hunter2" not in result.stderr


def test_missing_database_url():
    assert_one_line_error(start("session"), "DATABASE_URL is not set")


@pytest.mark.parametrize(
    "setting",
    ["AUTHBENCH_POOL_SIZE=abc", "AUTHBENCH_POOL_SIZE=0", "AUTHBENCH_DB_COMMAND_TIMEOUT=-1"],
)
def test_bad_numeric_setting(pg, setting):
    name, value = setting.split("=")
    assert_one_line_error(start("session", DATABASE_URL=pg.url, **{name: value}), name)


@pytest.mark.parametrize("server", ["control", "session"])
def test_port_in_use(pg, server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start(server, "--port", str(port), DATABASE_URL=pg.url)
    assert_one_line_error(result, f"port {port} on 127.0.0.1 is in use")


def test_password_records_carry_their_parameters():
    cheap, costly = Scrypt(n=2**10, r=8, p=1), Scrypt()
    for kdf in (cheap, costly):
        record = kdf.hash("correct horse")
        assert record.startswith(f"scrypt${kdf.n}${kdf.r}${kdf.p}$")
        assert Scrypt.verify("correct horse", record)
        assert not Scrypt.verify("wrong horse", record)
    assert cheap.hash("same") != cheap.hash("same")  # salted
    assert not Scrypt.verify("x", "md5$garbage")
    assert not Scrypt.verify("x", "not a record")
