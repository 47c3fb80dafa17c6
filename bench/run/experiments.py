"""The scenario's experiments beyond the grid, in order: revocation, then availability."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bench.results.experiment_records import (
    AvailabilityRecord,
    RevocationRecord,
    SkippedAvailability,
)
from bench.run.availability_probe import availability
from bench.run.revocation_probe import revocation
from bench.run.scenario import Scenario


def run_experiments(
    scenario: Scenario, pg, run_dir: Path, out, kv=None
) -> Iterator[tuple[str, RevocationRecord | AvailabilityRecord | SkippedAvailability]]:
    """The scenario's [revocation] and [availability] experiments: yields ("revocation" or
    "availability", result) as each finishes, for the runner to record and save."""
    if scenario.revocation:
        for label in scenario.revocation.servers:
            out(
                f"revocation: {label}: log out, then probe for {scenario.revocation.probe_for_s:g} s ..."
            )
            result = revocation(
                scenario.server(label), scenario.revocation, pg, run_dir / "revocation" / label, kv
            )
            yield "revocation", result
            last = result.last_accepted_ms
            out(
                f"        accepted {result.accepted_after_logout} times after logout"
                + (f", last at {last:,.0f} ms" if last is not None else "")
                + (" (still accepted at the end)" if result.still_accepted_at_end else "")
            )
    if scenario.availability:
        for label in scenario.availability.servers:
            spec = scenario.server(label)
            store = "Redis" if spec.uses_redis else "PostgreSQL"
            out(
                f"availability: {label}: {store} down and up again, then SIGTERM, under "
                f"{scenario.availability.rate:g} req/s ..."
            )
            result = availability(
                spec, scenario.availability, scenario, pg, run_dir / "availability" / label, kv
            )
            yield "availability", result
            if isinstance(result, SkippedAvailability):
                out(f"        skipped: {result.skipped}")
                continue
            slowest = result.slowest_answer_ms
            out(
                f"        during the outage {result.outage_statuses}, recovered after "
                f"{result.recovered_after_s} s, revoked token accepted {result.revoked_accepted} times, "
                + (f"slowest answer {slowest:,.0f} ms" if slowest is not None else "no answer")
            )
