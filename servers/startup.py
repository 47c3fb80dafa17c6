"""Everything a server checks before it serves, each failure one line: its settings, its stores,
its port. Used by `python -m servers` and by the harness's `make serve`."""

from __future__ import annotations

import importlib
import os
import socket
import sys
from collections.abc import Mapping

from servers import NEEDS_DATABASE
from servers.common import ConfigError
from servers.connections import check_database, check_redis


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (checked before serving, for one line)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def check(name: str, host: str, port: int, environ: Mapping[str, str] = os.environ) -> None:
    """Settings parsed and keys loaded, stores reachable, port free; ConfigError otherwise."""
    module = importlib.import_module(f"servers.{name}")
    auth = module.make_auth(environ)
    if name in NEEDS_DATABASE:
        check_database(environ["DATABASE_URL"])
    redis_url = getattr(getattr(auth, "settings", None), "redis_url", "")
    if redis_url:
        check_redis(redis_url)
    if port_in_use(host, port):
        raise ConfigError(f"port {port} on {host} is in use (choose another with --port)")


def fail(message: str) -> None:
    """Print one line naming the problem and exit non-zero."""
    print(f"authbench: error: {message}", file=sys.stderr)
    raise SystemExit(2)
