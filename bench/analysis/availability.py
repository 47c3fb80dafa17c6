"""Availability: a store outage and a SIGTERM under load, as the prober saw them; how each
server failed (open or closed) and how fast it recovered."""

from __future__ import annotations

from typing import Any

from bench.analysis.runs import STORE_NAMES, Run
from bench.results.experiment_records import AvailabilityRecord, SkippedAvailability


def measured_availability(run: Run) -> list[AvailabilityRecord]:
    """The availability experiment's results of the servers it was run on (not skipped)."""
    return [r for r in run.record.availability if isinstance(r, AvailabilityRecord)]


def availability_rows(run: Run) -> list[dict[str, Any]]:
    rows = []
    for r in run.record.availability:
        if isinstance(r, SkippedAvailability):
            rows.append({"server": r.label, "skipped": r.skipped})
            continue
        rows.append(
            {
                "server": r.label,
                "outage_statuses": ", ".join(
                    f"{n}x {code}" for code, n in r.outage_statuses.items()
                ),
                "revoked_accepted": r.revoked_accepted,
                "slowest_answer_ms": r.slowest_answer_ms,
                "recovered_after_s": r.recovered_after_s,
                "unanswered_before_sigterm": r.unanswered_before_sigterm,
            }
        )
    return rows


PROBE_INTERVAL_S = 0.05  # the availability prober asks every 50 ms: no finer than that


def availability_sentence(run: Run) -> str:
    results = measured_availability(run)
    if not results:
        return "This run has no availability experiment (the full scenario has one; it needs the embedded PostgreSQL)."
    parts = []
    for r in results:
        outage = r.outage_statuses
        total = sum(outage.values())
        ok = outage.get("200", 0)
        down = r.events["database_up"] - r.events["database_down"]
        store = STORE_NAMES[r.store]
        if total == 0:
            what = f"{r.label}: no probe landed inside the outage"
        elif ok == total:
            what = f"{r.label} answered all {total} probes with 200 while {store} was down for {down:.1f} s"
        else:
            codes = ", ".join(f"{n} x {code}" for code, n in outage.items())
            recovered = r.recovered_after_s
            if recovered is None:
                back = "and never served again before the SIGTERM"
            else:
                # The prober asks every 50 ms: say no more precisely than that.
                step = PROBE_INTERVAL_S
                back = f"and served again within {max(step, -(-recovered // step) * step):.2f} s of {store} being ready"
            what = f"{r.label} answered {codes} while {store} was down, {back}"
        parts.append(what)
    text = "; ".join(parts) + "."
    slowest = [r.slowest_answer_ms for r in results if r.slowest_answer_ms is not None]
    if slowest:
        text += (
            f" The slowest probe answer (one request at a time, every 50 ms; the loaded requests "
            f"are in the figure) took {max(slowest):,.0f} ms."
        )
    else:
        text += " No probe answer was recorded, so the slowest answer is not measured."
    revoking = [r for r in results if run.model.server(r.label).revocable]
    if revoking:
        revoked = sum(r.revoked_accepted for r in revoking)
        names = ", ".join(r.label for r in revoking)
        text += (
            f" The servers that can revoke ({names}) accepted a revoked token {revoked} "
            f"{'time' if revoked == 1 else 'times'}."
        )
    return text


def failure_mode_sentence(run: Run) -> str:
    """How each server failed while PostgreSQL was down, read from what the prober saw: open
    (kept answering 200), closed (refused to decide: 503) or otherwise; then after SIGTERM."""
    results = measured_availability(run)
    if not results:
        return "This run has no availability experiment, so no failure mode was observed."
    parts = []
    for r in results:
        outage = r.outage_statuses
        total = sum(outage.values())
        refused, served = outage.get("503", 0), outage.get("200", 0)
        store = STORE_NAMES[r.store]
        asks_store = run.model.server(r.label).store is not None
        if total == 0:
            mode = "was not probed during the outage"
        elif served == total and not asks_store:
            mode = (
                f"was unaffected: its GET /me never asks {store}, so it answered 200 as it "
                "does with the store up (nothing to fail, and nothing to revoke with)"
            )
        elif served == total:
            mode = f"failed open: it kept answering 200 without {store}"
            if r.revoked_accepted:
                mode += f", and accepted a logged-out token {r.revoked_accepted} times"
        elif refused == total:
            mode = f"failed closed: without {store} it refused to decide (503)"
        else:
            codes = ", ".join(f"{n} x {code}" for code, n in outage.items())
            mode = f"answered a mix while {store} was down ({codes})"
        parts.append(f"{r.label} {mode}")
    text = "; ".join(parts) + "."
    after = [(r.label, r.after_sigterm_statuses.get("0", 0)) for r in results]
    nobody = [f"{label} ({n} probes refused)" for label, n in after if n]
    if nobody:
        text += (
            " After SIGTERM, probes found nobody listening at "
            + ", ".join(nobody)
            + ": uvicorn stopped accepting and let in-flight requests finish."
        )
    return text
