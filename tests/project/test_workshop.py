"""docs/workshop.md works as written: every scenario file it gives parses as the harness reads
it, every make target and scenario it names exists, every notebook section it points to is
there, and it quotes no figure of a run that a notebook exercise asks for (see
tests/project/test_notebooks.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat

from bench.run.scenario_toml import SCENARIO_DIR, parse

ROOT = Path(__file__).resolve().parents[2]
WORKSHOP = ROOT / "docs" / "workshop.md"


def toml_blocks(text: str) -> list[str]:
    """Every ```toml block, its indentation (inside a numbered item) removed."""
    found = []
    for indent, body in re.findall(r"^( *)```toml\n(.*?)^\1```", text, flags=re.S | re.M):
        found.append("\n".join(line.removeprefix(indent) for line in body.splitlines()))
    return found


def test_every_scenario_file_of_the_workshop_parses():
    """Exercise 2 and Exercise 8 give whole files: warm-up, duration, [load], and for a paired
    group its baseline arm. A file that the harness refuses would stop a room."""
    blocks = toml_blocks(WORKSHOP.read_text())
    assert len(blocks) >= 2
    for text in blocks:
        scenario = parse(tomllib.loads(text), Path("workshop.toml"))
        assert scenario.plan()
        for group in scenario.paired:
            assert group.baseline in group.arms


def test_every_make_target_and_scenario_it_names_exists():
    text = WORKSHOP.read_text()
    targets = set(re.findall(r"^([a-z-]+):.*##", (ROOT / "Makefile").read_text(), flags=re.M))
    named = set(re.findall(r"`make ([a-z-]+)", text))
    assert named and named <= targets, named - targets
    files = set(re.findall(r"`([a-z-]+\.toml)`", text))
    for scenario in set(re.findall(r"SCENARIO=([\w.-]+)", text)):
        assert scenario in files or (SCENARIO_DIR / f"{scenario}.toml").is_file(), scenario


def test_every_notebook_section_it_points_to_is_there():
    text = " ".join(WORKSHOP.read_text().split())
    notebooks = {p.stem: p for p in (ROOT / "notebooks").glob("*.ipynb")}
    for name in set(re.findall(r"`(\d\d-[a-z-]+)`", text)):
        assert name in notebooks, name
    for name, numbers in re.findall(r"`(\d\d-[a-z-]+)`,? sections? (\d+(?: to \d+)?)", text):
        headings = "\n".join(c.source for c in nbformat.read(notebooks[name], as_version=4).cells)
        first, *last = (int(n) for n in numbers.split(" to "))
        for number in range(first, (last[0] if last else first) + 1):
            assert re.search(rf"^## {number}\. ", headings, flags=re.M), (name, number)
