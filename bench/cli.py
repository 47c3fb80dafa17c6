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
from pathlib import Path

from bench.results import ResultsError
from servers import SERVERS, runtime_catalogue


def _scenario_names() -> str:
    """Every scenario file in bench/run/scenarios, by name (read from the folder, so that a new
    file is listed without an edit here; bench.run itself is not imported)."""
    folder = Path(__file__).parent / "run" / "scenarios"
    return ", ".join(sorted(p.stem for p in folder.glob("*.toml")))


# Errors that mean "bad input or environment": one line, exit 2, never a traceback. Named, not
# imported: the read-side commands never load the modules that start processes, and an error
# of a module that was never imported cannot have been raised.
EXPECTED_ERRORS = (
    ("bench.results", "ResultsError"),
    ("bench.run.scenario_toml", "ScenarioError"),
    ("bench.system.service", "ServiceError"),  # PostgreSQL or Valkey: not found, not reachable
    ("bench.system.server_process", "ServerFailed"),
    ("bench.system.delay_proxy", "DelayProxyError"),
    ("bench.system.server_launch", "RuntimeUnavailable"),
    ("bench.run.conform", "ConformError"),
    ("bench.load.remote_workers", "RemoteWorkersError"),
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
    add_check_commands(commands)
    add_read_commands(commands)
    return parser


def add_run_commands(commands) -> None:
    """The commands that start servers, stores and load."""
    run = commands.add_parser(
        "run", help="run a scenario: results/<stamp>-<label>/, plots, summary"
    )
    run.add_argument("--scenario", default="default", help=f"{_scenario_names()} or a .toml path")
    run.add_argument("--label", help="names the run folder (default: the scenario's name)")
    run.add_argument("--locust-workers", type=int, help="Locust worker processes on this host")
    run.add_argument("--remote-workers", type=int, default=0, help="Locust workers on other hosts")
    run.add_argument("--master-bind", metavar="ADDR[:PORT]", help="where they connect (port 5557)")
    run.add_argument("--remote-wait", type=int, default=30, help="seconds each cell waits for them")
    run.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="where run folders go")
    run.add_argument("--no-plots", action="store_true", help="skip drawing the plots")
    run.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the load generator and the servers to separate cores",
    )
    worker = commands.add_parser("worker", help="Locust workers on this host for a remote run")
    worker.add_argument("--master", required=True, metavar="ADDR[:PORT]")
    worker.add_argument("--processes", type=int, default=1, help="worker processes on this host")
    worker.add_argument("--wait", type=float, default=300, help="seconds to wait for each master")
    micro = commands.add_parser("micro", help="micro-benchmarks of the auth step, in-process")
    micro.add_argument("--level", choices=("quick", "full"), default="full")
    flame = commands.add_parser(
        "flamegraph", help="sample a server under load with py-spy: flame graph and top functions"
    )
    flame.add_argument("--server", choices=SERVERS, default="jwt_auth")
    flame.add_argument("--seconds", type=int, default=10, help="sampling time, twice (SVG, table)")
    flame.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    flame.add_argument(
        "--load-generator",
        action="store_true",
        help="sample the Locust process driving the server instead",
    )
    flame.add_argument("--rate", type=float, help="a fixed total rate instead of closed loop")
    watch = commands.add_parser(
        "watch", help="serve one server and open Locust's web UI on it, for a room to watch"
    )
    watch.add_argument("--server", choices=SERVERS, default="session")
    watch.add_argument("--port", type=int, default=8000)
    watch.add_argument("--web-port", type=int, default=8089)
    watch.add_argument("--users", type=int, default=10, help="users to start with")
    serve = commands.add_parser("serve", help="serve one server with its own PostgreSQL")
    serve.add_argument("--server", choices=SERVERS, default="session")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--server-workers", type=int, default=1, help="the server's worker processes"
    )
    serve.add_argument(
        "--runtime",
        choices=runtime_catalogue.NAMES,
        default="python",
        help="which implementation of the server contract",
    )


