"""run.json, typed: everything a run writes, defined once, written by the run side and read by
the read side through these same types.

Format 3 (this one) is the first written through types; older runs are brought to it on load
by bench.results.upgrade, in one place. Keys on disk keep the names they have always had.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.results.base import Record
from bench.results.cell_records import Cell
from bench.results.experiment_records import (
    Availability,
    MicroRecord,
    RevocationRecord,
    RuntimeMicroRecord,
)
from bench.results.load_records import CapacityRecord
from bench.results.run_settings import Environment, RunSettings
from bench.results.scenario_records import ScenarioRecord

FORMAT_VERSION = 5
Status = Literal["running", "complete", "interrupted", "failed"]


class RunRecord(Record):
    """One run: how it was asked (scenario, settings), where it ran, how it ended, and what it
    measured. Rewritten after every cell: an interrupted run keeps its finished cells."""

    format: int = FORMAT_VERSION
    label: str
    status: Status
    started_at: str
    finished_at: str | None
    error: str | None = None  # the first line of what stopped a failed run
    scenario: ScenarioRecord
    settings: RunSettings
    environment: Environment
    planned_cells: int
    cells: list[Cell]
    micro: MicroRecord | None = None
    micro_runtimes: dict[str, RuntimeMicroRecord] | None = None  # by runtime: "node"
    revocation: list[RevocationRecord] = Field(default_factory=list)
    availability: list[Availability] = Field(default_factory=list)
    # Each server's capacity, measured closed loop in this run (by label): what loads given as
    # fractions of capacity were resolved against.
    capacity: dict[str, CapacityRecord] = Field(default_factory=dict)
