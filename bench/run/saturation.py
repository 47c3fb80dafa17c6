"""Servers of `bench xcheck` at saturation, each alone while the others idle: their capacity
(closed loop under Locust, first: the check asks at a fraction of it), and, where wrk is
installed, their server CPU per request under wrk against Locust's (a cross-check of the CPU
accounting, never needed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load.recorder import Recorder
from bench.results.load_records import CapacityRecord
from bench.run.cells import Lifecycle
from bench.system.cpu_accounting import sample, used
from bench.system.pinning import preexec
from bench.system.postgres import arm_backends
from bench.system.processes import spawn_logged

SECONDS = 4
USERS = 16


def capacities(
    lifecycle: Lifecycle, servers: dict, paths: dict[str, str], folder: Path, out: Callable
) -> dict[str, CapacityRecord]:
    """Each server's capacity (bench.run.capacities' definition): closed loop, 16 Locust users,
    4 s, CPU of the server and of its own PostgreSQL backends."""
    found = {}
    for label, server in servers.items():
        out(f"capacity, closed loop: {label} ...")
        cell_dir = folder / f"closed-{label}"
        cell_dir.mkdir(parents=True, exist_ok=True)
        locust = lifecycle.locust(cell_dir, server.url, USERS, None, 1, SECONDS, path=paths[label])

        def groups(label=label, server=server) -> dict[str, list[int]]:
            pids = {label: server.pids()}
            backends = arm_backends(lifecycle.pg.url, pids) if lifecycle.pg.pids() else {}
            return {"server": pids[label], "postgres": backends.get(label, [])}

        start, end, cpu, recorder, _ = lifecycle.measure(locust, 1, SECONDS, groups)
        found[label] = _capacity(label, cell_dir.name, lifecycle, recorder, cpu, start, end)
    return found


def _capacity(
    label: str, cell: str, lifecycle: Lifecycle, recorder: Recorder, cpu, start: int, end: int
) -> CapacityRecord:
    requests = recorder.window(start, end).count
    busy_s = sum(
        s for group, by_pid in cpu.items() if group != "load_generator" for s in by_pid.values()
    )
    cores = lifecycle.cores_of_servers
    service_us = busy_s / requests * 1e6 if requests and busy_s else None
    rate = requests / (end - start)
    return CapacityRecord(
        label=label,
        cell=cell,
        service_us=round(service_us, 2) if service_us else None,
        cores=cores,
        capacity_rps=round(cores * 1e6 / service_us if service_us else rate, 1),
        closed_rps=round(rate, 1),
        cores_busy=round(busy_s / ((end - start) * cores), 3),
        lower_bound=service_us is None,
    )


def wrk_cpu(
    lifecycle: Lifecycle,
    servers: dict,
    tokens: dict[str, list[str]],
    paths: dict[str, str],
    labels: tuple[str, str],
    folder: Path,
    out: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Each server of the pair alone at saturation under wrk (16 connections, 4 s): its server
    process CPU per request, against Locust closed loop (16 users) on the same server."""
    rows = []
    for label in labels:
        for client in ("wrk", "locust"):
            out(f"CPU per request at saturation: {label} under {client} ...")
            measured = _saturate(
                lifecycle,
                servers[label],
                tokens[label][0],
                paths[label],
                client,
                folder / f"{client}-{label}",
            )
            rows.append({"kind": "cpu_xcheck", "server": label, "client": client, **measured})
    return rows


def _saturate(lifecycle: Lifecycle, server, token: str, path: str, client: str, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)

    def groups() -> dict[str, list[int]]:
        return {"server": server.pids()}

    if client == "wrk":
        argv = [
            "wrk",
            "-t1",
            f"-c{USERS}",
            f"-d{SECONDS + 2}s",
            "-H",
            f"Authorization: Bearer {token}",
            f"{server.url}{path}",
        ]
        process = spawn_logged(
            argv, folder / "wrk.log", preexec_fn=preexec(lifecycle.generator_cores)
        )
        time.sleep(1)
        before = sample(groups())
        time.sleep(SECONDS)
        cpu = used(before, sample(groups()))
        process.wait(30)
        per_second = float((folder / "wrk.log").read_text().split("Requests/sec:")[1].split()[0])
        requests = per_second * SECONDS  # wrk's rate over its whole run, applied to the window
    else:
        locust = lifecycle.locust(folder, server.url, USERS, None, 1, SECONDS, path=path)
        start, end, cpu, recorder, _ = lifecycle.measure(locust, 1, SECONDS, groups)
        requests = recorder.window(start, end).count
    server_s = sum(cpu["server"].values())
    return {
        "requests_per_s": round(requests / SECONDS),
        "server_cpu_us_per_request": round(server_s / requests * 1e6, 1),
    }
