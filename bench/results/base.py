"""What every record of the results format shares: unknown keys refused, one error type."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# A latency spectrum in microseconds as bench.load.recorder.percentiles writes it: keys p0 ..
# p99.999, max, mean and count; values as recorded (integers, the mean a float).
Percentiles = dict[str, int | float]


class Record(BaseModel):
    """A record the harness writes: a key it does not know is a mistake, said at once."""

    model_config = ConfigDict(extra="forbid")


class ResultsError(ValueError):
    """A results folder that cannot be read; the message names the folder and the problem."""
