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
    record = run.record
    env = record.environment
    status = record.status if record.status == "complete" else f"**{record.status}**"
    commit = (env.git_commit or "unknown")[:10] + (" (dirty)" if env.git_dirty else "")
    return (
        f"Run `{run.name}`: scenario **{record.scenario.name}**, {len(record.cells)} of "
        f"{record.planned_cells} cells, {status}; started {record.started_at}. Machine: "
        f"{env.cpu_model} ({env.cpu_count} cores), {env.os_release}, Python {env.python_version}, "
        f"PostgreSQL {env.postgres_version}, PyJWT {env.package('pyjwt')}, "
        f"asyncpg {env.package('asyncpg')}, Locust {env.package('locust')}; "
        f"authbench commit {commit}. Load average at start: {env.load_average_1m}."
    )
