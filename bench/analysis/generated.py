"""Every run figure in README.md and docs/, generated from a committed reference run.

A Markdown file holds such a figure between `<!-- generated: NAME -->` and
`<!-- end generated -->`; `make docs` writes what BLOCKS[NAME] renders from its run, and
`make docs-check` fails when the file says anything else. Figures measured elsewhere (coverage
runs, the cross-check, the timer fix) stay in the prose, which names their run and date.

Each block is a sentence or a small table, computed by the read side's public functions.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from bench.analysis.answer import headline_row
from bench.analysis.runs import Run, load
from bench.analysis.runtimes import RUNTIME_NAMES, runtime_rows
from bench.analysis.spacing import arrivals_rows, servers_per_process
from bench.analysis.verdict_lines import signed

REFERENCE = "results/reference"
RUNTIMES = "results/reference-runtimes"
WIDTH = 100


@dataclass(frozen=True)
class Block:
    runs: tuple[str, ...]  # relative to the project root; render is given them in this order
    render: Callable[..., str]
    shows: str


def _folder(run: Run) -> str:
    return f"`{run.path.parent.name}/{run.path.name}`"


def _day_and_machine(run: Run) -> str:
    env = run.record.environment
    cores = f", {env.cpu_count} cores" if env.cpu_count else ""
    return f"{str(run.record.started_at)[:10]}, {env.cpu_model or 'a machine'}{cores}"


def which_run(run: Run) -> str:
    """The run, as prose names it: folder, scenario, day and machine."""
    scenario = run.record.scenario.name
    return f"{_folder(run)} (the {scenario} scenario, {_day_and_machine(run)})"


def _took(run: Run) -> str:
    """How long a run took from its start to its end, as recorded: '25 min 33 s'."""
    started, finished = run.record.started_at, run.record.finished_at
    if not started or not finished:
        return "an unrecorded time"
    seconds = round(
        (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    )
    return f"{seconds // 60} min {seconds % 60} s"


def durations(*runs: Run) -> str:
    """How long each reference run took, start to end (set-up and installation not included)."""
    said = [
        f"the `{run.record.scenario.name}` reference run took {_took(run)} ({_folder(run)}, "
        f"{_day_and_machine(run)})"
        for run in runs
    ]
    return "From start to end, set-up not included: " + "; ".join(said) + "."


def _estimate(row: dict) -> str:
    return (
        f"{signed(row['delta_p50_us'])} µs ({signed(row['ci_low_us'])} to "
        f"{signed(row['ci_high_us'])}), {row['verdict']}"
    )


def arrivals(run: Run) -> str:
    """session - jwt_auth per rate, with random and with evenly spaced arrivals, in one run."""
    head = run.model.claim.headline
    by_rate: dict[float, dict[str, dict]] = {}
    for row in arrivals_rows(run):
        by_rate.setdefault(row["rate"], {})[row["arrivals"]] = row
    servers = servers_per_process(run)
    alike = len(set(servers.values())) == 1
    lines = [
        f"In the reference run {which_run(run)}, {head.a} − {head.b} per total rate: difference "
        "of median response times (from each request's intended start), 95% interval and "
        "verdict, with both arrival processes in the same run. "
        + (
            "Both groups share the total rate among as many servers."
            if alike
            else "The two groups share the total rate among different numbers of servers, so "
            "each server's own rate differs between the columns as well as the spacing:"
        ),
        "",
        "| total rate | each server's rate (random / evenly spaced) | random (Poisson) arrivals "
        f"({servers.get('poisson', '?')} servers) | evenly spaced "
        f"({servers.get('uniform', '?')} servers) |",
        "|---|---|---|---|",
    ]
    for rate, found in sorted(by_rate.items()):
        shown = [
            _estimate(found[k]) if k in found else "not measured" for k in ("poisson", "uniform")
        ]
        each = " / ".join(
            f"{rate / servers[k]:,.1f}" for k in ("poisson", "uniform") if k in servers
        )
        lines.append(f"| {rate:,.0f} req/s | {each} req/s | {shown[0]} | {shown[1]} |")
    return "\n".join(lines)


def _cpu(row: dict) -> str:
    def us(value):
        return "-" if value is None else f"{value:,.0f}"

    return (
        f"{us(row['session_server_us'])} (+{us(row['session_db_us'])}) / "
        f"{us(row['jwt_server_us'])} / {us(row['http_stack_us'])}"
    )


def _in_process(row: dict) -> str:
    if row["runtime"] == "fastapi":
        return "the same code as Python"
    verify, lookup = row["verify_us_in_process"], row["lookup_us_in_process"]
    if verify is None or lookup is None:
        return "not measured"
    return f"{verify:,.0f} / {lookup:,.0f} µs"


def runtimes(run: Run) -> str:
    """Per runtime at the reference rate: the claim's verdict, CPU per request, in-process."""
    rows = [r for r in runtime_rows(run) if r["rate"] == run.reference_rate_of(r["group"])]
    fraction = run.record.scenario.reference_fraction
    rate = (
        f"{fraction:.0%} of each stack's capacity"
        if fraction is not None
        else f"{run.reference_rate:,.0f} req/s"
        if run.reference_rate
        else "the reference rate"
    )
    lines = [
        f"In the reference run {which_run(run)}:",
        "",
        f"| runtime | session − JWT at {rate}, median response time (95% interval, margin) "
        "| verdict | server CPU "
        "µs/request: session (+ PostgreSQL) / JWT / control | in-process: JWT verify / session "
        "lookup |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {RUNTIME_NAMES.get(r['runtime'], r['runtime'])} | {signed(r['delta_p50_us'])} µs "
            f"({signed(r['ci_low_us'])} to {signed(r['ci_high_us'])}, ±{r['margin_us']:,.0f}) "
            f"| {r['verdict']} | {_cpu(r)} | {_in_process(r)} |"
        )
    if not rows:
        lines = [f"The reference run {which_run(run)} has no runtime compared at {rate}."]
    return "\n".join(lines)


