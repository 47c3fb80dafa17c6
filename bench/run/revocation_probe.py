"""The revocation experiment: log out, then probe until 401. How long a revoked token keeps
working, on the host that handled the logout and on the others behind the same balancer.

It uses the same servers and stores as the grid, and writes into the run folder.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from bench.load.locust_driver import CellFailed
from bench.results.experiment_records import RevocationRecord
from bench.run.scenario import RevocationSpec, ServerSpec
from bench.system.http_client import request
from bench.system.server_process import ServerProcess, server_env
from servers.jwt_auth import share_jwt_keys
from servers.store import SEED_PASSWORD, seed_username

PROBE_TIMEOUT_S = 3.0


def ask(
    port: int,
    method: str,
    path: str,
    token: str | None = None,
    body: dict | None = None,
    timeout: float = PROBE_TIMEOUT_S,
) -> tuple[int, float, bytes]:
    """One request on a fresh connection: (status, milliseconds, body); status 0 if no answer."""
    reply = request(port, method, path, token=token, body=body, timeout=timeout)
    return reply.status, reply.ms, reply.body


def login(port: int, user_id: int) -> str:
    status, _, data = ask(
        port, "POST", "/login", body={"username": seed_username(user_id), "password": SEED_PASSWORD}
    )
    if status != 200:
        raise CellFailed(f"login as {seed_username(user_id)} gave {status}")
    return json.loads(data)["token"]


def _token_expiry_s(token: str) -> float | None:
    """Seconds until a JWT's exp (read without verifying: the server already issued it)."""
    if token.count(".") != 2:
        return None
    import jwt

    return jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()


def _probe(hosts: list[ServerProcess], token: str, seconds: float) -> list[tuple[float, int, int]]:
    """GET /me with the logged-out token, host after host, every 10 ms for `seconds`:
    (ms since the logout, status, host number) per probe."""
    logged_out = time.perf_counter()
    samples: list[tuple[float, int, int]] = []
    turn = 0
    while (elapsed := time.perf_counter() - logged_out) < seconds:
        host = turn % len(hosts)
        status, _, _ = ask(hosts[host].port, "GET", "/me", token)
        samples.append((round(elapsed * 1000, 1), status, host + 1))
        turn += 1
        time.sleep(0.01)
    return samples


def revocation(
    spec: ServerSpec, experiment: RevocationSpec, pg, out_dir: Path, kv=None
) -> RevocationRecord:
    """Log out through one app host, then probe all of them in turn until the window ends.

    Several hosts share one database, as behind a round-robin load balancer: what a host keeps
    in memory (a session cache) survives a logout that another host handled.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(pg, kv, spec.settings, spec.uses_redis, spec.label)
    if spec.server == "jwt_auth":
        share_jwt_keys(env)  # every host must accept the tokens the others issue
    with contextlib.ExitStack() as stack:
        hosts = [
            stack.enter_context(
                ServerProcess(
                    spec.server,
                    env,
                    log_path=out_dir / f"server-{i}.log",
                    runtime=spec.runtime,
                    command=spec.command,
                )
            )
            for i in range(1, experiment.hosts + 1)
        ]
        token = login(hosts[0].port, 1)
        for _ in range(3):  # every host has seen (and may have cached) the token
            for host in hosts:
                ask(host.port, "GET", "/me", token)
        logout_status, _, _ = ask(hosts[-1].port, "POST", "/logout", token)
        if logout_status != 204:
            raise CellFailed(
                f"{spec.label}: logout answered {logout_status}, not 204", hosts[-1].log()
            )
        samples = _probe(hosts, token, experiment.probe_for_s)
    accepted = [ms for ms, status, _ in samples if status == 200]
    refused = [ms for ms, status, _ in samples if status == 401]
    expiry = _token_expiry_s(token)
    return RevocationRecord(
        label=spec.label,
        server=spec.server,
        settings=spec.settings,
        hosts=experiment.hosts,
        logout_status=logout_status,
        probe_for_s=experiment.probe_for_s,
        probes=len(samples),
        accepted_after_logout=len(accepted),
        last_accepted_ms=max(accepted) if accepted else None,
        first_refused_ms=min(refused) if refused else None,
        still_accepted_at_end=bool(samples) and samples[-1][1] == 200,
        token_valid_for_s=round(expiry, 1) if expiry is not None else None,
        other_statuses=sorted({status for _, status, _ in samples} - {200, 401}),
        samples=samples,
    )
