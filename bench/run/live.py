"""A short bench run from a notebook (LIVE = True): run as a subprocess, never inside the kernel
(gevent's monkey-patching fights the kernel's event loop), then opened like any run."""

from __future__ import annotations

import subprocess
import sys

from bench.analysis.notebook import project_root
from bench.analysis.runs import Run, load


def live_run(scenario: str = "quick", label: str = "live") -> Run:
    root = project_root()
    before = set((root / "results").glob("*/run.json"))
    subprocess.run(
        [sys.executable, "-m", "bench", "run", "--scenario", scenario, "--label", label],
        cwd=root,
        check=True,
    )
    (new,) = set((root / "results").glob("*/run.json")) - before
    return load(new.parent)
