"""Notebooks: their conclusions are computed, exercises ask before they tell, and a different run
gives different sentences.

(tests/project/test_docs.py executes every notebook against the reference run and checks that the
outputs committed with it are what that execution gives.)
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bench import analysis
from bench.analysis import verdicts
from bench.analysis.notebook import open_run, pointed_at, project_root
from bench.results.cell_records import PairedCell
from tests.support import synthetic

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))


def run_notebook(notebook: Path, run_path: Path):
    """A notebook executed with RUN pointed at `run_path` (papermill-style)."""
    nb = nbformat.read(notebook, as_version=4)
    (parameters,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = pointed_at(parameters.source, run_path)
    NotebookClient(
        nb, timeout=180, resources={"metadata": {"path": str(notebook.parent)}}
    ).execute()
    return nb


def outputs_text(cell) -> str:
    found = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        found.append(
            data.get("text/markdown", "") or data.get("text/plain", "") or output.get("text", "")
        )
        found.append(data.get("text/html", ""))
    return "\n".join(found)


def execute(notebook: Path, run_path: Path) -> list[str]:
    """Run a notebook against a run; return its Markdown outputs."""
    nb = run_notebook(notebook, run_path)
    return [
        output["data"]["text/markdown"]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]


def altered_copy(tmp_path_factory, name: str, change) -> Path:
    """A copy of the reference run whose run.json `change` edits in place."""
    reference = open_run()
    folder = tmp_path_factory.mktemp("runs") / f"20990101T000000Z-{name}"
    shutil.copytree(
        reference.path, folder, ignore=shutil.ignore_patterns("plots", "*.log", "report.html")
    )
    meta = json.loads((folder / "run.json").read_text())
    change(meta)
    (folder / "run.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def swapped_run(tmp_path_factory) -> Path:
    """The reference run with the claim's two servers' latencies swapped in every paired cell:
    a world where the session server is the faster one."""
    reference = open_run()
    head = reference.model.claim.headline
    folder = tmp_path_factory.mktemp("runs") / "20990101T000000Z-swapped"
    shutil.copytree(
        reference.path, folder, ignore=shutil.ignore_patterns("plots", "*.log", "report.html")
    )
    for cell in reference.cells:
        if isinstance(cell, PairedCell) and {head.a, head.b} <= set(cell.arms):
            path = folder / cell.latency_file
            latency = json.loads(path.read_text())
            arms = latency["arms"]
            arms[head.a], arms[head.b] = arms[head.b], arms[head.a]
            path.write_text(json.dumps(latency))
    return folder


def test_notebooks_are_numbered_committed_with_outputs_and_link_the_glossary():
    """Every code cell but the parameters has outputs, counted in order, with nothing of the
    execution's own (timings, the Python version) that would change on the next `make docs`."""
    assert [nb.name[:3] for nb in NOTEBOOKS] == [f"{i:02d}-" for i in range(1, len(NOTEBOOKS) + 1)]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
        assert "../docs/glossary.md" in nb.cells[0].source, path.name
        assert nb.metadata.language_info == {"name": "python"}, path.name
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), path.name
        for number, cell in enumerate(nb.cells, 1):
            assert "execution" not in cell.metadata, f"{path.name} cell {number}"
            if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
                assert cell.outputs, f"{path.name} cell {number} has no output: run make docs"


def exercises(nb) -> dict[str, dict[str, list[int]]]:
    found: dict[str, dict[str, list[int]]] = {}
    for i, cell in enumerate(nb.cells):
        if mark := cell.metadata.get("exercise"):
            found.setdefault(mark["key"], {}).setdefault(mark["role"], []).append(i)
    return found


