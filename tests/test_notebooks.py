"""Notebooks: their conclusions are computed, so a different run gives different sentences.

(nbmake, configured in pyproject.toml, also executes every notebook against the reference run.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bench import analysis
from bench.notebook import open_run, project_root

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))


def execute(notebook: Path, run_path: Path) -> list[str]:
    """Run a notebook with RUN pointed at `run_path` (papermill-style); return its Markdown."""
    nb = nbformat.read(notebook, as_version=4)
    (parameters,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = f"RUN = {str(run_path)!r}\nLIVE = False"
    NotebookClient(
        nb, timeout=120, resources={"metadata": {"path": str(notebook.parent)}}
    ).execute()
    return [
        output["data"]["text/markdown"]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]


@pytest.fixture(scope="module")
def second_run(tmp_path_factory) -> Path:
    """The reference run with the session server made faster than JWT: a different world."""
    reference = open_run()
    meta = copy.deepcopy(reference.meta)
    for cell in meta["cells"]:
        if cell["label"] == "session":
            for key in ("latency_us", "corrected_latency_us"):
                if cell.get(key):
                    cell[key] = {k: (v * 0.25 if k.startswith("p") or k in ("max", "mean") else v)
                                 for k, v in cell[key].items()}  # fmt: skip
    folder = tmp_path_factory.mktemp("runs") / "20990101T000000Z-altered"
    folder.mkdir()
    meta.pop("path", None)
    (folder / "run.json").write_text(json.dumps(meta))
    return folder


def test_notebooks_are_numbered_and_stripped():
    assert [nb.name[:3] for nb in NOTEBOOKS] == [f"{i:02d}-" for i in range(1, len(NOTEBOOKS) + 1)]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_the_verdict_follows_the_data(second_run):
    notebook = project_root() / "notebooks" / "01-the-claim.ipynb"
    reference, altered = open_run(), analysis.load(second_run)
    expected_reference = analysis.claim_sentence(analysis.check_claim(reference))
    expected_altered = analysis.claim_sentence(analysis.check_claim(altered))
    assert expected_reference != expected_altered
    assert analysis.check_claim(altered).verdict == "does not hold"

    overall_reference, overall_altered = (
        analysis.overall_sentence(reference),
        analysis.overall_sentence(altered),
    )
    assert overall_reference != overall_altered and "held at 0 of" in overall_altered

    shown_reference = "\n".join(execute(notebook, open_run().path))
    shown_altered = "\n".join(execute(notebook, second_run))
    assert expected_reference in shown_reference and expected_altered not in shown_reference
    assert expected_altered in shown_altered and expected_reference not in shown_altered
    assert overall_reference in shown_reference and overall_altered in shown_altered
