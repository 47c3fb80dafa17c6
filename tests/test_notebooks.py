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

from bench import analysis
from bench.analysis import verdicts as claim
from bench.analysis.notebook import open_run, pointed_at, project_root

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))


def execute(notebook: Path, run_path: Path) -> list[str]:
    """Run a notebook with RUN pointed at `run_path` (papermill-style); return its Markdown."""
    nb = nbformat.read(notebook, as_version=4)
    (parameters,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = pointed_at(parameters.source, run_path)
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


def altered_copy(tmp_path_factory, name: str, change) -> Path:
    """A copy of the reference run whose run.json `change` edits in place."""
    reference = open_run()
    folder = tmp_path_factory.mktemp("runs") / f"20990101T000000Z-{name}"
    shutil.copytree(reference.path, folder, ignore=shutil.ignore_patterns("plots", "*.log"))
    meta = json.loads((folder / "run.json").read_text())
    change(meta)
    (folder / "run.json").write_text(json.dumps(meta))
    return folder


def test_notebook_06_says_when_nothing_recovered_and_nothing_was_recorded(tmp_path_factory):
    def never_recovered(meta):
        for result in meta.get("availability") or []:
            result["recovered_after_s"] = None
            result["slowest_answer_ms"] = None

    folder = altered_copy(tmp_path_factory, "no-recovery", never_recovered)
    shown = "\n".join(execute(project_root() / "notebooks" / "06-availability.ipynb", folder))
    assert "never served again before the SIGTERM" in shown
    assert "slowest answer is not measured" in shown
    assert "served again within" not in shown


def test_notebooks_02_to_08_render_a_run_without_any_experiment(tmp_path_factory):
    """A default run has no micro-benchmarks off, no distance, variants or outage: every
    notebook must still render and say what is missing instead of failing."""

    def strip(meta):
        for key in ("revocation", "availability"):
            meta.pop(key, None)
        meta["micro"] = None
        groups = meta["scenario"].get("paired") or []
        meta["scenario"]["paired"] = [g for g in groups if g.get("name", "main") == "main"]
        meta["cells"] = [
            c for c in meta["cells"] if c.get("group", "main") == "main" and not c.get("db_delay")
        ]

    folder = altered_copy(tmp_path_factory, "bare", strip)
    for notebook in NOTEBOOKS[1:]:
        shown = "\n".join(execute(notebook, folder))
        assert shown, notebook.name
    distance = "\n".join(
        execute(project_root() / "notebooks" / "03-database-distance.ipynb", folder)
    )
    assert "no paired PostgreSQL distance sweep" in distance
    assert "no paired Redis distance sweep" in distance
    picks = "\n".join(
        execute(project_root() / "notebooks" / "07-what-users-pick-instead.ipynb", folder)
    )
    assert "did not time the Redis lookup" in picks
    assert "no paired session-store comparison" in picks


def test_notebook_08_says_how_far_the_model_missed(tmp_path_factory):
    """Halve what the two-worker servers measured: the check must call the model optimistic."""

    def halve(meta):
        for cell in meta["cells"]:
            if cell.get("label", "").endswith("_2_workers"):
                cell["ok_rps"] /= 2

    notebook = project_root() / "notebooks" / "08-the-bill-at-scale.ipynb"
    reference = analysis.model_check_sentence(open_run())
    shown = "\n".join(execute(notebook, altered_copy(tmp_path_factory, "halved", halve)))
    assert "below the prediction: the model is optimistic here" in shown
    assert reference not in shown


def test_report_is_one_html_file_with_every_notebook_and_figure(tmp_path_factory):
    """`make report RUN=...`: every notebook rendered against the run, figures embedded."""
    import subprocess
    import sys

    folder = altered_copy(tmp_path_factory, "report", lambda meta: None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "report", str(folder)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    path = Path(done.stdout.strip().splitlines()[-1].removeprefix("report: "))
    assert path == folder / "report.html"
    html = path.read_text()
    for notebook in NOTEBOOKS:
        title = nbformat.read(notebook, as_version=4).cells[0].source.splitlines()[0][2:]
        assert title.split("·")[-1].strip()[:30] in html, notebook.name
    assert html.count("data:image/png;base64") >= len(NOTEBOOKS)
    assert 'src="http' not in html  # nothing fetched from elsewhere for the figures
    assert "RUN = " not in html  # the parameters cells are left out
