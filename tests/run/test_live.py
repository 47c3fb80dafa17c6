"""LIVE = True: each notebook runs a short scenario of its own experiment, never the full
scenario, and says what it runs and about how long before it starts."""

from __future__ import annotations

import re

import nbformat
import pytest

from bench.analysis.notebook import project_root
from bench.run import live
from bench.run.scenario_toml import load

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))
MOST_MINUTES = 8  # a live run is a notebook's short experiment, not the 30-minute full scenario


def live_scenario(notebook) -> str:
    nb = nbformat.read(notebook, as_version=4)
    (found,) = [
        m.group(1) for c in nb.cells if (m := re.search(r"live_run\('([a-z0-9-]+)'\)", c.source))
    ]
    return found


# What each notebook reads, as a question about its live scenario.
READS = {
    "01": lambda s: any(g.question == "claim" for g in s.paired) and s.micro != "off",
    "02": lambda s: {g.question for g in s.paired} >= {"claim", "arrivals"} and s.closed_users,
    "03": lambda s: any(g.question == "distance" for g in s.paired),
    "04": lambda s: s.revocation is not None and any(g.question == "variants" for g in s.paired),
    "05": lambda s: any(g.question == "algorithms" for g in s.paired) and s.micro != "off",
    "06": lambda s: s.availability is not None,
    "07": lambda s: {g.question for g in s.paired} >= {"claim", "stores", "profile"},
    "08": lambda s: any(spec.workers > 1 for spec in s.servers) and s.closed_users,
    "09": lambda s: len([g for g in s.paired if g.question == "runtimes"]) == 3,
    "10": lambda s: s.curve is not None,
}


def test_every_notebook_runs_its_own_short_experiment():
    names = {nb.name[:2]: live_scenario(nb) for nb in NOTEBOOKS}
    assert set(names) == set(READS)
    assert len(set(names.values())) == len(names), names  # one scenario per notebook
    for number, name in names.items():
        scenario = load(name)
        assert READS[number](scenario), f"{name} lacks what notebook {number} reads"
        assert live.planned_s(scenario) <= MOST_MINUTES * 60, name
    assert live.planned_s(load("full")) > MOST_MINUTES * 60  # what LIVE once started


@pytest.mark.parametrize("name", ["quick", "live-distance", "live-curve"])
def test_a_live_run_says_what_it_runs_and_how_long_before_it_starts(name):
    said = live.announcement(name)
    minutes = max(1, -(-live.planned_s(load(name), live.between_cells_s()) // 60))
    assert f"about {minutes:.0f} minute" in said
    assert load(name).description in said
    assert "set-up not included" in said


def test_the_time_between_cells_is_read_from_the_reference_run(tmp_path):
    assert live.between_cells_s(tmp_path) == live.DEFAULT_BETWEEN_S  # no reference run there
    assert 0 <= live.between_cells_s() < 30
