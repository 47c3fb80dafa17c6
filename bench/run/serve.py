"""`make serve`: PostgreSQL (and Valkey, for the Redis session store) plus one server on
127.0.0.1 (or HOST=..., `--host`; SERVER_WORKERS=N, `--server-workers`, for its worker
processes), with a curl walk-through to paste. `make watch`: the same, plus Locust's web UI.

Everything started here stops when the command ends: Ctrl-C, SIGTERM, or the server dying.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from bench.run.scenario import ServerSpec
from bench.system.datastores import stores
from bench.system.ports import port_in_use
from bench.system.server_process import ServerFailed, ServerProcess, server_env
from servers import NEEDS_DATABASE
from servers.common import ConfigError
from servers.store import SEED_PASSWORD, seed_username

SEEDED_USERS = 10_000


def uses_redis(name: str, settings: dict[str, str] | None = None) -> bool:
    """Whether this server, with these settings over the environment, keeps sessions in Redis."""
    return ServerSpec(name, name, {**os.environ, **(settings or {})}).uses_redis


@contextlib.contextmanager
def database_and_server(
    name: str,
    port: int,
    settings: dict[str, str] | None = None,
    workers: int = 1,
    runtime: str = "python",
    host: str = "127.0.0.1",
) -> Iterator[ServerProcess]:
    """A seeded database (embedded unless DATABASE_URL is set), a Redis store if the server
    keeps its sessions there (embedded unless REDIS_URL is set) and the server on host:port,
    all stopped when the block ends."""
    if port_in_use(host, port):
        raise ConfigError(f"port {port} on {host} is in use (choose another with PORT=...)")
    needs_redis = uses_redis(name, settings)
    with stores(needs_redis, SEEDED_USERS, kdf=None) as up:  # kdf=None: full-cost logins
        env = server_env(up.pg, up.kv, settings or {}, needs_redis, name)
        with ServerProcess(name, env, workers, port, runtime=runtime, host=host) as server:
            yield server


def curl_walkthrough(url: str, name: str) -> str:
    login = (
        f"curl -s -X POST {url}/login -H 'content-type: application/json' "
        f'-d \'{{"username": "{seed_username(1)}", "password": "{SEED_PASSWORD}"}}\''
    )
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])'"
    steps = [
        f"TOKEN=$({login} | {extract})",
        f'curl -i {url}/me -H "Authorization: Bearer $TOKEN"',
        f'curl -i -X POST {url}/logout -H "Authorization: Bearer $TOKEN"',
        f'curl -i {url}/me -H "Authorization: Bearer $TOKEN"',
    ]
    after = {
        "session": "the last call answers 401: logout deleted the session.",
        "jwt_auth": "the last call still answers 200: nothing records a logout of a JWT "
        "(AUTHBENCH_JWT_DENYLIST=1 adds a jti denylist, and a database lookup again).",
        "control": "every call answers 200: the control server has no auth at all.",
    }[name]
    return "\n".join(["Try it (login, me, logout, me again):", *("  " + s for s in steps), after])


def serve(
    name: str, port: int, workers: int = 1, runtime: str = "python", host: str = "127.0.0.1"
) -> None:
    with database_and_server(name, port, workers=workers, runtime=runtime, host=host) as server:
        stores = "the server and PostgreSQL" if name in NEEDS_DATABASE else "the server"
        if uses_redis(name):
            stores = "the server, PostgreSQL and Valkey (the session store)"
        print(f"{name} server ({runtime}) ready at {server.url} (log: {server.log_path})")
        print(curl_walkthrough(server.url, name))
        print(f"Ctrl-C stops {stores}.", flush=True)
        while server.process.poll() is None:
            time.sleep(0.2)
        raise ServerFailed(f"the server exited with code {server.process.returncode}", server.log())


def watch(name: str, port: int, web_port: int = 8089, users: int = 10) -> None:
    """`make watch`: the server plus Locust's web UI on 127.0.0.1, for a room to watch.

    The presenter changes users and rate in the browser; charts move as the server answers.
    """
    import subprocess
    import sys

    from bench.load.locust_driver import LOCUSTFILE
    from bench.system.processes import signal_tree

    if port_in_use("127.0.0.1", web_port):
        raise ConfigError(f"port {web_port} on 127.0.0.1 is in use (Locust's web UI needs it)")
    with database_and_server(name, port) as server:
        argv = [
            sys.executable, "-m", "locust",
            "-f",           str(LOCUSTFILE),
            "--host",       server.url,
            "--web-host",   "127.0.0.1",
            "--web-port",   str(web_port),
            "--users",      str(users),
            "--spawn-rate", str(users),
            "--autostart",
        ]  # fmt: skip  # a table: one option and its value per row
        locust = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL)
        try:
            print(f"{name} server at {server.url}; Locust's web UI at http://127.0.0.1:{web_port}")
            print("Change the number of users in the browser and watch latency and req/s move.")
            print("Ctrl-C stops Locust, the server and its stores.", flush=True)
            while locust.poll() is None and server.process.poll() is None:
                time.sleep(0.2)
            if server.process.poll() is not None:
                raise ServerFailed(
                    f"the server exited with code {server.process.returncode}", server.log()
                )
            raise ServerFailed(f"Locust exited with code {locust.returncode}")
        finally:
            signal_tree(locust.pid, signal.SIGTERM)
            try:
                locust.wait(10)
            except subprocess.TimeoutExpired:
                signal_tree(locust.pid, signal.SIGKILL)
                locust.wait(5)
