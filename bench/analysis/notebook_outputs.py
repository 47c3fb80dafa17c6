"""Notebooks committed with their outputs, and the check that they equal a fresh execution.

A notebook is executed as it is committed (its parameters cell opens a committed reference run)
in a python3 kernel of this environment, and made stable before it is written back, so that
executing it again on the same run changes no byte: execution counts in order, no timing
metadata, the notebook's metadata as committed (no Python version), a cell's streams joined,
PNG figures without matplotlib's version in them and at a fixed dpi.

The check compares what a reader reads: every text output (streams, text/plain, Markdown, HTML,
errors), with memory addresses masked. Figures count by presence only: each figure output must
still be there, and `make docs` redraws them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CELL_TIMEOUT_S = 120
FIGURE_KINDS = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf")
FIGURE_DPI = 100
# Given to the kernel at start: figures drawn the same way on every machine with these versions
# (no "Software: Matplotlib version ..." text chunk, the dpi fixed, bbox as Jupyter's default).
KERNEL_ARGUMENTS = [
    "--InlineBackend.print_figure_kwargs="
    f"{{'bbox_inches': 'tight', 'dpi': {FIGURE_DPI}, 'metadata': {{'Software': None}}}}",
    "--InlineBackend.figure_formats={'png'}",
    "--IPKernelApp.log_level=ERROR",  # not a warning per notebook about TCP on localhost
]
# What differs between two executions of one notebook on one run without being a result.
MASKS = [
    (re.compile(r" at 0x[0-9a-fA-F]+"), " at 0x..."),  # an object's address in its repr
    (re.compile(r"\S*ipykernel_\d+/\d+\.py"), "<cell>"),  # a warning's cell, by kernel pid
]


def notebooks(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def execute(path: Path):
    """The notebook at `path` executed as committed, with its volatile parts made stable."""
    import nbformat
    from nbclient import NotebookClient

    committed = nbformat.read(path, as_version=4)
    nb = copy.deepcopy(committed)
    NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        extra_arguments=KERNEL_ARGUMENTS,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    nb.metadata = committed.metadata  # not the kernel's language_info (the Python version)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def write(nb, path: Path) -> bool:
    """Write `nb` to `path` if its text differs; True when it did."""
    import nbformat

    text = nbformat.writes(nb) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def mask(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def readable(cell) -> list[tuple[str, str]]:
    """A code cell's outputs as a reader meets them: (what, text) pairs, in order; a figure as
    its kind alone."""
    found = []
    for n, output in enumerate(cell.get("outputs", []), 1):
        kind = output.get("output_type")
        if kind == "stream":
            found.append((f"output {n} ({output.get('name')})", mask(_joined(output["text"]))))
        elif kind == "error":
            found.append((f"output {n} (error)", f"{output['ename']}: {output['evalue']}"))
        else:
            for mime, value in sorted(output.get("data", {}).items()):
                shown = "(a figure)" if mime in FIGURE_KINDS else mask(_joined(value))
                found.append((f"output {n} {mime}", shown))
    return found


@dataclass(frozen=True)
class Difference:
    notebook: str
    cell: int  # the cell's position in the notebook, from 1, as a reader counts them
    prompt: int | None  # its execution count, the [n] beside it
    what: str
    line: int
    committed: str
    fresh: str

    def __str__(self) -> str:
        prompt = f" [{self.prompt}]" if self.prompt else ""
        return (
            f"{self.notebook}: cell {self.cell}{prompt}, {self.what}, line {self.line}: "
            f"committed {self.committed!r}, fresh execution {self.fresh!r}"
        )


def _around(x: str, y: str, width: int = 40) -> tuple[str, str]:
    """Both lines cut to `width` characters either side of where they first differ."""
    at = next(
        (i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y))
    )
    start = max(0, at - width)

    def cut(line: str) -> str:
        end = at + width
        return ("..." if start else "") + line[start:end] + ("..." if end < len(line) else "")

    return cut(x), cut(y)


def _first_line_apart(a: str, b: str) -> tuple[int, str, str]:
    left, right = a.splitlines(), b.splitlines()
    for i in range(max(len(left), len(right))):
        x = left[i] if i < len(left) else "(nothing)"
        y = right[i] if i < len(right) else "(nothing)"
        if x != y:
            return i + 1, *_around(x, y)
    return 1, *_around(a, b)  # only line endings differ


def first_difference(name: str, committed, fresh) -> Difference | None:
    """Where a committed notebook's outputs first differ from a fresh execution, else None."""
    cells = list(zip(committed.cells, fresh.cells, strict=False))
    if len(committed.cells) != len(fresh.cells):
        return Difference(name, len(cells) + 1, None, "cells", 1, "", "a different cell count")
    for number, (old, new) in enumerate(cells, 1):
        if old.cell_type != "code":
            continue
        prompt = new.get("execution_count")
        if old.get("execution_count") != prompt:
            return Difference(
                name,
                number,
                prompt,
                "execution count",
                1,
                str(old.get("execution_count")),
                str(prompt),
            )
        said, says = readable(old), readable(new)
        for (what, text), (what_new, text_new) in zip(said, says, strict=False):
            if what != what_new or text != text_new:
                line, x, y = (
                    _first_line_apart(text, text_new) if what == what_new else (1, what, what_new)
                )
                return Difference(name, number, prompt, what, line, x, y)
        if len(said) != len(says):
            more = said[len(says) :] or says[len(said) :]
            missing = "(nothing)"
            x, y = (more[0][0], missing) if len(said) > len(says) else (missing, more[0][0])
            return Difference(name, number, prompt, "outputs", 1, x, y)
    return None
