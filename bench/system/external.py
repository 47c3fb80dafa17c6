"""An external arm: a deployment of the server contract that the harness did not start, reached at
a base URL (bench.system.http_client.Endpoint: scheme, host, port, path prefix, TLS trust).

Nothing is started for it, and nothing inside it can be read: no pids, no log, no CPU. Before
any load its answers are checked as a started server's are (server_process.answer_problem, with
Server-Timing optional: a deployment may not send it), once GET /healthz has said that it is up
and of the kind the scenario says. Its tokens come from the contract's POST /login with the
entry's credentials (bench.system.http_client.login), or from a command of the user's that
prints one; got once per run and reused while the deployment takes them. Whatever goes wrong is
one line (ServerFailed) naming the arm, its URL and what answered wrong (a refused certificate
as such), with the command that checks the server against the whole contract
(`python -m bench conform`, quoted for a shell).
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass

from bench.system.http_client import (
    Endpoint,
    HttpFailure,
    LoginFailed,
    TlsRefused,
    login,
    request,
    said,
    send,
)
from bench.system.server_process import ServerFailed, answer_problem
from servers.store import seed_username

TOKEN_COMMAND_TIMEOUT_S = 30.0
CONFORM_KINDS = {"session": "session", "jwt_auth": "jwt"}  # the kinds `bench conform` checks


@dataclass(frozen=True)
class Credentials:
    """How an external arm's tokens are got: POST /login as `username` with `password`, or the
    stdout of `token_command` (one token)."""

    username: str
    password: str
    token_command: tuple[str, ...] | None = None


@dataclass
class ExternalServer:
    """What a cell uses of a server it started, for a deployment elsewhere: its URL; no process,
    no pids and no log (its CPU is out of view)."""

    name: str  # its kind: session, jwt_auth or control
    endpoint: Endpoint
    label: str
    process: None = None
    pid: None = None

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def host(self) -> str:
        return self.endpoint.host

    @property
    def port(self) -> int:
        return self.endpoint.port

    def pids(self) -> list[int]:
        return []

    def log(self, lines: int = 40) -> str:
        return ""


def conform_command(kind: str, endpoint: Endpoint, username: str | None = None) -> str:
    """The command that checks a deployment against the contract's catalogue, quoted for a
    shell: the login's user when it is not the seeded one, and how the certificate is trusted."""
    if kind not in CONFORM_KINDS:  # the control has no auth to check
        return shlex.join(["curl", "-i", f"{endpoint.url}/healthz"])
    argv = ["python", "-m", "bench", "conform", endpoint.url, "--kind", CONFORM_KINDS[kind]]
    if username and username != seed_username(1):
        argv += ["--username", username]
    if endpoint.ca_file:
        argv += ["--ca-file", endpoint.ca_file]
    if endpoint.insecure:
        argv.append("--insecure")
    return shlex.join(argv)


def _wrong(server: ExternalServer, what: str, username: str | None = None) -> ServerFailed:
    return ServerFailed(
        f"external arm {server.label} ({server.url}) answered wrongly: {what}; "
        f"check it with: {conform_command(server.name, server.endpoint, username)}"
    )


def _health(server: ExternalServer) -> None:
    """GET /healthz: 200, of the arm's kind. A TLS failure is said as one, not as unreachable."""
    try:
        health = send(server.endpoint, "GET", "/healthz", timeout=5.0)
    except TlsRefused as exc:
        raise ServerFailed(f"external arm {server.label}: {exc}") from None
    except HttpFailure as exc:
        raise ServerFailed(f"external arm {server.label} cannot be reached: {exc}") from None
    try:
        kind = health.json().get("server")
    except (ValueError, AttributeError):
        kind = None
    if health.status != 200 or kind != server.name:
        raise _wrong(
            server,
            f"GET /healthz gave {said(health)}, not 200 with "
            f'{{"status": "ok", "server": "{server.name}"}}',
        )


def check(
    server: ExternalServer,
    credentials: Credentials,
    needs_auth: bool,
    path: str,
    count: int,
    known: list[str] | None = None,
) -> list[str]:
    """Before any load: the deployment up (GET /healthz) and of its kind, its answers as the
    contract says; returns its tokens: `known` (got before, for the run) while the server still
    takes them, else `count` got now (a 401 to a known token: expired or revoked, so log in
    again). ServerFailed in one line else."""
    _health(server)
    found = list(known) if known else tokens(server, credentials, count)
    if known and request(server.endpoint, "GET", path, token=found[0]).status == 401:
        found = tokens(server, credentials, count)
    what = answer_problem(server.endpoint, found[0], needs_auth, path, timing=False)
    if what:
        raise _wrong(server, what, credentials.username)
    return found


def tokens(server: ExternalServer, credentials: Credentials, count: int) -> list[str]:
    """`count` tokens from POST /login (a fresh one each time), or the one `token_command`
    prints."""
    if credentials.token_command is not None:
        return [_command_token(server, credentials.token_command)]
    try:
        return [
            login(server.endpoint, credentials.username, credentials.password) for _ in range(count)
        ]
    except LoginFailed as exc:
        raise _wrong(server, str(exc), credentials.username) from None


def _command_token(server: ExternalServer, argv: tuple[str, ...]) -> str:
    where = f"external arm {server.label}: token_command {argv[0]}"
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=TOKEN_COMMAND_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ServerFailed(f"{where}: no such program") from None
    except subprocess.TimeoutExpired:
        raise ServerFailed(f"{where}: no token within {TOKEN_COMMAND_TIMEOUT_S:g} s") from None
    except OSError as exc:
        raise ServerFailed(f"{where}: cannot run it ({exc.strerror or exc})") from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [""])[-1]
        raise ServerFailed(f"{where} exited with {done.returncode}" + (f": {said}" if said else ""))
    token = done.stdout.strip()
    if not token or any(c.isspace() for c in token):
        raise ServerFailed(f"{where} printed {len(token.split())} words: it must print one token")
    return token
