"""An external arm: a deployment of the server contract that the harness did not start, reached at
a base URL (bench.system.http_client.Endpoint: scheme, host, port, path prefix, TLS trust).

Nothing is started for it, and nothing inside it can be read: no pids, no log, no CPU. Before
any load its answers are checked as a started server's are (server_process.answer_problem, with
Server-Timing optional: a deployment may not send it), once GET /healthz has said that it is up
and of the kind the scenario says. Its tokens come from the contract's POST /login with the
entry's credentials, or from a command of the user's that prints one. Whatever goes wrong is
one line (ServerFailed) naming the arm, its URL and what answered wrong, with the command that
checks the server against the whole contract (`python -m bench conform`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from bench.system.http_client import Endpoint, Reply, request
from bench.system.server_process import ServerFailed, answer_problem

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


def conform_command(kind: str, endpoint: Endpoint) -> str:
    """The command that checks a deployment against the contract's catalogue."""
    if kind not in CONFORM_KINDS:  # the control has no auth to check
        return f"curl -i {endpoint.url}/healthz"
    trust = f" --ca-file {endpoint.ca_file}" if endpoint.ca_file else ""
    trust += " --insecure" if endpoint.insecure else ""
    return f"python -m bench conform {endpoint.url} --kind {CONFORM_KINDS[kind]}{trust}"


def _wrong(server: ExternalServer, what: str) -> ServerFailed:
    return ServerFailed(
        f"external arm {server.label} ({server.url}) answered wrongly: {what}; "
        f"check it with: {conform_command(server.name, server.endpoint)}"
    )


def _said(reply: Reply) -> str:
    """An answer in a few words: its status and error code, or why there was none."""
    if not reply.status:
        return reply.failure
    try:
        error = reply.json().get("error")
    except (ValueError, AttributeError):
        error = None
    return f"{reply.status} {error}" if error else f"{reply.status}: {reply.body[:120]!r}"


def check(
    server: ExternalServer, credentials: Credentials, needs_auth: bool, path: str, count: int
) -> list[str]:
    """Before any load: the deployment up (GET /healthz) and of its kind, `count` tokens got,
    and its answers as the contract says; returns the tokens. ServerFailed in one line else."""
    health = request(server.endpoint, "GET", "/healthz")
    if not health.status:
        raise ServerFailed(f"external arm {server.label} cannot be reached: {health.failure}")
    try:
        kind = health.json().get("server")
    except (ValueError, AttributeError):
        kind = None
    if health.status != 200 or kind != server.name:
        raise _wrong(
            server,
            f"GET /healthz gave {_said(health)}, not 200 with "
            f'{{"status": "ok", "server": "{server.name}"}}',
        )
    found = tokens(server, credentials, count)
    what = answer_problem(server.endpoint, found[0], needs_auth, path, timing=False)
    if what:
        raise _wrong(server, what)
    return found


def tokens(server: ExternalServer, credentials: Credentials, count: int) -> list[str]:
    """`count` tokens from POST /login (a fresh one each time), or the one `token_command`
    prints."""
    if credentials.token_command is not None:
        return [_command_token(server, credentials.token_command)]
    found = []
    body = {"username": credentials.username, "password": credentials.password}
    for _ in range(count):
        reply = request(server.endpoint, "POST", "/login", body=body, timeout=10.0)
        try:
            token = reply.json().get("token") if reply.status == 200 else None
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise _wrong(server, f"POST /login as {credentials.username} gave {_said(reply)}")
        found.append(token)
    return found


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
