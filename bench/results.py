"""Results on disk: results/<UTC timestamp>-<label>/run.json plus one folder per cell.

run.json is rewritten (atomically) after every cell, so an interrupted run keeps what it
measured and says how it ended. Reading checks the folder and names what is wrong in one line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
FORMAT_VERSION = 1
STATUSES = ("running", "complete", "interrupted", "failed")


class ResultsError(ValueError):
    """A results folder that cannot be read; the message names the folder and the problem."""


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


def write_run(run_dir: Path, run: dict[str, Any]) -> None:
    write_json(run_dir / RUN_FILE, run)


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """run.json of a run folder, checked: its shape, not just that it parses."""
    path = Path(run_dir)
    if not path.is_dir():
        raise ResultsError(f"{path} is not a results folder (no such directory)")
    file = path / RUN_FILE
    if not file.is_file():
        raise ResultsError(
            f"{path} has no {RUN_FILE}: not a results folder, or a run that never started"
        )
    try:
        run = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{file} is corrupt: {exc.msg} at line {exc.lineno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{file} cannot be read: {exc}") from None
    if not isinstance(run, dict):
        raise ResultsError(f"{file} is corrupt: not a JSON object")
    for key, kind in (("cells", list), ("scenario", dict), ("environment", dict), ("status", str)):
        if not isinstance(run.get(key), kind):
            raise ResultsError(f"{file} is corrupt: '{key}' missing or not a {kind.__name__}")
    if run["status"] not in STATUSES:
        raise ResultsError(f"{file} is corrupt: unknown status {run['status']!r}")
    for i, cell in enumerate(run["cells"], 1):
        if not isinstance(cell, dict) or not {"id", "model"} <= cell.keys():
            raise ResultsError(f"{file} is corrupt: cell {i} lacks id or model")
        if not ("server" in cell or isinstance(cell.get("arms"), dict)):
            raise ResultsError(f"{file} is corrupt: cell {i} names neither a server nor arms")
    run["path"] = str(path)
    return run


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
                "status": run["status"],
                "scenario": run["scenario"].get("name"),
                "label": run.get("label"),
                "cells": len(run["cells"]),
                "planned_cells": run.get("planned_cells"),
                "started_at": run.get("started_at"),
            }
        )
    return rows
