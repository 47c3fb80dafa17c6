"""The figures of a cell's measured window: requests, statuses, latency percentiles, the arrival
process, CPU by process group and per request, and whether the load generator kept up.

Computed by the cell lifecycle (bench.run.cells) once Locust has stopped, for a single-server
cell and for each arm of a paired cell alike.
"""

from __future__ import annotations

from typing import Any

from bench.load.arrivals import gap_cv
from bench.load.recorder import Recorder, percentiles
from bench.results.cell_records import Arrivals, Counts, DbDelay, Figures, Window
from bench.results.run_settings import SATURATED_CORE_FRACTION
from bench.run.scenario import ServerSpec


def summarise(
    spec: ServerSpec,
    recorder: Recorder,
    data: dict[str, Any],
    cpu: dict[str, dict[int, float]],
    start: int,
    end: int,
    offered_rps: float | None,
    generator: dict[int, float] | None = None,
    generator_requests: int | None = None,
    db_delay: dict[str, float] | None = None,
) -> Figures:
    """One server's figures over the measured window, with who it was (`spec`, and what its
    delay proxy's calibration measured).

    `cpu` holds this server's own process groups; `generator` is the load generator's CPU by
    pid, shared by every arm of a paired cell and divided by all the requests it sent
    (`generator_requests`), so its per-request figure is the same for every arm.
    """
    window = recorder.window(start, end)
    duration = end - start
    requests = window.count
    ok = window.statuses.get(200, 0)
    generator = cpu.get("load_generator", {}) if generator is None else generator
    groups = {**cpu, "load_generator": generator}
    sent = requests if generator_requests is None else generator_requests
    cpu_seconds, per_request = _cpu_per_request(groups, requests, sent)
    return Figures(
        label=spec.label,
        server=spec.server,
        settings=spec.settings,
        server_workers=spec.workers,
        path=spec.path,
        db_delay=DbDelay(**db_delay) if db_delay else None,
        window=Window(start=start, end=end, duration_s=duration),
        requests=requests,
        ok=ok,
        statuses={str(code): n for code, n in sorted(window.statuses.items())},
        error_count=requests - ok,
        throughput_rps=round(requests / duration, 1),
        ok_rps=round(ok / duration, 1),
        offered_rps=offered_rps,
        latency_us=percentiles(window.service),
        corrected_latency_us=percentiles(window.corrected),
        auth_us=percentiles(window.auth),
        late_starts=window.late,
        **_cache_hits(window, requests),
        arrivals=_arrivals(data, offered_rps, start, end),
        cpu_seconds=cpu_seconds,
        cpu_us_per_request=per_request,
        # Share of one core each group kept busy: the load at which CPU per request was measured.
        cpu_cores_busy={group: round(sec / duration, 3) for group, sec in cpu_seconds.items()},
        cpu_processes={group: len(by_pid) for group, by_pid in groups.items()},
        **_load_generator_health(generator, data, duration),
        distributed=data.get("distributed", False),
        timeline=recorder.timeline(),
    )


def _cache_hits(window, requests: int) -> dict[str, Any]:
    """Answers from the server's own cache, told by Server-Timing: without it (an external arm
    may not send it), not measured (None)."""
    if not window.auth.total_count:
        return {"cache_hits": None, "cache_hit_share": None}
    share = round(window.cache_hits / requests, 4) if requests else None
    return {"cache_hits": window.cache_hits, "cache_hit_share": share}


def counts(recorded: int, data: dict[str, Any]) -> Counts:
    """Whether the recorder (`recorded` requests over the whole run) and Locust agree."""
    measured = data.get("locust_counts", {}).get("measured")
    return Counts(
        recorded_requests_total=recorded,
        locust_requests_total=measured,
        counts_agree=recorded == measured,
    )


def _arrivals(
    data: dict[str, Any], offered_rps: float | None, start: int, end: int
) -> Arrivals | None:
    """At a fixed rate, the arrival process Locust drew from: its name, its seed, and how
    regular its gaps were in the window (their coefficient of variation); None closed loop."""
    stream = data.get("arrivals") if offered_rps else None
    if not stream:
        return None
    return Arrivals(
        process=stream["process"],
        seed=stream["seed"],
        gap_cv=gap_cv(stream.get("gaps", {}), start, end),
    )


def _load_generator_health(
    generator: dict[int, float], data: dict[str, Any], duration: int
) -> dict[str, Any]:
    """Whether the load generator kept up: its busiest process's share of a core, Locust's own
    CPU warnings, and whether either says that it, not the server, was the bottleneck."""
    peak_core = max((s / duration for s in generator.values()), default=0.0)
    return {
        "load_generator_peak_core": round(peak_core, 3),
        "load_generator_cpu_warnings": data.get("cpu_warnings", 0),
        "load_generator_bound": peak_core > SATURATED_CORE_FRACTION
        or data.get("cpu_warnings", 0) > 0,
    }


def _cpu_per_request(groups: dict[str, dict[int, float]], requests: int, sent: int):
    """CPU seconds per process group, and µs per request: the load generator's over every
    request it sent, each other group's over its own requests; `total` sums the measured ones
    (None when the server was out of view: an external arm's CPU is not measured, never 0)."""
    cpu_seconds = {group: round(sum(by_pid.values()), 6) for group, by_pid in groups.items()}
    per_request: dict[str, float | None] = {}
    for group, seconds in cpu_seconds.items():
        divisor = sent if group == "load_generator" else requests
        per_request[group] = round(seconds / divisor * 1e6, 2) if divisor else None
    measured_groups = [v for g, v in per_request.items() if v is not None and groups[g]]
    in_view = "server" in groups  # an external arm's server is not: no total to give
    per_request["total"] = round(sum(measured_groups), 2) if requests and in_view else None
    return cpu_seconds, per_request
