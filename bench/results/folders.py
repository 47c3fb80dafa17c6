"""Results on disk: results/<UTC timestamp>-<label>/run.json plus one folder per cell.

run.json is rewritten (atomically) after every cell, so an interrupted run keeps what it
measured and says how it ended. Reading upgrades an older format, checks every field against
the types, and names what is wrong in one line. Nothing else reads run.json or a latency file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from bench.results.base import ResultsError
from bench.results.cell_records import CELL_TAGS
from bench.results.experiment_records import AVAILABILITY_TAGS
from bench.results.records import RunRecord
from bench.results.upgrade import upgrade

RUN_FILE = "run.json"
# What pydantic puts in an error's location after a list index to say which kind it tried.
UNION_TAGS = CELL_TAGS | AVAILABILITY_TAGS


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run_dir(root: Path, label: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", label):
        raise ResultsError(f"label {label!r} must be letters, digits, '.', '-' or '_'")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = root / f"{stamp}-{label}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{stamp}-{label}-{suffix}"
    (path / "cells").mkdir(parents=True)
    return path


def write_json(path: Path, data: Any) -> None:
    """Write through a temporary file and rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def write_run(run_dir: Path, run: RunRecord) -> None:
    write_json(run_dir / RUN_FILE, run.model_dump(mode="json"))


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{file} is corrupt: {exc.msg} at line {exc.lineno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{file} cannot be read: {exc}") from None


def where(location: tuple[int | str, ...]) -> str:
    """An error's location as dotted keys (cells.3.arms.session.requests), without the tag
    pydantic adds after a list index to say which kind of cell it tried."""
    parts = [
        str(part)
        for i, part in enumerate(location)
        if not (i and isinstance(location[i - 1], int) and part in UNION_TAGS)
    ]
    return ".".join(parts) or "(top level)"


def load_run(run_dir: str | Path) -> RunRecord:
    """run.json of a run folder, of any format, as the current one: checked field by field."""
    path = Path(run_dir)
    if not path.is_dir():
        raise ResultsError(f"{path} is not a results folder (no such directory)")
    file = path / RUN_FILE
    if not file.is_file():
        raise ResultsError(
            f"{path} has no {RUN_FILE}: not a results folder, or a run that never started"
        )
    raw = _read_json(file)
    if not isinstance(raw, dict):
        raise ResultsError(f"{file} is corrupt: not a JSON object")
    try:
        return RunRecord.model_validate(upgrade(raw))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise ResultsError(f"{file} is corrupt: {where(first['loc'])}: {first['msg']}") from None
    except ValueError as exc:  # the upgrade's own word on a format it cannot read
        raise ResultsError(f"{file}: {exc}") from None


class WithLatencyFile(Protocol):
    """A cell that keeps its per-second histograms in a file of the run folder (a paired cell)."""

    latency_file: str


def load_latency(run_dir: str | Path, cell: WithLatencyFile) -> dict[str, Any] | None:
    """A cell's latency file: per arm, its encoded per-second HdrHistograms
    ({"arms": {label: {"seconds": {second: {"service": ..., ...}}}}}); None if not kept."""
    file = Path(run_dir) / cell.latency_file
    if not file.is_file():
        return None
    latency = _read_json(file)
    if not isinstance(latency, dict):
        raise ResultsError(f"{file} is corrupt: not a JSON object")
    return latency


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every folder under root that holds a run.json, newest first; unreadable ones say why."""
    rows = []
    if not root.is_dir():
        return rows
    for path in sorted((p for p in root.iterdir() if (p / RUN_FILE).exists()), reverse=True):
        try:
            run = load_run(path)
        except ResultsError as exc:
            rows.append({"path": str(path), "status": "unreadable", "problem": str(exc)})
            continue
        rows.append(
            {
                "path": str(path),
                "status": run.status,
                "scenario": run.scenario.name,
                "label": run.label,
                "cells": len(run.cells),
                "planned_cells": run.planned_cells,
                "started_at": run.started_at,
            }
        )
    return rows