def test_every_notebook_has_an_exercise_that_asks_before_it_tells():
    """By the cells' roles: each exercise's prompt comes before every cell that reveals its
    answer, and before the answer itself, which is folded."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        found = exercises(nb)
        assert found, f"{path.name} has no exercise"
        for key, roles in found.items():
            (prompt,) = roles["prompt"]
            assert "**Predict.**" in nb.cells[prompt].source, key
            assert all(prompt < i for i in roles.get("reveals", []) + roles["answer"]), key
            assert "<details>" in nb.cells[roles["answer"][0]].source, key


def markdown_outputs(nb) -> str:
    return "\n".join(
        output["data"]["text/markdown"]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    )


def shown(figure: str, text: str) -> bool:
    """Whether `text` states `figure` as a whole figure (an answer of "0" is not given away by
    "0.55" or "2026"), or, for a signed one, as a magnitude with its direction in words (the
    headline says "119 µs slower" where an answer says "+119 µs")."""
    if re.search(rf"(?<![\w.]){re.escape(figure)}(?!\w|\.\d)", text):
        return True
    bare = figure.lstrip("+-−")
    return bare != figure and bool(re.search(rf"(?<![\w.]){re.escape(bare)} (slower|faster)", text))


def outside_folds(path: Path) -> str:
    """A Markdown file without its folded parts (<details>): what a reader meets unasked."""
    return re.sub(r"<details>.*?</details>", "", path.read_text(), flags=re.S)


def test_no_answer_is_printed_before_its_prompt():
    """By the committed outputs (tests/project/test_docs.py keeps them equal to a fresh
    execution on the reference run): the figure each answer puts in bold appears nowhere a
    reader meets before the exercise's prompt: in the notebook above it (every output), in the
    sentences of the notebooks before it, or unfolded in README.md and docs/workshop.md."""
    root = project_root()
    prose = {name: outside_folds(root / name) for name in ("README.md", "docs/workshop.md")}
    earlier = ""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for key, roles in exercises(nb).items():
            answer = outputs_text(nb.cells[roles["answer"][0]])
            figures = [
                f
                for f in re.findall(r"\*\*([^*]+)\*\*", answer)
                if re.search(r"\d", f) and not re.match(r"[A-Za-z]", f)  # figures, not names
            ]
            assert figures, f"{path.name} {key}: the answer puts no figure in bold"
            above = "\n".join(outputs_text(c) for c in nb.cells[: roles["prompt"][0]])
            places = {"above the prompt": above, "in an earlier notebook": earlier, **prose}
            for figure in figures:
                for place, text in places.items():
                    if place != "above the prompt" and re.fullmatch(r"[\d.,]+", figure):
                        continue  # a bare number elsewhere is more likely another quantity
                    assert not shown(figure, text), f"{path.name} {key}: {figure!r} {place}"
        earlier += markdown_outputs(nb)


def test_the_answer_follows_the_data(swapped_run):
    notebook = project_root() / "notebooks" / "01-the-claim.ipynb"
    reference, swapped = open_run(), analysis.load(swapped_run)
    said_reference, said_swapped = analysis.headline(reference), analysis.headline(swapped)
    assert said_reference != said_swapped
    head = reference.model.claim.headline
    rows = [r for r in verdicts.paired_verdicts(swapped) if (r.a, r.b) == (head.a, head.b)]
    assert "holds" not in {r.verdict for r in rows}  # the session server is never the slower one
    assert "the claim holds here" not in analysis.answer_sentence(swapped)
    shown_reference = "\n".join(execute(notebook, reference.path))
    shown_swapped = "\n".join(execute(notebook, swapped_run))
    # The answer stands at the top; what moves it is folded below it (<details>), so the
    # headline is shown in two parts: each run's own, and not the other's.
    ours, theirs = analysis.answer_sentence(reference), analysis.answer_sentence(swapped)
    moved = analysis.flips_sentence(reference)
    assert ours in shown_reference and theirs not in shown_reference
    assert theirs in shown_swapped and ours not in shown_swapped
    assert moved in shown_reference and "<details><summary>What moves it" in shown_reference


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


def test_notebooks_render_a_run_without_any_experiment(tmp_path_factory):
    """A run with the claim group alone (no micro-benchmarks, distance, variants, outage, other
    runtimes): every notebook must still render and say what is missing instead of failing."""

    def strip(meta):
        for key in ("revocation", "availability", "micro_runtimes"):
            meta.pop(key, None)
        meta["micro"] = None
        claim = open_run().model.claim.name
        meta["scenario"]["paired"] = [
            g for g in meta["scenario"].get("paired") or [] if g.get("name", "main") == claim
        ]
        meta["cells"] = [
            c for c in meta["cells"] if c.get("group", claim) == claim and not c.get("db_delay")
        ]

    folder = altered_copy(tmp_path_factory, "bare", strip)
    shown = {nb.name: "\n".join(execute(nb, folder)) for nb in NOTEBOOKS[1:]}
    assert all(shown.values())
    assert "no paired PostgreSQL distance sweep" in shown["03-database-distance.ipynb"]
    assert "did not time the Redis lookup" in shown["07-what-users-pick-instead.ipynb"]
    assert "no paired session-store comparison" in shown["07-what-users-pick-instead.ipynb"]
    assert "measured one runtime only" in shown["09-is-it-pythons-answer.ipynb"]


def test_notebook_08_says_how_far_the_model_missed(tmp_path_factory):
    """Halve what the two-worker servers measured: the check must call the model optimistic."""
    twins = {s.label for s in open_run().model.servers.values() if s.workers > 1}

    def halve(meta):
        for cell in meta["cells"]:
            if cell.get("label") in twins:
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
        capture_output=True,
        text=True,
        timeout=900,
    )
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


def test_notebook_10_teaches_the_curve_on_a_run_that_has_one(tmp_path):
    """The committed outputs hold the reference run's own curve sentences; on a synthetic curve
    run every curve cell runs and shows that run's computed sentences and its five figures; a
    run without a curve is told so."""
    from tests.support import curve_runs

    notebook = project_root() / "notebooks" / "10-up-to-the-knee.ipynb"
    committed = "\n".join(outputs_text(c) for c in nbformat.read(notebook, as_version=4).cells)
    reference = open_run()
    assert analysis.curve_sentence(reference) in committed
    assert "This run has no load curve" not in committed
    sc, cells = synthetic.claim_run(tmp_path, session=900)
    plain = synthetic.write(tmp_path / "plain", sc, cells)
    told = "\n".join(outputs_text(c) for c in run_notebook(notebook, plain.path).cells)
    assert "This run has no load curve" in told
    _, run = curve_runs.together_and_alone(tmp_path)
    nb = run_notebook(notebook, run.path)
    shown = "\n".join(outputs_text(c) for c in nb.cells)
    for sentence in (
        analysis.curve_sentence,
        analysis.service_time_sentence,
        analysis.curve_model_sentence,
        analysis.interference_sentence,
        analysis.utilisation_sentence,
    ):
        assert sentence(run) in shown, sentence.__name__
    assert "This run has no load curve" not in shown
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures == 5
    assert "<details><summary>Answer (from this run)</summary>" in shown
