"""What the notebooks import: find the project, open a run, describe it.

Notebooks hold narrative and calls; loading, tables, plots and sentences live in the package. A
live bench (LIVE = True) is bench.run.live: the read side starts nothing.
"""

from __future__ import annotations

from pathlib import Path

from bench.analysis.runs import Run, load

REFERENCE_RUN = "results/reference"


def project_root(start: Path | None = None) -> Path:
    """The folder holding pyproject.toml, searching upwards (notebooks run from notebooks/)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "bench").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def open_run(name: str = REFERENCE_RUN) -> Run:
    """A run folder, as a path or relative to the project root (results/reference by default)."""
    path = Path(name)
    if not path.is_absolute() and not path.exists():
        path = project_root() / path
    return load(path)


def pointed_at(parameters: str, run_dir: Path | str) -> str:
    """A notebook's parameters cell with RUN set to `run_dir` and LIVE off; its other
    parameters (PG_NODE_CORES, ...) kept as they are."""
    kept = [line for line in parameters.splitlines() if not line.startswith(("RUN", "LIVE"))]
    return "\n".join([f"RUN = {str(run_dir)!r}", "LIVE = False", *kept])


def describe(run: Run) -> str:
    """One paragraph of Markdown: what was measured, where and when."""
    env, scenario = run.meta["environment"], run.meta["scenario"]
    cells = len(run.cells)
    planned = run.meta.get("planned_cells", cells)
    status = run.meta["status"] if run.meta["status"] == "complete" else f"**{run.meta['status']}**"
    commit = (env.get("git_commit") or "unknown")[:10] + (
        " (dirty)" if env.get("git_dirty") else ""
    )
    return (
        f"Run `{run.name}`: scenario **{scenario['name']}**, {cells} of {planned} cells, {status}; "
        f"started {run.meta.get('started_at')}. Machine: {env.get('cpu_model')} "
        f"({env.get('cpu_count')} cores), {env.get('os_release')}, Python {env.get('python_version')}, "
        f"PostgreSQL {env.get('postgres_version')}, PyJWT {env.get('package_pyjwt')}, "
        f"asyncpg {env.get('package_asyncpg')}, Locust {env.get('package_locust')}; "
        f"authbench commit {commit}. Load average at start: {env.get('load_average_1m')}."
    )
