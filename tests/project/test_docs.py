"""make docs and make docs-check: the notebooks' committed outputs equal a fresh execution, every
generated block of README.md and docs/ equals what the reference runs give, and one changed
digit in either makes the check fail, naming the place.

The notebooks are executed here once each (this is the test that runs them in make test).
"""

from __future__ import annotations

import copy
import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bench.analysis import docs, generated, markdown_blocks, notebook_outputs
from bench.analysis.notebook import project_root

ROOT = project_root()
NOTEBOOKS = notebook_outputs.notebooks(ROOT)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_outputs_equal_a_fresh_execution(path):
    problems = docs.check_notebook(path, ROOT)
    assert not problems, "\n".join(problems) + "\n`make docs` rewrites the outputs"


def test_generated_blocks_equal_what_the_reference_runs_give():
    problems = [p for path in docs.markdown_files(ROOT) for p in docs.check_markdown(path, ROOT)]
    assert not problems, "\n".join(problems)


def test_every_generated_block_is_shown_somewhere():
    shown = {
        block.name
        for path in docs.markdown_files(ROOT)
        for block in markdown_blocks.find(path.read_text().split("\n"), path.name)
    }
    assert shown == set(generated.BLOCKS)


MICROSECONDS = re.compile(r"\d[\d,.]*\s?µs")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def sections_outside_blocks(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each section (heading to heading) of a Markdown file, generated blocks
    left out."""
    lines = path.read_text().split("\n")
    for block in markdown_blocks.find(lines, path.name):
        lines[block.first : block.last + 1] = [""] * (block.last + 1 - block.first)
    starts = [0] + [i for i, line in enumerate(lines) if line.startswith("#")] + [len(lines)]
    return [(a + 1, "\n".join(lines[a:b])) for a, b in itertools.pairwise(starts)]


def test_prose_quotes_a_measured_figure_only_beside_the_date_of_its_run():
    """A figure in µs outside the generated blocks was measured elsewhere (the xcheck, the
    coverage runs, the timer fix...): its section names the day it was measured."""
    undated = [
        f"{path.relative_to(ROOT)}:{line}: {MICROSECONDS.search(text).group()}"
        for path in docs.markdown_files(ROOT)
        for line, text in sections_outside_blocks(path)
        if MICROSECONDS.search(text) and not DATE.search(text)
    ]
    assert not undated, "\n".join(undated)


def checkout(tmp_path: Path, *files: str) -> Path:
    """A checkout to spoil: `files` copied, the runs and the package linked, not copied."""
    root = tmp_path / "checkout"
    for name in ("bench", "results"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(ROOT / name)
    for name in ("pyproject.toml", *files):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    return root


def docs_command(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.analysis.docs", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def changed_digit(text: str) -> str:
    """`text` with its first digit changed."""
    match = re.search(r"\d", text)
    assert match, "no digit to change"
    digit = str((int(match.group()) + 1) % 10)
    return text[: match.start()] + digit + text[match.end() :]


def test_a_changed_digit_in_a_block_fails_the_check_naming_file_and_block(tmp_path):
    root = checkout(tmp_path, "README.md")
    readme = root / "README.md"
    original = readme.read_text()
    lines = original.split("\n")
    block = next(b for b in markdown_blocks.find(lines, "README.md") if b.name == "runtimes")
    row = next(i for i in range(block.first, block.last) if lines[i].startswith("| Node.js"))
    lines[row] = changed_digit(lines[row])
    readme.write_text("\n".join(lines))

    done = docs_command(root, "--check", "README.md")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"README.md:{row + 1}: generated block 'runtimes' is stale" in done.stderr
    assert readme.read_text() != original  # the check changes nothing

    done = docs_command(root, "README.md")  # make docs
    assert done.returncode == 0, done.stderr
    assert readme.read_text() == original


def test_a_block_without_its_end_or_with_an_unknown_name_is_named(tmp_path):
    root = checkout(tmp_path, "docs/coverage.md")
    page = root / "docs" / "coverage.md"
    text = page.read_text()
    page.write_text(text.replace(markdown_blocks.CLOSE, "", 1))
    done = docs_command(root, "--check", "docs/coverage.md")
    assert done.returncode == 1 and "block 'reference-claim' is never closed" in done.stderr

    page.write_text(text.replace("generated: reference-claim", "generated: no-such-block"))
    done = docs_command(root, "--check", "docs/coverage.md")
    assert done.returncode == 1
    assert "docs/coverage.md:" in done.stderr and "'no-such-block'" in done.stderr


def _first_markdown_output(nb) -> tuple[int, dict]:
    for number, cell in enumerate(nb.cells, 1):
        for output in cell.get("outputs", []):
            if re.search(r"\d", output.get("data", {}).get("text/markdown", "")):
                return number, output
    raise AssertionError("no Markdown output with a digit")


def test_a_changed_digit_in_a_notebook_output_fails_the_check_naming_the_cell(tmp_path):
    name = "notebooks/09-is-it-pythons-answer.ipynb"  # the quickest to execute
    root = checkout(tmp_path, name)
    nb = nbformat.read(root / name, as_version=4)
    number, output = _first_markdown_output(nb)
    text = "".join(output["data"]["text/markdown"])
    output["data"]["text/markdown"] = changed_digit(text)
    nbformat.write(nb, root / name)

    done = docs_command(root, "--check", name)
    assert done.returncode == 1, done.stdout + done.stderr
    prompt = nb.cells[number - 1].execution_count
    assert f"{name}: cell {number} [{prompt}], output" in done.stderr
    assert "text/markdown, line 1: committed" in done.stderr


def test_a_lost_figure_is_a_difference_and_a_redrawn_one_is_not():
    committed = nbformat.read(NOTEBOOKS[0], as_version=4)
    number, output = next(
        (n, o)
        for n, c in enumerate(committed.cells, 1)
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    )
    redrawn, lost = copy.deepcopy(committed), copy.deepcopy(committed)
    index = committed.cells[number - 1].outputs.index(output)
    redrawn.cells[number - 1].outputs[index]["data"]["image/png"] = "iVBORw0KGgo="
    del lost.cells[number - 1].outputs[index]["data"]["image/png"]
    assert notebook_outputs.first_difference("nb", committed, redrawn) is None
    found = notebook_outputs.first_difference("nb", committed, lost)
    assert found is not None and found.cell == number


def test_memory_addresses_are_masked():
    assert notebook_outputs.mask("<x.Table at 0x7fd702641550>") == "<x.Table at 0x...>"


def test_run_help_lists_every_scenario_file():
    """`python -m bench run --help` names every scenario in bench/run/scenarios, read from the
    folder: a scenario added there is listed without an edit to the help text."""
    from bench.cli import build_parser

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    scenario = next(a for a in run._actions if "--scenario" in a.option_strings)
    folder = Path(__file__).parents[2] / "bench" / "run" / "scenarios"
    names = sorted(p.stem for p in folder.glob("*.toml"))
    assert {"runtimes", "curve", "quick", "default", "full"} <= set(names)
    assert scenario.help == ", ".join(names) + " or a .toml path"
