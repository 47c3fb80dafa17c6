"""One self-contained HTML page per run: every notebook executed against that run, in order.

For sharing a run with people who will not open Jupyter. The notebooks are executed with
nbclient (their parameters cell pointed at the run), joined into one notebook, and exported
with nbconvert's HTMLExporter, which embeds every figure as a data URI: one file, no folder.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from bench.analysis.notebook import pointed_at, project_root
from bench.analysis.runs import Run

REPORT_FILE = "report.html"
CELL_TIMEOUT_S = 300


def notebooks() -> list[Path]:
    return sorted((project_root() / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def execute(path: Path, run_dir: Path):
    """One notebook, executed with RUN pointed at `run_dir`; returns the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = pointed_at(cell.source, run_dir)
    NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return nb


def build_report(run: Run, out: Callable[[str], None] = print) -> Path:
    """Execute every notebook against `run` and write RUN/report.html; returns its path."""
    import nbformat
    from nbconvert import HTMLExporter

    run_dir = Path(run.path).resolve()
    joined = nbformat.v4.new_notebook()
    joined.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    joined.cells.append(
        nbformat.v4.new_markdown_cell(
            f"# authbench report: `{run.name}`\n\nEvery notebook of the project, executed "
            f"against this run. Each sentence under a figure is computed from the run's data."
        )
    )
    paths = notebooks()
    started = time.monotonic()
    for i, path in enumerate(paths, 1):
        out(f"[{i}/{len(paths)}] {path.name} (elapsed {time.monotonic() - started:.0f} s)")
        executed = execute(path, run_dir)
        for cell in executed.cells:
            if "parameters" in cell.metadata.get("tags", []):
                continue  # the reader does not need the RUN = ... line of every notebook
            if cell.get("id"):
                cell["id"] = f"{path.stem[:2]}-{cell['id']}"  # unique across the notebooks
            joined.cells.append(cell)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(joined)
    # The template loads require.js and MathJax from a CDN; these notebooks need neither, and
    # the page must open offline: drop every script fetched from elsewhere.
    body = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
    target = run_dir / REPORT_FILE
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(target)
    return target
