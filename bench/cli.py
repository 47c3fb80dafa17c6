"""The command line: `python -m bench COMMAND` (also installed as `authbench`).

Human summaries go to stdout; data goes to files. Every expected failure is one line naming
the problem, with a non-zero exit; the server's log is printed when a server misbehaved.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.results import ResultsError
from servers import SERVERS

# Errors that mean "bad input or environment": one line, exit 2, never a traceback. Named, not
# imported: the read-side commands never load the modules that start processes, and an error
# of a module that was never imported cannot have been raised.
EXPECTED_ERRORS = (
    ("bench.results", "ResultsError"),
    ("bench.run.scenario_toml", "ScenarioError"),
    ("bench.system.service", "ServiceError"),  # PostgreSQL or Valkey: not found, not reachable
    ("bench.system.server_process", "ServerFailed"),
    ("bench.system.delay_proxy", "DelayProxyError"),
    ("servers.common", "ConfigError"),
)
DEFAULT_RESULTS = Path("results")


def expected_errors() -> tuple[type[BaseException], ...]:
    return tuple(
        getattr(sys.modules[module], name)
        for module, name in EXPECTED_ERRORS
        if module in sys.modules
    )


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
    add_run_commands(commands)
    add_read_commands(commands)
    return parser


def add_run_commands(commands) -> None:
    """The commands that start servers, stores and load."""
    run = commands.add_parser(
        "run", help="run a scenario: results/<stamp>-<label>/, plots, summary"
    )
    run.add_argument("--scenario", default="default", help="quick, default, full or a .toml path")
    run.add_argument("--label", help="names the run folder (default: the scenario's name)")
    run.add_argument("--workers", type=int, help="Locust worker processes (0: one process)")
    run.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="where run folders go")
    run.add_argument("--no-plots", action="store_true", help="skip drawing the plots")
    run.add_argument("--no-pin", action="store_true",
                     help="do not pin the load generator and the servers to separate cores")  # fmt: skip
    micro = commands.add_parser("micro", help="micro-benchmarks of the auth step, in-process")
    micro.add_argument("--level", choices=("quick", "full"), default="full")
    prof = commands.add_parser(
        "profile", help="sample a server under load with py-spy: flame graph and top functions"
    )
    prof.add_argument("--server", choices=SERVERS, default="jwt_auth")
    prof.add_argument("--seconds", type=int, default=10, help="sampling time, twice (SVG, table)")
    prof.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    live = commands.add_parser("live", help="serve one server and open Locust's web UI on it")
    live.add_argument("--server", choices=SERVERS, default="session")
    live.add_argument("--port", type=int, default=8000)
    live.add_argument("--web-port", type=int, default=8089)
    live.add_argument("--users", type=int, default=10, help="users to start with")
    serve = commands.add_parser("serve", help="serve one server with its own PostgreSQL")
    serve.add_argument("--server", choices=SERVERS, default="session")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)


def add_read_commands(commands) -> None:
    """The commands that only read run folders."""
    verdict = commands.add_parser(
        "verdict", help="per rate and pair: estimate, 95%% interval, margin and verdict"
    )
    verdict.add_argument("run_dir", type=Path)
    verdict.add_argument("--json", action="store_true", help="a JSON list instead of lines")
    plot = commands.add_parser("plot", help="(re)draw the plots of a run into its plots/ folder")
    plot.add_argument("run_dir", type=Path)
    compare = commands.add_parser("compare", help="two runs side by side (b / a)")
    compare.add_argument("run_a", type=Path)
    compare.add_argument("run_b", type=Path)
    report = commands.add_parser(
        "report", help="one self-contained HTML page: every notebook run against RUN_DIR"
    )
    report.add_argument("run_dir", type=Path)
    summary = commands.add_parser("summary", help="the summary table of a run")
    summary.add_argument("run_dir", type=Path)
    listing = commands.add_parser("list", help="past runs and how they ended")
    listing.add_argument("--results", type=Path, default=DEFAULT_RESULTS)


def command_run(args: argparse.Namespace) -> None:
    from bench import analysis
    from bench.analysis.plots import draw_all
    from bench.run import runner, scenario_toml
    from bench.system import postgres, valkey

    chosen = scenario_toml.load(args.scenario)
    if args.workers is not None and args.workers < 0:
        raise scenario_toml.ScenarioError("--workers must be 0 or more")
    if os.environ.get("DATABASE_URL"):
        postgres.check_reachable(os.environ["DATABASE_URL"])  # before any run folder exists
    if chosen.needs_redis and os.environ.get("REDIS_URL"):
        valkey.check_reachable(os.environ["REDIS_URL"])
    job = runner.Runner(
        chosen, args.results, args.label, args.workers, _print_now, pin=not args.no_pin
    )
    try:
        job.run()
    except (KeyboardInterrupt, *expected_errors()):
        kept = len(job.record["cells"])
        print(
            f"authbench: {job.run_dir} keeps its {kept} finished cells and says how the run ended",
            file=sys.stderr,
        )
        raise
    run = analysis.load(job.run_dir)
    if not args.no_plots:
        for path in draw_all(run):
            print(f"plot: {path}")
    print()
    print(analysis.summary_text(run))
    print(f"\nresults: {job.run_dir}")


def _print_now(line: str) -> None:
    print(line, flush=True)


def command_micro(args: argparse.Namespace) -> None:
    import asyncio

    from bench.run.microbench import format_micro, run_micro, transports
    from bench.system.postgres import postgres
    from bench.system.valkey import redis_store
    from servers.store import prepare_database

    with postgres() as pg, redis_store(True) as kv:
        asyncio.run(prepare_database(pg.url, 10))
        print(format_micro(run_micro(*transports(pg, kv), args.level)))


def command_plot(args: argparse.Namespace) -> None:
    from bench import analysis
    from bench.analysis.plots import draw_all

    for path in draw_all(analysis.load(args.run_dir)):
        print(f"plot: {path}")


def command_compare(args: argparse.Namespace) -> None:
    from bench import analysis

    a, b = analysis.load(args.run_a), analysis.load(args.run_b)
    rows = analysis.compare_rows(a, b)
    if not rows:
        raise ResultsError(f"{a.name} and {b.name} have no server label in common")
    print(f"a: {a.path}\nb: {b.path}\n")
    print(analysis.Table(rows))


JSON_KEYS = ("rate", "a", "b", "delta_p50_us", "ci_low_us", "ci_high_us", "margin_us", "verdict",
             "a_a")  # fmt: skip


def command_verdict(args: argparse.Namespace) -> None:
    import json

    from bench import analysis
    from bench.analysis import verdicts

    run = analysis.load(args.run_dir)
    rows = verdicts.paired_verdicts(run)
    if args.json:
        extra = ("delta_p99_us", "p99_ci_low_us", "p99_ci_high_us", "repeats", "reason")
        print(
            json.dumps([{k: row.as_dict()[k] for k in JSON_KEYS + extra} for row in rows], indent=1)
        )
        return
    if not rows:
        raise ResultsError(f"{run.path} has no paired cells: no verdict to give")
    print(f"{run.path}: a - b on the median, 95% interval (hierarchical bootstrap), margin")
    for row in rows:
        print(verdicts.verdict_line(row))
    if warning := verdicts.a_a_warning(rows):
        print(warning)


def command_profile(args: argparse.Namespace) -> None:
    from bench.run.flamegraph import profile

    folder = profile(args.server, args.seconds, args.results, _print_now)
    print(f"flame graph: {folder / 'flamegraph.svg'}")


def command_report(args: argparse.Namespace) -> None:
    from bench import analysis
    from bench.analysis.report import build_report

    path = build_report(analysis.load(args.run_dir), _print_now)
    print(f"report: {path}")


def command_summary(args: argparse.Namespace) -> None:
    from bench import analysis

    print(analysis.summary_text(analysis.load(args.run_dir)))


def command_list(args: argparse.Namespace) -> None:
    from bench.analysis import Table
    from bench.results import list_runs

    rows = list_runs(args.results)
    if not rows:
        print(f"no runs under {args.results}/ yet: make bench")
        return
    print(
        Table(
            rows, ["path", "status", "scenario", "cells", "planned_cells", "started_at", "problem"]
        )
    )


def command_serve(args: argparse.Namespace) -> None:
    from bench.run.serve import serve

    serve(args.server, args.port, args.workers)


def command_live(args: argparse.Namespace) -> None:
    from bench.run.serve import live

    live(args.server, args.port, args.web_port, args.users)


COMMANDS = {
    "run": command_run,
    "micro": command_micro,
    "plot": command_plot,
    "compare": command_compare,
    "summary": command_summary,
    "report": command_report,
    "profile": command_profile,
    "verdict": command_verdict,
    "list": command_list,
    "serve": command_serve,
    "live": command_live,
}


def dispatch(args: argparse.Namespace) -> None:
    COMMANDS[args.command](args)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        with stop_on_signals():
            dispatch(args)
    except KeyboardInterrupt:
        print("authbench: interrupted; everything it started has been stopped", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        if not isinstance(exc, expected_errors()):
            raise
        if getattr(exc, "log", ""):  # a server or Locust that misbehaved: what it printed
            print(exc.log, file=sys.stderr)
            exc = exc.args[0]
        print(f"authbench: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
