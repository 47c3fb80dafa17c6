"""The architecture as checks: the import contracts hold and fail when broken, the read-side
commands load nothing that starts a process, and modules and functions stay readable."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
RUN_SIDE = ("bench.run", "bench.load", "bench.system")
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("bench/analysis/runs.py", "import bench.system.postgres", "The read side starts nothing"),
        ("bench/analysis/verdicts.py", "import asyncpg", "The read side starts nothing"),
        ("bench/system/pinning.py", "import bench.run.runner", "Rooms in layers"),
        ("servers/common.py", "import bench.results", "The servers stand alone"),
        ("bench/load/recorder.py", "import bench.analysis", "The load and system rooms know"),
        ("bench/system/pinning.py", "import bench.results", "The load and system rooms know"),
        ("bench/results/__init__.py", "import bench.analysis", "The results format imports"),
        ("bench/results/records.py", "import bench.load.arrivals", "The results format imports"),
        ("bench/results/upgrade.py", "import servers.store", "The results format imports"),
        ("bench/results/folders.py", "import bench", "not import the bench package itself"),
    ],
)
def test_an_import_across_a_boundary_breaks_its_contract(tmp_path, module, line, contract):
    for folder in ("bench", "servers"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # crosses a boundary\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout


@pytest.mark.parametrize("command", [["verdict", "results/reference"], ["list"], ["--help"]])
def test_read_side_commands_load_nothing_that_starts_a_process(command):
    probe = (
        "import sys\nfrom bench.cli import main\n"
        f"try:\n    main({command!r})\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(" + repr(RUN_SIDE) + "))\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "LOADED []" in result.stderr, result.stderr[-2000:]


def python_files() -> list[Path]:
    return sorted(p for folder in ("bench", "servers") for p in (ROOT / folder).rglob("*.py"))


def test_modules_stay_readable():
    long = {
        str(p.relative_to(ROOT)): n
        for p in python_files()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_stay_readable():
    long = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_every_module_name_is_unique_across_the_rooms():
    names: dict[str, list[str]] = {}
    for path in python_files():
        if path.name not in ("__init__.py", "__main__.py"):
            names.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    assert not {n: p for n, p in names.items() if len(p) > 1}
