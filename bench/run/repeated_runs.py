"""Several runs of one scenario in a row, for `authbench coverage`: do the intervals of
repeated runs on one machine cover each other as often as they claim (bench.analysis.coverage)?
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.run import runner, scenario_toml


def repeated_runs(
    scenario: str, runs: int, results: Path, out: Callable[[str], None]
) -> list[Path]:
    """`runs` complete runs of `scenario`, one after the other, each in its own folder under
    results/coverage-<scenario>/ (their progress unprinted); returns the folders."""
    chosen = scenario_toml.load(scenario)
    root = results / f"coverage-{chosen.name}"
    folders = []
    for i in range(1, runs + 1):
        out(f"coverage run {i} of {runs} ({chosen.name}) ...")
        folders.append(runner.Runner(chosen, root, f"coverage-{i}", None, lambda _: None).run())
    return folders
