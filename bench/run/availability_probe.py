"""The availability experiment: under a fixed load, the store of the per-request lookup
(PostgreSQL, or Redis for a Redis-store session server) stopped and started again, then SIGTERM
to the server; a prober asks every 50 ms with a valid and with a revoked token.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from bench.load.locust_driver import LOCUST_READY_TIMEOUT_S, LocustRun
from bench.load.recorder import Recorder
from bench.results.experiment_records import AvailabilityRecord, SkippedAvailability
from bench.run.revocation_probe import PROBE_TIMEOUT_S, ask, login
from bench.run.scenario import AvailabilitySpec, Scenario, ServerSpec
from bench.system.server_process import ServerProcess, server_env, verify


class Prober(threading.Thread):
    """Every 50 ms: GET /me with a valid and with a revoked token, each timed."""

    def __init__(self, port: int, valid: str, revoked: str, started: float):
        super().__init__(daemon=True)
        self.port, self.valid, self.revoked, self.started = port, valid, revoked, started
        self.samples: list[dict[str, Any]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            for kind, token in (("valid", self.valid), ("revoked", self.revoked)):
                at = time.time() - self.started
                status, ms, _ = ask(self.port, "GET", "/me", token)
                self.samples.append(
                    {"t": round(at, 3), "token": kind, "status": status, "ms": round(ms, 2)}
                )
            self.halt.wait(0.05)


def availability(
    spec: ServerSpec, experiment: AvailabilitySpec, scenario: Scenario, pg, out_dir: Path, kv=None
) -> AvailabilityRecord | SkippedAvailability:
    """Fixed load; the store of the per-request lookup (PostgreSQL, or Redis for a Redis-store
    session server) stopped and started again; then SIGTERM to the server."""
    store = kv if spec.uses_redis else pg
    base = {
        "label": spec.label,
        "server": spec.server,
        "settings": spec.settings,
        "store": "redis" if spec.uses_redis else "postgres",
    }
    if not store.owned:
        named = "REDIS_URL" if spec.uses_redis else "DATABASE_URL"
        return SkippedAvailability(
            **base, skipped=f"needs the embedded store: {named} names a server we must not stop"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(pg, kv, spec.settings, spec.uses_redis, spec.label)
    a = experiment
    server = ServerProcess(
        spec.server,
        env,
        workers=spec.workers,
        log_path=out_dir / "server.log",
        runtime=spec.runtime,
        command=spec.command,
    )
    with server:
        start, recorder, prober, events = _outage_under_load(
            server, store, a, scenario.seeded_users, out_dir
        )
    timeline = [
        {**row, "t": row["second"] - int(start)}
        for row in recorder.timeline()
        if start - 1 <= row["second"] < start + a.duration_s
    ]
    return AvailabilityRecord(
        **base,
        **events_summary(prober.samples, events),
        events=events,
        timeline=timeline,
        probes=prober.samples,
        rate=a.rate,
        duration_s=a.duration_s,
    )


def _outage_under_load(
    server: ServerProcess, store, a: AvailabilitySpec, seeded_users: int, out_dir: Path
) -> tuple[float, Recorder, Prober, dict[str, float]]:
    """On a running server: a fixed load and the prober from the next whole second, then the
    schedule played (store down, store up, SIGTERM), each event's time asked and done noted;
    the store is always started again. Returns the start, Locust's recorder, the prober and
    the events."""
    events: dict[str, float] = {}
    verify(server, needs_auth=True)
    valid, revoked = login(server.port, 2), login(server.port, 3)
    ask(server.port, "POST", "/logout", revoked)
    run_time = int(LOCUST_READY_TIMEOUT_S + a.duration_s + 30)
    locust = LocustRun(server.url, out_dir, a.users, a.rate, seeded_users, 0, run_time)
    prober = None
    try:
        locust.wait_ready()
        start = float(int(time.time()) + 1)
        prober = Prober(server.port, valid, revoked, start)
        locust.sleep_until(start)
        prober.start()
        schedule = [
            (a.database_down_at_s, "database_down", store.stop),
            (a.database_down_at_s + a.database_down_for_s, "database_up", store.start),
            (a.sigterm_at_s, "sigterm", server.terminate),
        ]
        for at, name, action in schedule:
            locust.sleep_until(start + at)
            events[f"{name}_requested"] = round(time.time() - start, 3)
            action()
            events[name] = round(time.time() - start, 3)  # done: fully down, or ready again
        locust.sleep_until(start + a.duration_s)
        recorder, _ = locust.finish()
    finally:
        if prober is not None:
            prober.halt.set()
            prober.join(PROBE_TIMEOUT_S + 1)
        locust.kill()
        if store.pid is None:  # never leave the run without its store
            store.start()
    return start, recorder, prober, events


def events_summary(samples: list[dict[str, Any]], events: dict[str, float]) -> dict[str, Any]:
    """What the probes saw: revoked tokens accepted, the slowest answer, time to recover.

    The outage runs from PostgreSQL being fully down to the moment its start was requested (it
    cannot answer before that; its readiness is noticed a poll later). Recovery counts from ready.
    """
    down, restart, up = (
        events.get(k) for k in ("database_down", "database_up_requested", "database_up")
    )
    sigterm = events.get("sigterm_requested", float("inf"))
    before_sigterm = [s for s in samples if s["t"] < sigterm]
    valid = [s for s in before_sigterm if s["token"] == "valid"]
    outage = [
        s for s in valid if down is not None and restart is not None and down <= s["t"] < restart
    ]
    back = [s for s in valid if up is not None and s["t"] >= up and s["status"] == 200]
    return {
        "revoked_accepted": sum(
            1 for s in samples if s["token"] == "revoked" and s["status"] == 200
        ),
        "unanswered_before_sigterm": sum(1 for s in before_sigterm if not s["status"]),
        "slowest_answer_ms": max((s["ms"] for s in before_sigterm if s["status"]), default=None),
        "outage_statuses": _count_statuses(outage),
        "recovered_after_s": round(back[0]["t"] - up, 3) if back and up is not None else None,
        "after_sigterm_statuses": _count_statuses([s for s in samples if s["t"] >= sigterm]),
    }


def _count_statuses(samples: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in samples:
        counts[str(s["status"])] = counts.get(str(s["status"]), 0) + 1
    return dict(sorted(counts.items()))
