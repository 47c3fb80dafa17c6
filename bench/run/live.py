"""A short bench run from a notebook (LIVE = True): run as a subprocess, never inside the kernel
(gevent's monkey-patching fights the kernel's event loop), then opened like any run.

Each notebook names its own short scenario (bench/run/scenarios/live-*.toml; `quick` for
01-the-claim): that notebook's experiment alone, never the full scenario. Before it starts, the
notebook says what it runs and about how long that takes by the scenario's plan.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

from bench.analysis.notebook import project_root
from bench.analysis.runs import Run, load
from bench.run.scenario import Scenario
from bench.run.scenario_plan import CurveBlock, PairedCell
from bench.run.scenario_toml import load as load_scenario

MICRO_S = {"off": 0.0, "quick": 15.0, "full": 60.0}  # the micro-benchmarks, about
DEFAULT_BETWEEN_S = 3.0  # when no reference run says how long a cell's start and stop take


def between_cells_s(root: Path | None = None) -> float:
    """What the harness spent between one cell's measured window and the next one's warm-up
    (stopping, starting, the answer check): the median over the committed reference run."""
    record = (root or project_root()) / "results" / "reference" / "run.json"
    try:
        meta = json.loads(record.read_text())
    except (OSError, ValueError):
        return DEFAULT_BETWEEN_S
    scenario = meta.get("scenario") or {}
    groups = {g.get("name", "main"): g for g in scenario.get("paired") or []}
    cells = [c for c in meta.get("cells") or [] if c.get("window")]
    gaps = []
    for before, after in itertools.pairwise(cells):
        group = groups.get(after.get("group") or "", scenario)
        warmup = group.get("warmup_s", scenario.get("warmup_s", 0)) or 0
        gaps.append(after["window"]["start"] - before["window"]["end"] - warmup)
    return max(0.0, statistics.median(gaps)) if gaps else DEFAULT_BETWEEN_S


def planned_s(scenario: Scenario, between_s: float = DEFAULT_BETWEEN_S) -> float:
    """About how long a scenario runs by its plan: every cell's warm-up and measured window,
    `between_s` around each, the micro-benchmarks, and the revocation and availability
    experiments. An estimate to plan by, not a measurement."""
    total = MICRO_S.get(scenario.micro, 0.0)
    for cell in scenario.plan():
        if isinstance(cell, PairedCell):
            total += cell.group.warmup_s + cell.group.duration_s + between_s
        elif isinstance(cell, CurveBlock):
            total += cell.curve.warmup_s + cell.curve.duration_s + between_s + 2.0  # drain
        else:
            total += scenario.warmup_s + scenario.duration_s + between_s
    if scenario.revocation is not None:
        total += len(scenario.revocation.servers) * (scenario.revocation.probe_for_s + between_s)
    if scenario.availability is not None:
        total += len(scenario.availability.servers) * (scenario.availability.duration_s + between_s)
    return total


def announcement(name: str, root: Path | None = None) -> str:
    """What a notebook prints before its live run starts: which scenario, what it measures,
    about how many minutes by its plan."""
    scenario = load_scenario(name)
    minutes = max(1, math.ceil(planned_s(scenario, between_cells_s(root)) / 60))
    return (
        f"LIVE = True: running the `{name}` scenario now, about {minutes} minute"
        f"{'s' if minutes > 1 else ''} by its plan ({len(scenario.plan())} cells; set-up not "
        f"included). {scenario.description} Its progress lines follow; then this notebook "
        "reads that run."
    )


def live_run(scenario: str = "quick", label: str = "live") -> Run:
    root = project_root()
    print(announcement(scenario, root), flush=True)
    before = set((root / "results").glob("*/run.json"))
    subprocess.run(
        [sys.executable, "-m", "bench", "run", "--scenario", scenario, "--label", label],
        cwd=root,
        check=True,
    )
    (new,) = set((root / "results").glob("*/run.json")) - before
    return load(new.parent)
