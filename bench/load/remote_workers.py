"""Locust workers on other hosts: where the master waits for them, and what their cell recorded.

`python -m bench run --remote-workers N --master-bind ADDR[:PORT]` makes every Locust cell's
master listen on ADDR:PORT and wait up to `wait_s` for N worker processes, started on the load
hosts with `python -m bench worker --master ADDR[:PORT]` (bench.run.remote_worker). What the
master recorded about them (bench.load.handshake) is checked here once the cell has ended:
every expected worker took part and reported after the measured window, and the CPU seconds of
the workers the harness cannot read in /proc come from their own samples.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load.load_plan import WORKERS_FILE

DEFAULT_PORT = 5557  # Locust's own default master port
DEFAULT_WAIT_S = 30


class RemoteWorkersError(ValueError):
    """A remote-worker setting that cannot work, or a worker refused by the master."""


def parse_address(text: str, what: str = "--master-bind") -> tuple[str, int]:
    """ADDR or ADDR:PORT (an IPv6 address in brackets) as host and port."""
    host = text
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") or str(DEFAULT_PORT)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        port_text = str(DEFAULT_PORT)
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RemoteWorkersError(f"{what} {text!r} is not ADDR or ADDR:PORT")
    return host, int(port_text)


@dataclass(frozen=True)
class RemoteWorkers:
    """How many Locust worker processes on other hosts each cell waits for, and where."""

    count: int
    host: str
    port: int = DEFAULT_PORT
    wait_s: int = DEFAULT_WAIT_S

    @classmethod
    def from_options(
        cls, count: int, bind: str | None, wait_s: int = DEFAULT_WAIT_S
    ) -> RemoteWorkers | None:
        """The run's settings from the command line; None without remote workers."""
        if count < 0 or wait_s < 1:
            raise RemoteWorkersError("--remote-workers must be 0 or more, --remote-wait 1 or more")
        if not count:
            if bind:
                raise RemoteWorkersError("--master-bind needs --remote-workers N")
            return None
        if not bind:
            raise RemoteWorkersError("--remote-workers needs --master-bind ADDR[:PORT]")
        host, port = parse_address(bind)
        remote = cls(count, host, port, wait_s)
        remote.check_bindable()
        return remote

    def check_bindable(self) -> None:
        """Before any run folder: the master will be able to listen there (as ZMQ binds)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self.port))
            except OSError as exc:
                raise RemoteWorkersError(self.unbindable(exc.strerror or str(exc))) from None

    def unbindable(self, why: str) -> str:
        hint = "another Locust master?" if "in use" in why else "an address of this host?"
        return (
            f"the master cannot listen at {self.address} ({why}; {hint}): "
            "choose another with --master-bind ADDR[:PORT]"
        )

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def start_one(self) -> str:
        return f"start one with: python -m bench worker --master {self.address}"

    def waiting_line(self) -> str:
        workers = f"{self.count} remote worker{'s' if self.count != 1 else ''}"
        line = f"each Locust cell waits up to {self.wait_s} s for {workers} at {self.address} "
        line += f"({self.start_one})"
        if not _loopback(self.host):
            line += "; they must reach the arms' URLs (the harness's own servers: 127.0.0.1)"
        return line

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "master": self.address, "wait_s": self.wait_s}


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def read_workers(folder: Path) -> dict[str, Any]:
    """What the master recorded about its workers so far ({} before the first hello)."""
    try:
        return json.loads((folder / WORKERS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def refusals(record: dict[str, Any]) -> str:
    """'; refused: HOST (pid P): REASON' for every worker the master refused, or ''."""
    said = [f"{w['host']} (pid {w['pid']}): {w['reason']}" for w in record.get("refused", [])]
    return f"; refused: {'; '.join(said)}" if said else ""


def gave_up(remote: RemoteWorkers, expected: int, record: dict[str, Any]) -> str:
    """The one line of a cell whose master stopped waiting for its workers."""
    came, local = len(record.get("workers", [])), expected - remote.count
    who = f"Locust workers ({local} of them local)" if local else "remote workers"
    return (
        f"{came} of {expected} {who} connected to the master at {remote.address} after "
        f"{remote.wait_s} s: giving up ({remote.start_one}){refusals(record)}"
    )


def remote_entries(record: dict[str, Any], local_pids: set[int]) -> list[dict[str, Any]]:
    """The workers whose CPU the harness cannot read in /proc: another host, or not ours."""
    here = socket.gethostname()
    return [
        w for w in record.get("workers", []) if not (w["host"] == here and w["pid"] in local_pids)
    ]


def cpu_at(samples: list[list[float]], at: float) -> float | None:
    """A worker's CPU seconds at wall-clock time `at`, between the two samples around it."""
    ordered = sorted(samples)
    for (t0, c0), (t1, c1) in itertools.pairwise(ordered):
        if t0 <= at <= t1:
            return c0 if t1 == t0 else c0 + (c1 - c0) * (at - t0) / (t1 - t0)
    return None


def check_workers(record: dict[str, Any], end: int) -> str | None:
    """Why a cell's workers do not add up (None when they do): fewer than expected, or one that
    sent no report after the window (its last requests and its CPU would be missing)."""
    workers, expected = record.get("workers", []), record.get("expected", 0)
    if len(workers) != expected:
        return f"{len(workers)} of {expected} Locust workers took part{refusals(record)}"
    for w in workers:
        if not w["cpu"] or max(t for t, _ in w["cpu"]) < end:
            return f"worker {w['host']} (pid {w['pid']}) sent no report after the window"
    return None


def remote_cpu(
    record: dict[str, Any], local_pids: set[int], start: int, end: int
) -> dict[str, float]:
    """CPU seconds in the window of each worker the harness cannot see, by 'host:pid', from
    the samples it sent (each whole second); raises if a worker's samples miss the window."""
    used = {}
    for w in remote_entries(record, local_pids):
        before, after = cpu_at(w["cpu"], start), cpu_at(w["cpu"], end)
        if before is None or after is None:
            raise RemoteWorkersError(
                f"worker {w['host']} (pid {w['pid']}) reported no CPU around the window"
            )
        used[f"{w['host']}:{w['pid']}"] = after - before
    return used


def taking_part(record: dict[str, Any], local_pids: set[int], cpu: dict[str, float]):
    """The cell's record of its workers: who, where, how many reports and requests, and the CPU
    seconds of each remote one in the window (a local one's is in the harness's own figures)."""
    remote = {id(w) for w in remote_entries(record, local_pids)}
    shown = []
    for w in record.get("workers", []):
        key = f"{w['host']}:{w['pid']}"
        entry = {k: w[k] for k in ("id", "host", "pid", "index", "share", "reports", "requests")}
        entry.update(versions=w["versions"], remote=id(w) in remote, cpu_seconds=cpu.get(key))
        shown.append(entry)
    return {"workers": shown, "refused": record.get("refused", [])}
