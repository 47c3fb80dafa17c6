"""The latency files, decoded: per paired group, rate, repeat and arm, the recorded latencies of
every measured second (what the intervals and the drift check read), and per curve server,
rate and repeat its response and service times. The files are read by
bench.results.load_latency, the cells come from the loaded run.

Response time counts from each request's intended start (what a user waits, queueing in the
client included); service time from the moment it left the client. A fixed-rate verdict judges
response time; the unloaded mode has no intended start and judges service time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from bench.analysis.intervals import Seconds, weighted_quantile
from bench.results import RUN_FILE, load_latency
from bench.results.cell_records import Cell, CurveCell, PairedCell


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
# What each (group, rate) of PairedData holds: "response" (from the intended start) or "service".
Latencies = dict[tuple[str, float | None], str]
# A load curve's cells: {(server, rate): {repeat: {"response": Seconds, "service": Seconds}}}.
CurveData = dict[tuple[str, float], dict[int, dict[str, Seconds]]]
# A latency file keeps "corrected" histograms (from the intended start) and "service" ones.
ON_DISK = {"response": "corrected", "service": "service"}
Decoded = tuple[PairedData, Latencies, CurveData]
# Decoded runs by (folder, run.json's modification time): decoding is the slow part.
_DECODED: dict[tuple[str, int], Decoded] = {}
_KEEP = 8


def judged(
    arms: dict[str, Any], rate: float | None, start: int, end: int
) -> tuple[str, dict[str, Seconds]]:
    """(latency, {arm: Seconds}): what a verdict judges. At a fixed rate the response time
    (from each request's intended start: what a user waits); unloaded, with no intended start,
    the service time. A loaded cell that kept no response-time histograms gives its service
    time, and says so."""
    if rate is not None:
        found = {arm: seconds_of(e, start, end, ON_DISK["response"]) for arm, e in arms.items()}
        if any(found.values()):
            return "response", found
    return "service", {arm: seconds_of(e, start, end, "service") for arm, e in arms.items()}


def _one_server(latency: dict[str, Any], label: str) -> dict[str, Any]:
    """A curve cell's file: {"arms": {label: ...}} as a paired cell's, or the recorder's own."""
    arms = latency.get("arms")
    if not isinstance(arms, dict):
        return latency
    return arms.get(label) or next(iter(arms.values()), {})


def _decode(run_dir: Path, cells: list[Cell]) -> Decoded:
    """The paired cells' judged latencies per (group, rate or None), repeat and arm, and what
    they are; the curve cells' response and service times per (server, rate) and repeat."""
    found: PairedData = {}
    kinds: Latencies = {}
    curve: CurveData = {}
    for cell in cells:
        if not isinstance(cell, PairedCell | CurveCell):
            continue
        latency = load_latency(run_dir, cell)
        if latency is None:
            continue
        start, end = cell.window.start, cell.window.end
        if isinstance(cell, CurveCell):
            encoded = _one_server(latency, cell.label)
            curve.setdefault((cell.label, cell.rate), {})[cell.repeat] = {
                kind: seconds_of(encoded, start, end, on_disk) for kind, on_disk in ON_DISK.items()
            }
            continue
        kind, arms = judged(latency.get("arms", {}), cell.rate, start, end)
        key = (cell.group, cell.rate)
        found.setdefault(key, {})[cell.repeat] = arms
        kinds[key] = "service" if kinds.get(key) == "service" else kind
    return found, kinds, curve


def _decoded(run) -> Decoded:
    path = Path(run.path).resolve()
    key = (str(path), (path / RUN_FILE).stat().st_mtime_ns)
    if key not in _DECODED:
        while len(_DECODED) >= _KEEP:
            _DECODED.pop(next(iter(_DECODED)))
        _DECODED[key] = _decode(path, run.cells)
    return _DECODED[key]


def paired_data(run) -> PairedData:
    """{(group, rate or None for unloaded): {repeat: {arm: Seconds}}}: the latency each paired
    verdict judges (paired_latency says which)."""
    return _decoded(run)[0]


def paired_latency(run) -> Latencies:
    """Per (group, rate) of paired_data: "response" or "service" (see `judged`)."""
    return _decoded(run)[1]


def curve_data(run) -> CurveData:
    """{(server, rate): {repeat: {"response": Seconds, "service": Seconds}}} of a load curve."""
    return _decoded(run)[2]


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
