"""Exact latencies, one HdrHistogram per wall-clock second, in microseconds.

Locust's own percentiles round to whole milliseconds below 100 ms, too coarse for an effect of
0.05 to 0.5 ms. The Locust user hands every request's exact figures to a `Recorder`; Locust
workers send theirs to the master with each stats report (`drain` / `merge`: HdrHistograms add
exactly), and the master writes one file. Keeping a histogram per second lets the runner pick
the measured window afterwards, in whole seconds that match its CPU samples, and gives the
latency-over-time timeline for free.

Per second: `service` (from request start to response, what Locust calls response time),
`corrected` (fixed-rate model only: from the request's *intended* start, so that a stalled
server cannot hide its stall by delaying the requests that would have measured it), `auth`
(the server's own Server-Timing figure), status counts, and requests that started late.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000  # one minute
SIGNIFICANT_DIGITS = 3
# p50 .. p99.99 and max, plus enough points to draw the percentile spectrum.
SPECTRUM = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0)
# A fixed-rate request starting more than 2 ms after its slot is late. gevent sleeps through
# epoll_wait, whose timeout is in whole milliseconds: up to 1 ms of overshoot is the load
# generator's timer, the same for every server, and is not counted as late.
LATE_AFTER_S = 0.002


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def _us(seconds_or_us: float) -> int:
    return min(HIGHEST_US, max(LOWEST_US, round(seconds_or_us)))


@dataclass
class Second:
    """What happened to the requests that started (or were meant to start) in one second."""

    service: HdrHistogram = field(default_factory=new_histogram)
    corrected: HdrHistogram = field(default_factory=new_histogram)
    auth: HdrHistogram = field(default_factory=new_histogram)
    statuses: Counter = field(default_factory=Counter)
    late: int = 0
    cache_hits: int = 0

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def encode(self) -> dict[str, Any]:
        return {
            "service": self.service.encode().decode(),
            "corrected": self.corrected.encode().decode() if self.corrected.total_count else None,
            "auth": self.auth.encode().decode() if self.auth.total_count else None,
            "statuses": {str(code): n for code, n in self.statuses.items()},
            "late": self.late,
            "cache_hits": self.cache_hits,
        }

    def add_encoded(self, data: dict[str, Any]) -> None:
        self.service.decode_and_add(data["service"])
        if data.get("corrected"):
            self.corrected.decode_and_add(data["corrected"])
        if data.get("auth"):
            self.auth.decode_and_add(data["auth"])
        self.statuses.update({int(code): n for code, n in data["statuses"].items()})
        self.late += data.get("late", 0)
        self.cache_hits += data.get("cache_hits", 0)


class Recorder:
    """Per-second histograms; `drain` hands over what was recorded since the last drain.

    `record` only appends a tuple (well under a microsecond: it runs in the load generator's
    hot path, once per request); the histograms are filled when anything reads them.
    """

    def __init__(self) -> None:
        self._seconds: dict[int, Second] = {}
        self._pending: list[tuple] = []
        self.cpu_warnings = 0

    def record(
        self,
        second: int,
        service_us: float,
        status: int,
        auth_us: float | str | None = None,
        corrected_us: float | None = None,
        late: bool = False,
    ) -> None:
        """One request. `auth_us` may be the raw Server-Timing header (parsed later)."""
        self._pending.append((second, service_us, status, auth_us, corrected_us, late))

    @property
    def seconds(self) -> dict[int, Second]:
        if self._pending:
            pending, self._pending = self._pending, []
            for second, service_us, status, auth_us, corrected_us, late in pending:
                slot = self._seconds.get(second)
                if slot is None:
                    slot = self._seconds[second] = Second()
                slot.service.record_value(_us(service_us))
                if corrected_us is not None:
                    slot.corrected.record_value(_us(corrected_us))
                if isinstance(auth_us, str):
                    slot.cache_hits += cache_hit(auth_us)
                    auth_us = parse_server_timing(auth_us)
                if auth_us is not None:
                    slot.auth.record_value(_us(auth_us))
                slot.statuses[status] += 1
                slot.late += late
        return self._seconds

    @property
    def total(self) -> int:
        return sum(slot.count for slot in self.seconds.values())

    def encode(self) -> dict[str, Any]:
        return {
            "seconds": {
                str(second): slot.encode() for second, slot in sorted(self.seconds.items())
            },
            "cpu_warnings": self.cpu_warnings,
        }

    def drain(self) -> dict[str, Any]:
        """Everything recorded so far, encoded, and start afresh (for report_to_master)."""
        data = self.encode()
        self._seconds, self.cpu_warnings = {}, 0
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add what another recorder encoded (a worker's report, or a file)."""
        seconds = self.seconds
        for second, encoded in data.get("seconds", {}).items():
            slot = seconds.setdefault(int(second), Second())
            slot.add_encoded(encoded)
        self.cpu_warnings += data.get("cpu_warnings", 0)

    @classmethod
    def from_encoded(cls, data: dict[str, Any]) -> Recorder:
        recorder = cls()
        recorder.merge(data)
        return recorder

    def window(self, start: int, end: int) -> Window:
        """The requests of seconds start .. end-1, merged."""
        merged = Window()
        for second in range(start, end):
            slot = self.seconds.get(second)
            if slot is not None:
                merged.add(slot)
        return merged

    def timeline(self) -> list[dict[str, Any]]:
        """Per second: count, statuses and service-time percentiles (for over-time plots)."""
        rows = []
        for second, slot in sorted(self.seconds.items()):
            rows.append(
                {
                    "second": second,
                    "count": slot.count,
                    "statuses": {str(code): n for code, n in sorted(slot.statuses.items())},
                    "p50_us": slot.service.get_value_at_percentile(50.0),
                    "p99_us": slot.service.get_value_at_percentile(99.0),
                    "max_us": slot.service.get_max_value(),
                }
            )
        return rows


class Window(Second):
    """Several seconds merged: the measured window of a cell."""

    def add(self, slot: Second) -> None:
        self.service.add(slot.service)
        self.corrected.add(slot.corrected)
        self.auth.add(slot.auth)
        self.statuses.update(slot.statuses)
        self.late += slot.late
        self.cache_hits += slot.cache_hits


def percentiles(histogram: HdrHistogram) -> dict[str, float] | None:
    """p0 .. p100 of SPECTRUM plus mean and count, in microseconds; None when empty."""
    if histogram.total_count == 0:
        return None
    values = {f"p{p:g}": histogram.get_value_at_percentile(p) for p in SPECTRUM[:-1]}
    values["max"] = histogram.get_max_value()
    values["mean"] = round(histogram.get_mean_value(), 1)
    values["count"] = histogram.total_count
    return values


def parse_server_timing(value: str | None) -> float | None:
    """`auth;dur=0.123` (milliseconds) to microseconds; None when absent or unreadable. Other
    metrics after a comma (`, cache;desc=hit`) are left to `cache_hit`."""
    if not value or not value.startswith("auth;dur="):
        return None
    try:
        return float(value[9:].split(",", 1)[0]) * 1000.0
    except ValueError:
        return None


def cache_hit(value: str | None) -> bool:
    """Whether the server answered the auth step from its own cache (`cache;desc=hit`)."""
    return bool(value) and "cache;desc=hit" in value