def claim(run: Run) -> str:
    """The headline figure of the reference run, to set beside figures of other runs."""
    row = headline_row(run)
    if row is None:
        return f"The reference run {which_run(run)} has no paired comparison of the claim."
    at = "one request at a time" if row.rate is None else f"at {row.rate:,.0f} req/s"
    return (
        f"The reference run {which_run(run)}, {row.repeats} repeats, gives for {row.a} − "
        f"{row.b} {at}, on the median {row.latency} time: {signed(row.delta_us)} µs (95% interval {signed(row.ci_low_us)} to "
        f"{signed(row.ci_high_us)} µs, margin ±{row.margin_us:,.0f} µs), {row.verdict}."
    )


BLOCKS: dict[str, Block] = {
    "durations": Block((REFERENCE, RUNTIMES), durations, "how long each reference run took"),
    "arrivals": Block((REFERENCE,), arrivals, "the claim per rate under both arrival processes"),
    "runtimes": Block((RUNTIMES,), runtimes, "the claim, CPU and in-process cost per runtime"),
    "reference-claim": Block((REFERENCE,), claim, "the headline figure with its interval"),
}


@cache
def _run(folder: Path) -> Run:
    return load(folder)


def render(name: str, root: Path) -> str:
    """Block `name` as Markdown, from its runs under `root`. KeyError for an unknown name."""
    block = BLOCKS[name]
    return _wrapped(block.render(*(_run(root / run) for run in block.runs)))


def _wrapped(markdown: str) -> str:
    """Paragraphs wrapped at the width of the prose around them; tables left as they are."""
    paragraphs = markdown.strip().split("\n\n")
    return "\n\n".join(
        p if p.startswith("|") else textwrap.fill(p, WIDTH, break_on_hyphens=False)
        for p in paragraphs
    )
