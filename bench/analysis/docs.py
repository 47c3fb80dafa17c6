"""`make docs` and `make docs-check`: what the repository shows of the committed reference runs.

    python -m bench.analysis.docs                  # rewrite the notebooks' outputs and the
                                                   # generated blocks of README.md and docs/
    python -m bench.analysis.docs --check          # change nothing; exit 1 naming each stale
                                                   # block (file:line) or output (notebook, cell)
    python -m bench.analysis.docs [--root DIR] [FILE ...]   # another checkout, or these files only

Both read only committed runs (bench.analysis.generated names which block reads which) and
execute each notebook once (bench.analysis.notebook_outputs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.analysis import generated, markdown_blocks, notebook_outputs
from bench.analysis.notebook import project_root


def markdown_files(root: Path) -> list[Path]:
    """The prose that may quote a run: README.md and docs/*.md."""
    return [p for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))] if p.exists()]


def _where(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _render(root: Path, where: str, block: markdown_blocks.Block | None = None):
    def render(name: str) -> str:
        if name not in generated.BLOCKS:
            line = f":{block.line}" if block else ""
            raise markdown_blocks.BlockError(
                f"{where}{line}: no generated block is named {name!r} "
                f"(bench/analysis/generated.py has {', '.join(sorted(generated.BLOCKS))})"
            )
        return generated.render(name, root)

    return render


def check_markdown(path: Path, root: Path) -> list[str]:
    """One line per stale or unknown block of a Markdown file."""
    where = _where(path, root)
    lines = path.read_text(encoding="utf-8").split("\n")
    problems = []
    try:
        for block in markdown_blocks.find(lines, where):
            wanted = _render(root, where, block)(block.name)
            if said := markdown_blocks.stale(lines, block, wanted, where):
                problems.append(said)
    except markdown_blocks.BlockError as exc:
        problems.append(str(exc))
    return problems


def write_markdown(path: Path, root: Path) -> bool:
    """Rewrite a Markdown file's blocks; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    where = _where(path, root)
    new = markdown_blocks.fill(text, _render(root, where), where)
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def _executed(path: Path, root: Path):
    """(the freshly executed notebook, None) or (None, one line saying why it did not run)."""
    from nbclient.exceptions import CellExecutionError

    try:
        return notebook_outputs.execute(path), None
    except CellExecutionError as exc:
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return None, f"{_where(path, root)}: does not execute: {last}"


def check_notebook(path: Path, root: Path) -> list[str]:
    """One line naming the first output of a committed notebook that a fresh execution does
    not give, or nothing."""
    import nbformat

    fresh, failed = _executed(path, root)
    if failed:
        return [failed]
    committed = nbformat.read(path, as_version=4)
    found = notebook_outputs.first_difference(_where(path, root), committed, fresh)
    return [str(found)] if found else []


def write_notebook(path: Path, root: Path) -> bool:
    fresh, failed = _executed(path, root)
    if failed:
        raise SystemExit(f"make docs: {failed}")
    return notebook_outputs.write(fresh, path)


def _targets(root: Path, files: list[Path]) -> tuple[list[Path], list[Path]]:
    if not files:
        return markdown_files(root), notebook_outputs.notebooks(root)
    paths = [f if f.is_absolute() else root / f for f in files]
    for path in paths:
        if not path.is_file() or path.suffix not in (".md", ".ipynb"):
            raise SystemExit(f"make docs: {path} is not a Markdown file or a notebook")
    return [p for p in paths if p.suffix == ".md"], [p for p in paths if p.suffix == ".ipynb"]


def run(root: Path, files: list[Path], check: bool, out=print) -> int:
    """Regenerate (or check) `files` under `root`, all of them by default; the exit status."""
    markdown, notebooks = _targets(root, files)
    problems: list[str] = []
    for path in markdown:
        if check:
            problems += check_markdown(path, root)
        elif write_markdown(path, root):
            out(f"{_where(path, root)}: generated blocks rewritten")
    for path in notebooks:
        started = time.monotonic()
        if check:
            found = check_notebook(path, root)
            problems += found
            said = "stale" if found else "fresh"
        else:
            said = "outputs rewritten" if write_notebook(path, root) else "unchanged"
        out(f"{_where(path, root)}: {said} ({time.monotonic() - started:.0f} s)")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"make docs-check: {len(problems)} stale place(s); `make docs` regenerates them "
            "from the reference runs",
            file=sys.stderr,
        )
        return 1
    if check:
        out(
            f"make docs-check: {len(markdown)} Markdown file(s), {len(notebooks)} notebook(s) fresh"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.analysis.docs",
        description="Regenerate (or check) the notebooks' outputs and the generated blocks of "
        "README.md and docs/ from the committed reference runs.",
    )
    parser.add_argument("--check", action="store_true", help="change nothing; fail when stale")
    parser.add_argument("--root", type=Path, help="the checkout (the project root by default)")
    parser.add_argument("files", nargs="*", type=Path, help="only these (paths from the root)")
    args = parser.parse_args(argv)
    root = (args.root or project_root()).resolve()
    try:
        return run(root, args.files, args.check)
    except markdown_blocks.BlockError as exc:
        print(f"make docs: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
