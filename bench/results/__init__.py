"""The results format: run folders, run.json written atomically through typed records, read
back (of any format, upgraded in one place) and checked.

The public surface: what the run side writes with and the read side reads through. The types
themselves are in bench.results.records (the run), cell_records (cells and their figures),
scenario_records (the scenario as run), run_settings (settings, thresholds, environment) and
experiment_records (micro-benchmarks, revocation, availability). It imports nothing of the
project.
"""

from bench.results.base import ResultsError
from bench.results.folders import (
    RUN_FILE,
    list_runs,
    load_latency,
    load_run,
    new_run_dir,
    utc_now,
    write_json,
    write_run,
)
from bench.results.records import FORMAT_VERSION, RunRecord

__all__ = [
    "FORMAT_VERSION",
    "RUN_FILE",
    "ResultsError",
    "RunRecord",
    "list_runs",
    "load_latency",
    "load_run",
    "new_run_dir",
    "utc_now",
    "write_json",
    "write_run",
]
