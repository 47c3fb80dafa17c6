"""When the requests of a fixed-rate cell are meant to start: one arrival stream per cell.

The effect under test depends on how requests arrive. With evenly spaced arrivals a request
rarely finds the servers' core busy; with random arrivals it often does, and the session arm's
extra wake-up (its round trip to the store) waits behind other work. Measured on a 2-core machine
at 1,000 req/s in total, session minus JWT was about twice as large with random arrivals as
with evenly spaced ones. So the process is a stated, recorded setting of every fixed-rate cell:

- `poisson` (the default): independent exponential gaps, the arrivals of many independent
  users, each request unaware of the others;
- `uniform`: evenly spaced, the kindest case for the servers (a lower bound).

A stream hands out intended start times in order to whichever user is free first (a user that
is busy does not hold back the stream), and latency is counted from the intended start, so a
stalled server cannot hide its stall. The stream is seeded; with several load-generator
processes each runs its own share of the rate (Poisson streams add up to a Poisson stream;
uniform streams are interleaved on a shared wall-clock grid so that they add up to a uniform
one). Every second records the gaps it handed out (count, sum, sum of squares), from which the
realised coefficient of variation of the gaps is computed: 1 for Poisson, 0 for uniform.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

ARRIVALS = ("poisson", "uniform")
DEFAULT_ARRIVALS = "poisson"


@dataclass
class GapStats:
    """Gaps between consecutive intended starts, per wall-clock second of the later start."""

    seconds: dict[int, list[float]] = field(default_factory=dict)  # second: [n, sum, sum sq]

    def add(self, at: float, gap: float) -> None:
        slot = self.seconds.setdefault(int(at), [0, 0.0, 0.0])
        slot[0] += 1
        slot[1] += gap
        slot[2] += gap * gap

    def merge(self, encoded: dict[str, list[float]]) -> None:
        for second, (n, total, squares) in encoded.items():
            slot = self.seconds.setdefault(int(second), [0, 0.0, 0.0])
            slot[0] += n
            slot[1] += total
            slot[2] += squares

    def encode(self) -> dict[str, list[float]]:
        return {str(s): v for s, v in sorted(self.seconds.items())}


def gap_cv(encoded: dict[str, list[float]], start: int, end: int) -> float | None:
    """The coefficient of variation (SD / mean) of the gaps of seconds start .. end-1."""
    n = total = squares = 0.0
    for second, (count, s, sq) in encoded.items():
        if start <= int(second) < end:
            n, total, squares = n + count, total + s, squares + sq
    if n < 2 or total <= 0:
        return None
    mean = total / n
    variance = max(0.0, squares / n - mean * mean) * n / (n - 1)
    return round(math.sqrt(variance) / mean, 3)


class ArrivalStream:
    """Intended start times at `rate` per second, from `process`, seeded.

    `share` of `shares`: this load-generator process's part of the whole stream (1 of 1 for a
    single process). `take()` returns the next intended start, in wall-clock seconds.
    """

    def __init__(
        self,
        process: str,
        rate: float,
        seed: int,
        share: int = 0,
        shares: int = 1,
        clock: Callable[[], float] | None = None,
    ):
        if process not in ARRIVALS:
            raise ValueError(f"arrivals must be one of {', '.join(ARRIVALS)}, got {process!r}")
        if rate <= 0:
            raise ValueError("an arrival stream needs a positive rate")
        import time

        self.process, self.rate = process, rate
        self.own_rate = rate / shares
        self.rng = random.Random(f"{seed}:{share}")
        self.gaps = GapStats()
        now = (clock or time.time)()
        if process == "uniform":
            # A shared grid: process k of n takes slots k, k + n, k + 2n, ... of 1/rate each.
            step = shares / rate
            self.next = (math.floor(now / step) + 1) * step + share / rate
        else:
            self.next = now + self.rng.expovariate(self.own_rate)
        self.last: float | None = None

    def _gap(self) -> float:
        if self.process == "uniform":
            return 1.0 / self.own_rate
        return self.rng.expovariate(self.own_rate)

    def take(self) -> float:
        slot = self.next
        self.next += self._gap()
        if self.last is not None:
            self.gaps.add(slot, slot - self.last)
        self.last = slot
        return slot
