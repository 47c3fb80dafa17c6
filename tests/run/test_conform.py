"""`python -m bench conform`: the contract's security catalogue passes against every twin of every
runtime, and fails, naming the case, against a server that accepts an expired token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.run.conform import Target, cases, check
from bench.system.ports import free_port
from bench.system.server_process import ServerProcess
from tests.support.servers_under_test import JWT_SECRET

LENIENT = Path(__file__).resolve().parents[1] / "support" / "lenient_jwt.py"


def test_the_catalogue_covers_what_the_contract_lists():
    names = " ".join(c.name for c in cases("jwt"))
    for case in (
        "no Authorization",
        "another scheme",
        "two tokens",
        "illegal characters",
        "twice",
        "over 8 KiB",
        "alg none",
        "algorithm confusion",
        "kid",
        "jku",
        "jwk",
        "claim missing",
        "numeric string",
        "expired",
        "not valid before",
        "wrong issuer",
        "wrong audience",
        "after logout",
        "1 MiB Authorization",
        "5,000-byte path",
        "half-closed",
    ):
        assert case in names, case


def test_every_twin_conforms_to_the_session_catalogue(session_server):
    results = check(Target(session_server.url, "session"))
    failed = [r for r in results if r.outcome == "fail"]
    assert not failed, failed
    assert not [r for r in results if r.outcome == "skip"]


def test_every_twin_conforms_to_the_jwt_catalogue(jwt_server):
    results = check(Target(jwt_server.url, "jwt", JWT_SECRET.encode()))
    failed = [r for r in results if r.outcome == "fail"]
    assert not failed, failed
    assert len(results) >= 40


def test_a_server_that_accepts_an_expired_token_fails_by_name(pg, tmp_path):
    env = {"DATABASE_URL": pg.url, "AUTHBENCH_JWT_SECRET": JWT_SECRET}
    port = free_port()
    command = (sys.executable, str(LENIENT), "{port}")
    with ServerProcess(
        "jwt_auth", env, port=port, command=command, log_path=tmp_path / "lenient.log"
    ) as server:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "conform",
                server.url,
                "--kind",
                "jwt",
                "--secret",
                JWT_SECRET,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    failures = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1 and "expired one second ago" in failures[0], failures
    assert "passed, 1 failed" in done.stdout


def test_without_the_secret_the_signing_cases_are_skipped_and_said_so(jwt_server):
    done = subprocess.run(
        [sys.executable, "-m", "bench", "conform", jwt_server.url, "--kind", "jwt"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout
    assert "SKIP" in done.stdout and "needs --secret" in done.stdout


def test_an_unreachable_server_is_one_line():
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "conform", f"http://127.0.0.1:{port}", "--kind", "session"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"authbench: error: 127.0.0.1:{port}: connection refused (nothing listens there)\n"
    )
    assert done.stdout == ""
