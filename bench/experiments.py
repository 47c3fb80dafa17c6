"""Experiments beyond the grid: how long a revoked token works, and what a store outage does.

Both use the same servers, PostgreSQL and Redis store as the grid, and write into the run folder.
For a session server with the Redis store, the outage stops Redis (where its lookups go), not
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.locustrun import LOCUST_READY_TIMEOUT_S, CellFailed, LocustRun, verify
from bench.oneshot import request
from bench.procs import ServerProcess, server_env
from bench.scenario import AvailabilitySpec, RevocationSpec, Scenario, ServerSpec
from servers.jwt_auth import share_jwt_keys
from servers.store import SEED_PASSWORD, seed_username

PROBE_TIMEOUT_S = 3.0


def ask(port: int, method: str, path: str, token: str | None = None, body: dict | None = None,
        timeout: float = PROBE_TIMEOUT_S) -> tuple[int, float, bytes]:  # fmt: skip
    """One request on a fresh connection: (status, milliseconds, body); status 0 if no answer."""
    reply = request(port, method, path, token=token, body=body, timeout=timeout)
    return reply.status, reply.ms, reply.body


def login(port: int, user_id: int) -> str:
    status, _, data = ask(
        port, "POST", "/login", body={"username": seed_username(user_id), "password": SEED_PASSWORD}
    )
    if status != 200:
        raise CellFailed(f"login as {seed_username(user_id)} gave {status}")
    return json.loads(data)["token"]


def _token_expiry_s(token: str) -> float | None:
    """Seconds until a JWT's exp (read without verifying: the server already issued it)."""
    if token.count(".") != 2:
        return None
    import jwt

    return jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()


def revocation(spec: ServerSpec, experiment: RevocationSpec, pg, out_dir: Path,
               kv=None) -> dict[str, Any]:  # fmt: skip
    """Log out through one app host, then probe all of them in turn until the window ends.

    Several hosts share one database, as behind a round-robin load balancer: what a host keeps
    in memory (a session cache) survives a logout that another host handled.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(spec, pg, kv)
    if spec.server == "jwt_auth":
        share_jwt_keys(env)  # every host must accept the tokens the others issue
    with contextlib.ExitStack() as stack:
        hosts = [
            stack.enter_context(
                ServerProcess(spec.server, env, log_path=out_dir / f"server-{i}.log")
            )
            for i in range(1, experiment.hosts + 1)
        ]
        token = login(hosts[0].port, 1)
        for _ in range(3):  # every host has seen (and may have cached) the token
            for host in hosts:
                ask(host.port, "GET", "/me", token)
        logout_status, _, _ = ask(hosts[-1].port, "POST", "/logout", token)
        if logout_status != 204:
            raise CellFailed(
                f"{spec.label}: logout answered {logout_status}, not 204", hosts[-1].log()
            )
        logged_out = time.perf_counter()
        samples: list[tuple[float, int, int]] = []
        turn = 0
        while (elapsed := time.perf_counter() - logged_out) < experiment.probe_for_s:
            host = turn % len(hosts)
            status, _, _ = ask(hosts[host].port, "GET", "/me", token)
            samples.append((round(elapsed * 1000, 1), status, host + 1))
            turn += 1
            time.sleep(0.01)
    accepted = [ms for ms, status, _ in samples if status == 200]
    refused = [ms for ms, status, _ in samples if status == 401]
    expiry = _token_expiry_s(token)
    return {
        "label": spec.label,
        "server": spec.server,
        "settings": spec.settings,
        "hosts": experiment.hosts,
        "logout_status": logout_status,
        "probe_for_s": experiment.probe_for_s,
        "probes": len(samples),
        "accepted_after_logout": len(accepted),
        "last_accepted_ms": max(accepted) if accepted else None,
        "first_refused_ms": min(refused) if refused else None,
        "still_accepted_at_end": bool(samples) and samples[-1][1] == 200,
        "token_valid_for_s": round(expiry, 1) if expiry is not None else None,
        "other_statuses": sorted({status for _, status, _ in samples} - {200, 401}),
        "samples": samples,
    }


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


def availability(spec: ServerSpec, experiment: AvailabilitySpec, scenario: Scenario, pg,
                 out_dir: Path, kv=None) -> dict[str, Any]:  # fmt: skip
    """Fixed load; the store of the per-request lookup (PostgreSQL, or Redis for a Redis-store
    session server) stopped and started again; then SIGTERM to the server."""
    store = kv if spec.uses_redis else pg
    base = {"label": spec.label, "server": spec.server, "settings": spec.settings,
            "store": "redis" if spec.uses_redis else "postgres"}  # fmt: skip
    if not store.owned:
        named = "REDIS_URL" if spec.uses_redis else "DATABASE_URL"
        return {
            **base,
            "skipped": f"needs the embedded store: {named} names a server we must not stop",
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(spec, pg, kv)
    a = experiment
    server = ServerProcess(spec.server, env, workers=spec.workers, log_path=out_dir / "server.log")
    events: dict[str, float] = {}
    with server:
        verify(server, needs_auth=True)
        valid, revoked = login(server.port, 2), login(server.port, 3)
        ask(server.port, "POST", "/logout", revoked)
        run_time = int(LOCUST_READY_TIMEOUT_S + a.duration_s + 30)
        locust = LocustRun(server.url, out_dir, a.users, a.rate, scenario.seeded_users, 0, run_time)
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
    timeline = [
        {**row, "t": row["second"] - int(start)}
        for row in recorder.timeline()
        if start - 1 <= row["second"] < start + a.duration_s
    ]
    return {**base, **events_summary(prober.samples, events), "events": events, "timeline": timeline,
            "probes": prober.samples, "rate": a.rate, "duration_s": a.duration_s}  # fmt: skip


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


def run_experiments(
    scenario: Scenario, pg, run_dir: Path, out, kv=None
) -> Iterator[tuple[str, dict[str, Any]]]:
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
            last = result["last_accepted_ms"]
            out(f"        accepted {result['accepted_after_logout']} times after logout"
                + (f", last at {last:,.0f} ms" if last is not None else "")
                + (" (still accepted at the end)" if result["still_accepted_at_end"] else ""))  # fmt: skip
    if scenario.availability:
        for label in scenario.availability.servers:
            spec = scenario.server(label)
            store = "Redis" if spec.uses_redis else "PostgreSQL"
            out(f"availability: {label}: {store} down and up again, then SIGTERM, under "
                f"{scenario.availability.rate:g} req/s ...")  # fmt: skip
            result = availability(spec, scenario.availability, scenario, pg,
                                  run_dir / "availability" / label, kv)  # fmt: skip
            yield "availability", result
            if "skipped" in result:
                out(f"        skipped: {result['skipped']}")
                continue
            with contextlib.suppress(KeyError):
                out(f"        during the outage {result['outage_statuses']}, recovered after "
                    f"{result['recovered_after_s']} s, revoked token accepted {result['revoked_accepted']} times, "
                    f"slowest answer {result['slowest_answer_ms']:,.0f} ms")  # fmt: skip
