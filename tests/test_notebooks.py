"""Notebooks: their conclusions are computed, so a different run gives different sentences.

(nbmake, configured in pyproject.toml, also executes every notebook against the reference run.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bench import analysis, claim
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
    """The reference run with the session and JWT servers' latencies swapped in every paired
    cell: a world where the session server is the faster one."""
    reference = open_run()
    folder = tmp_path_factory.mktemp("runs") / "20990101T000000Z-altered"
    shutil.copytree(reference.path, folder, ignore=shutil.ignore_patterns("plots", "*.log"))
    for cell in reference.cells:
        if "arms" in cell and {"session", "jwt_auth"} <= set(cell["arms"]):
            path = folder / cell["latency_file"]
            latency = json.loads(path.read_text())
            arms = latency["arms"]
            arms["session"], arms["jwt_auth"] = arms["jwt_auth"], arms["session"]
            path.write_text(json.dumps(latency))
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
    said_reference, said_altered = analysis.headline(reference), analysis.headline(altered)
    assert said_reference != said_altered
    verdicts = {
        r.rate: r.verdict
        for r in claim.paired_verdicts(altered)
        if (r.a, r.b) == ("session", "jwt_auth")
    }
    assert "holds" not in verdicts.values()  # the session server is never the slower one now
    assert "session is slower than jwt_auth" not in said_altered

    shown_reference = "\n".join(execute(notebook, open_run().path))
    shown_altered = "\n".join(execute(notebook, second_run))
    assert said_reference in shown_reference and said_altered not in shown_reference
    assert said_altered in shown_altered and said_reference not in shown_altered
