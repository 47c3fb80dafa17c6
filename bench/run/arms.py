"""Starting one arm, in one step: its server (behind a delay proxy where the scenario says),
the server's answers checked, and its tokens when a population is asked for. An external arm
(a `url` entry: a deployment the harness did not start) starts nothing: its answers are checked
every time a cell starts it (bench.system.external), with the tokens got once for the run when
it was first checked, logging in again only when the deployment no longer takes them (401).

The route goes only down the floors: the server's environment, the server and its answer check
(bench.system.server_process), the proxy (bench.system.delay_proxy), the tokens minted into the
stores or signed with the arm's key (bench.system.tokens), the servers' own code below them.
Everything started is entered on the caller's ExitStack, so it stops however the cell ends.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from bench.run.scenario import Scenario, ServerSpec
from bench.system import external
from bench.system.datastores import Stores
from bench.system.delay_proxy import ProxyProcess
from bench.system.external import ExternalServer
from bench.system.pinning import pin
from bench.system.server_process import ServerProcess, server_env, verify
from bench.system.tokens import Population

# An external arm's tokens, got once per run (a fresh login each): Locust's users take them in
# turn, and the independent client too.
EXTERNAL_TOKENS = 4
Logins = dict[str, list[str]]  # the run's external arms' tokens, by label


@dataclass
class StartedArm:
    """An arm up and answering: its server (an ExternalServer for an external arm), its proxy's
    pids (none without a proxy), what the proxy calibration measured, the arm's tokens when a
    population was asked for, and an external arm's own tokens (`arm_tokens`)."""

    server: ServerProcess | ExternalServer
    proxy_pids: list[int] = field(default_factory=list)
    calibration: dict[str, float] | None = None
    tokens: list[str] | None = None
    arm_tokens: list[str] | None = None


def start_arm(
    stack: contextlib.ExitStack,
    spec: ServerSpec,
    stores: Stores,
    cores: tuple[int, ...] | None,
    log_path: Path,
    population: Population | None = None,
    logins: Logins | None = None,
) -> StartedArm:
    """The server of `spec` on `cores` (behind its delay proxy, if any), started and verified,
    with its tokens minted when `population` is given; an external arm checked, with the run's
    tokens of it in `logins` (got, or got again, and kept there when needed)."""
    if spec.external:
        server = ExternalServer(spec.server, spec.endpoint(), spec.label)
        logins = {} if logins is None else logins
        logins[spec.label] = check_external(spec, server, logins.get(spec.label))
        return StartedArm(server, arm_tokens=logins[spec.label])
    env = server_env(stores.pg, stores.kv, spec.settings, spec.uses_redis, spec.label)
    if population is not None:
        population.prepare_env(spec.server, env)  # a JWT arm's key, to sign its tokens with
    calibration, proxy_pids = None, []
    if spec.db_delay_ms is not None:
        # The proxy goes where the per-request lookup goes: Redis for a Redis-store server.
        url_key, target = (
            ("REDIS_URL", stores.kv.tcp_url)
            if spec.uses_redis
            else ("DATABASE_URL", stores.pg.tcp_url)
        )
        proxy = stack.enter_context(ProxyProcess(target, spec.db_delay_ms))
        if cores:
            pin([proxy.process.pid], cores)
        calibration = proxy.calibrate()
        env[url_key] = proxy.dsn
        proxy_pids = [proxy.process.pid]
    server = ServerProcess(
        spec.server,
        env,
        workers=spec.workers,
        log_path=log_path,
        cpus=cores,
        runtime=spec.runtime,
        command=spec.command,
    )
    stack.enter_context(server)
    verify(server, needs_auth=spec.server != "control", path=spec.path)
    if population is None:
        return StartedArm(server, proxy_pids, calibration)
    store_url = stores.kv.url if spec.uses_redis else stores.pg.url  # directly, not via a proxy
    tokens = population.tokens(spec.server, spec.store, env, store_url)
    return StartedArm(server, proxy_pids, calibration, tokens)


def check_external(
    spec: ServerSpec, server: ExternalServer, known: list[str] | None = None
) -> list[str]:
    """An external arm's answers checked; its tokens: `known` while it takes them, else got
    (ServerFailed: one line)."""
    username, password = spec.login
    credentials = external.Credentials(username, password, spec.token_command)
    needs_auth = spec.server != "control"
    return external.check(server, credentials, needs_auth, spec.path, EXTERNAL_TOKENS, known)


def check_external_arms(scenario: Scenario) -> tuple[list[str], Logins]:
    """Before any run folder exists: every external arm of the scenario reachable and answering
    as the contract says, its tokens got for the run. Returns a line per arm, for the run to
    say, and the tokens by label."""
    said, logins = [], {}
    for spec in scenario.servers:
        if spec.external:
            server = ExternalServer(spec.server, spec.endpoint(), spec.label)
            logins[spec.label] = check_external(spec, server)
            trust = ""
            if server.endpoint.tls:
                trust = (
                    ", certificate NOT checked"
                    if spec.insecure
                    else ", certificate checked before each cell (not by Locust)"
                )
            said.append(f"  {spec.label}: {server.url} ({spec.server}{trust})")
    return said, logins