def add_check_commands(commands) -> None:
    """The commands that check the instrument and the servers: xcheck, coverage, conform."""
    xcheck = commands.add_parser(
        "xcheck", help="Locust against an independent client: the same paired cell, both arrivals"
    )
    xcheck.add_argument("--fraction", type=float, default=0.15, help="of the group's capacity")
    xcheck.add_argument("--rate", type=float, help="total requests per second instead")
    xcheck.add_argument("--repeats", type=int, default=3, help="repeats at least")
    xcheck.add_argument(
        "--max-repeats", type=int, default=10, help="repeats at most, until the intervals resolve"
    )
    xcheck.add_argument("--duration", type=int, default=5, help="measured seconds per cell")
    xcheck.add_argument("--no-wrk", action="store_true", help="skip the wrk CPU cross-check")
    xcheck.add_argument(
        "--runtime",
        choices=runtime_catalogue.NAMES,
        default="python",
        help="whose twins to cross-check",
    )
    xcheck.add_argument("--json", action="store_true", help="a JSON list instead of lines")
    xcheck.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    coverage = commands.add_parser(
        "coverage",
        help="do the 95%% intervals hold the truth 95%% of the time? runs, then measures",
    )
    coverage.add_argument("--runs", type=int, default=5, help="how many runs to make")
    coverage.add_argument("--scenario", default="default")
    coverage.add_argument(
        "--from", dest="existing", type=Path, help="measure the runs already in this folder instead"
    )
    coverage.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    conform = commands.add_parser(
        "conform", help="the server contract's security catalogue against any running server"
    )
    conform.add_argument("url", help="the base URL, e.g. http://127.0.0.1:8000, https://host/auth")
    conform.add_argument("--kind", choices=("session", "jwt"), required=True)
    conform.add_argument("--secret", help="the HS256 secret, to sign tokens with wrong claims")
    conform.add_argument("--issuer", default="authbench")
    conform.add_argument("--audience", default="authbench-api")
    conform.add_argument("--username", default="user00001")
    conform.add_argument("--password", default="authbench-password")
    conform.add_argument(
        "--revokes", action="store_true", help="jwt: logout must revoke the token (a denylist)"
    )
    conform.add_argument("--ca-file", help="https: trust the CAs in this PEM file")
    conform.add_argument("--insecure", action="store_true", help="https: no certificate check")


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
    from bench.load.remote_workers import RemoteWorkers
    from bench.run import runner, scenario_toml
    from bench.system.datastores import check_named

    chosen = scenario_toml.load(args.scenario)
    if not Path("/proc/self/stat").exists():
        raise ResultsError(
            "make bench needs Linux (WSL 2 on Windows): it reads process trees "
            "and CPU time from /proc; the notebooks open the reference run anywhere"
        )
    if args.locust_workers is not None and args.locust_workers < 0:
        raise scenario_toml.ScenarioError("--locust-workers must be 0 or more")
    remote = RemoteWorkers.from_options(args.remote_workers, args.master_bind, args.remote_wait)
    check_named(chosen.needs_redis)  # DATABASE_URL, REDIS_URL: before any run folder exists
    job = runner.Runner(  # checks the external arms (url = entries) before making its folder
        chosen, args.results, args.label, args.locust_workers, _print_now, not args.no_pin, remote
    )
    try:
        job.run()
    except (KeyboardInterrupt, *expected_errors()):
        kept = len(job.record.cells)
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


def command_worker(args: argparse.Namespace) -> None:
    from bench.run.remote_worker import serve_master

    raise SystemExit(serve_master(args.master, args.processes, args.wait, _print_now))


def command_micro(args: argparse.Namespace) -> None:
    from bench.run.microbench import format_micro, run_micro, transports
    from bench.system.datastores import stores

    with stores(needs_redis=True, users=10) as up:
        dsns, redis_urls = transports(up.pg, up.kv)
        print(format_micro(run_micro(dsns, args.level, redis_urls)))


def command_plot(args: argparse.Namespace) -> None:
    from bench import analysis
    from bench.analysis.plots import draw_all

    for path in draw_all(analysis.load(args.run_dir)):
        print(f"plot: {path}")


def command_compare(args: argparse.Namespace) -> None:
    from bench import analysis

    print(analysis.compare_text(analysis.load(args.run_a), analysis.load(args.run_b)))


def command_verdict(args: argparse.Namespace) -> None:
    import json

    from bench import analysis

    run = analysis.load(args.run_dir)
    if args.json:
        print(json.dumps(analysis.verdict_json(run), indent=1))
        return
    print(analysis.verdict_text(run))


def command_xcheck(args: argparse.Namespace) -> None:
    from bench.run.xcheck import Ask, print_report, xcheck

    if not 0 < args.fraction <= 1.5 or not 2 <= args.repeats <= args.max_repeats:
        raise ResultsError("xcheck: --fraction in (0, 1.5] and 2 <= --repeats <= --max-repeats")
    ask = Ask(args.fraction, args.rate, args.repeats, args.max_repeats, 1.0, args.duration)
    folder, rows = xcheck(
        ask,
        args.results,
        _print_now if not args.json else lambda _: None,
        wrk=not args.no_wrk,
        runtime=args.runtime,
    )
    print_report(folder, rows, args.json)


def command_coverage(args: argparse.Namespace) -> None:
    from bench import analysis
    from bench.analysis.coverage import complete_runs_of, coverage_shown

    if args.existing is not None:
        folders = sorted(p.parent for p in args.existing.glob("*/run.json"))
    else:
        from bench.run.repeated_runs import repeated_runs

        folders = repeated_runs(args.scenario, args.runs, args.results, _print_now)
    runs = complete_runs_of([analysis.load(f) for f in folders], args.scenario)
    print(analysis.Table(coverage_shown(runs)))


def command_conform(args: argparse.Namespace) -> None:
    from bench.run.conform import command

    if command(args, _print_now):
        raise SystemExit(1)


def command_flamegraph(args: argparse.Namespace) -> None:
    from bench.run.flamegraph import flamegraph

    folder = flamegraph(
        args.server,
        args.seconds,
        args.results,
        _print_now,
        load_generator=args.load_generator,
        rate=args.rate,
    )
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
    from bench.analysis import runs_text

    print(runs_text(args.results))


def command_serve(args: argparse.Namespace) -> None:
    from bench.run.serve import serve

    serve(args.server, args.port, args.server_workers, args.runtime, args.host)


def command_watch(args: argparse.Namespace) -> None:
    from bench.run.serve import watch

    watch(args.server, args.port, args.web_port, args.users)


COMMANDS = {
    "run": command_run,
    "worker": command_worker,
    "micro": command_micro,
    "plot": command_plot,
    "compare": command_compare,
    "summary": command_summary,
    "report": command_report,
    "flamegraph": command_flamegraph,
    "verdict": command_verdict,
    "list": command_list,
    "serve": command_serve,
    "watch": command_watch,
    "xcheck": command_xcheck,
    "coverage": command_coverage,
    "conform": command_conform,
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
