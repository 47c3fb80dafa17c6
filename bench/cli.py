"""The command line: `python -m bench COMMAND` (also installed as `authbench`).

Human summaries go to stdout; data goes to files. Every expected failure is one line naming
the problem, with a non-zero exit; the server's log is printed when a server misbehaved.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator

from bench.postgres import PostgresError
from bench.procs import ServerFailed
from servers.__main__ import SERVERS
from servers.common import ConfigError

EXPECTED_ERRORS = (PostgresError, ConfigError, ServerFailed)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP all end the command like Ctrl-C, so every `finally` runs.

    SIGINT is set explicitly: a job started in the background by a script inherits it ignored.
    """

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, interrupt) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authbench", description="Server-side session lookup versus JWT, measured."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve one server with its own PostgreSQL")
    serve.add_argument("--server", choices=SERVERS, default="session")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    return parser


def dispatch(args: argparse.Namespace) -> None:
    if args.command == "serve":
        from bench.serve import serve

        serve(args.server, args.port, args.workers)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        with stop_on_signals():
            dispatch(args)
    except KeyboardInterrupt:
        print("authbench: interrupted; everything it started has been stopped", file=sys.stderr)
        raise SystemExit(130) from None
    except EXPECTED_ERRORS as exc:
        if isinstance(exc, ServerFailed) and exc.log:
            print(exc.log, file=sys.stderr)
            exc = exc.args[0]
        print(f"authbench: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
