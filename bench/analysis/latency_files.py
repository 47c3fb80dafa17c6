"""The paired cells' latency files, read back: per group, rate, repeat and arm, the recorded
latencies of every measured second (what the bootstrap resamples)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from bench.analysis.intervals import Seconds, weighted_quantile


def seconds_of(encoded: dict[str, Any], start: int, end: int, kind: str = "service") -> Seconds:
    """Per second of the measured window: the distinct recorded values and their counts."""
    out: Seconds = {}
    for key, slot in encoded.get("seconds", {}).items():
        second = int(key)
        if not start <= second < end or not slot.get(kind):
            continue
        histogram = HdrHistogram(1, 60_000_000, 3)
        histogram.decode_and_add(slot[kind])
        # Read the counts array directly (the library's iterator walks every bucket in Python).
        counts = np.ctypeslib.as_array(histogram.counts)
        filled = np.flatnonzero(counts)
        if filled.size:
            values = [
                histogram.get_highest_equivalent_value(histogram.get_value_from_index(int(i)))
                for i in filled
            ]
            out[second] = (np.array(values, dtype=float), counts[filled].astype(float))
    return out


@lru_cache(maxsize=8)
def _paired_data(run_dir: str, stamp: int) -> dict[Any, dict[int, dict[str, Seconds]]]:
    """{(group, rate or None for unloaded): {repeat: {arm: Seconds}}} from the latency files."""
    meta = json.loads((Path(run_dir) / "run.json").read_text())
    found: dict[Any, dict[int, dict[str, Seconds]]] = {}
    for cell in meta.get("cells", []):
        if "arms" not in cell or "window" not in cell:
            continue
        path = Path(run_dir) / cell["latency_file"]
        if not path.is_file():
            continue
        latency = json.loads(path.read_text())
        start, end = cell["window"]["start"], cell["window"]["end"]
        key = (cell.get("group", "main"), cell["rate"])
        found.setdefault(key, {})[cell["repeat"]] = {
            arm: seconds_of(encoded, start, end) for arm, encoded in latency.get("arms", {}).items()
        }
    return found


def paired_data(run) -> dict[Any, dict[int, dict[str, Seconds]]]:
    path = Path(run.path)
    return _paired_data(str(path.resolve()), (path / "run.json").stat().st_mtime_ns)


def per_second_medians(a: Seconds, b: Seconds, q: float = 0.5) -> list[float]:
    """a's quantile minus b's, second by second over the seconds both arms have, in order."""
    shared = sorted(set(a) & set(b))
    found = []
    for second in shared:
        (va, ca), (vb, cb) = a[second], b[second]
        qa = weighted_quantile(ca[np.argsort(va)][None, :], np.sort(va), q)[0]
        qb = weighted_quantile(cb[np.argsort(vb)][None, :], np.sort(vb), q)[0]
        found.append(float(qa - qb))
    return found
