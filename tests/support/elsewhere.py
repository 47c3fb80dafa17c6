"""Twins served as a deployment of one's own would be, for the tests that reach them by URL only:
`served` runs `python -m bench serve` (what `make serve` runs: the twin with its own PostgreSQL)
on any loopback address; `mounted` runs tests/support/mounted_twin.py (a twin under a path
prefix, behind TLS). Both wait until the twin answers GET /healthz and stop it (and everything
it started) when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.system.http_client import Endpoint, request
from bench.system.processes import spawn_logged, tail
from tests.support.processes import bench_argv
from tests.support.servers_under_test import JWT_SECRET

MOUNTED = Path(__file__).resolve().parent / "mounted_twin.py"
READY_S = 60.0  # `bench serve` starts its own PostgreSQL and seeds it first


@contextlib.contextmanager
def _running(argv: list[str], log: Path, ready: Endpoint, env: dict[str, str]) -> Iterator[int]:
    """`argv` until the block ends, once `ready` answers GET /healthz; yields its pid. Stopped
    with SIGTERM (Ctrl-C's path: everything it started stops), SIGKILL if it does not end."""
    process = spawn_logged(argv, log, env=env)
    try:
        deadline = time.monotonic() + READY_S
        while request(ready, "GET", "/healthz", timeout=1).status != 200:
            assert process.poll() is None, tail(log)
            assert time.monotonic() < deadline, f"not ready: {tail(log)}"
            time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@contextlib.contextmanager
def served(kind: str, host: str, port: int, log: Path) -> Iterator[int]:
    """`python -m bench serve --server KIND --host HOST --port PORT`, as `make serve` runs it:
    the twin and its own embedded PostgreSQL, seeded."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    argv = bench_argv("serve", "--server", kind, "--host", host, "--port", str(port))
    with _running(argv, log, Endpoint.local(port, host), env) as pid:
        yield pid


@contextlib.contextmanager
def mounted(pg, log: Path, ready: Endpoint, *options: str, kind: str = "jwt_auth") -> Iterator[int]:
    """tests/support/mounted_twin.py serving a twin (against the tests' PostgreSQL `pg`) where
    `ready` says: a path prefix (`--prefix`), TLS (`--certfile`, `--keyfile`)."""
    env = {**os.environ, "DATABASE_URL": pg.url, "AUTHBENCH_JWT_SECRET": JWT_SECRET}
    argv = [sys.executable, str(MOUNTED), kind, ready.host, str(ready.port), *options]
    with _running(argv, log, ready, env) as pid:
        yield pid
