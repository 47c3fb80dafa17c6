"""The paired cells' latency files, decoded: per group, rate, repeat and arm, the recorded
latencies of every measured second (what the intervals and the drift check read). The files
are read by bench.results.load_latency, the cells come from the loaded run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from bench.analysis.intervals import Seconds, weighted_quantile
from bench.results import RUN_FILE, load_latency
from bench.results.cell_records import Cell, PairedCell


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


PairedData = dict[tuple[str, float | None], dict[int, dict[str, Seconds]]]
# Decoded runs by (folder, run.json's modification time): decoding is the slow part.
_DECODED: dict[tuple[str, int], PairedData] = {}
_KEEP = 8


def _decode(run_dir: Path, cells: list[Cell]) -> PairedData:
    """{(group, rate or None for unloaded): {repeat: {arm: Seconds}}} from the latency files."""
    found: PairedData = {}
    for cell in cells:
        if not isinstance(cell, PairedCell):
            continue
        latency = load_latency(run_dir, cell)
        if latency is None:
            continue
        start, end = cell.window.start, cell.window.end
        found.setdefault((cell.group, cell.rate), {})[cell.repeat] = {
            arm: seconds_of(encoded, start, end) for arm, encoded in latency.get("arms", {}).items()
        }
    return found


def paired_data(run) -> PairedData:
    path = Path(run.path).resolve()
    key = (str(path), (path / RUN_FILE).stat().st_mtime_ns)
    if key not in _DECODED:
        while len(_DECODED) >= _KEEP:
            _DECODED.pop(next(iter(_DECODED)))
        _DECODED[key] = _decode(path, run.cells)
    return _DECODED[key]


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
