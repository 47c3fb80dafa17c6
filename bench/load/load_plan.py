"""What every Locust process of a cell needs to know, as one serialised value: the `LoadPlan`.

The driver (bench.load.locust_driver) writes it to a private temporary file, outside the run
folder since it holds tokens, names the file in `AUTHBENCH_PLAN` and deletes it when the cell
ends; the master (or the lone Locust process) reads it from there. Workers
get it from the master instead, as a message (bench.load.handshake): a worker on another host
has neither the file nor the environment, and the token population travels inside the plan
itself, never as a path. Where the results go and when users are ready are the master's own
business and stay in its environment (`AUTHBENCH_OUTPUT`, `AUTHBENCH_READY_FILE`).

`versions()` says which load code a process runs, so that a master can refuse a worker whose
authbench, Locust or load code differs from its own (a plan read by other code is a different
plan).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench.load.arrivals import DEFAULT_ARRIVALS

PLAN_ENV = "AUTHBENCH_PLAN"  # the path of the plan file, for the master or the lone process
WORKERS_FILE = "locust-workers.json"  # the master's record of its workers, beside its results
STATUS_ENV = "AUTHBENCH_WORKER_STATUS"  # where a worker started by `bench worker` says what it does


@dataclass(frozen=True)
class LoadPlan:
    """One cell's load, the same for every Locust process taking part."""

    rate: float = 0.0  # total requests per second at a fixed rate; 0 = closed loop
    arrivals: str = DEFAULT_ARRIVALS  # poisson or uniform (bench.load.arrivals)
    processes: int = 1  # load-generating processes sharing the rate, on every host together
    seeded_users: int = 10_000  # seeded accounts to log in as
    path: str = "/me"  # what each request asks for: /me or /profile
    # Paired mode: {arm label: [base URL, path]}; each request goes to an arm drawn at random.
    arms: dict[str, list[str]] = field(default_factory=dict)
    seed: int = 0  # seeds the arrival stream and each user's draws
    # A token population: {arm label: [token, ...]}, each request's token drawn by popularity.
    tokens: dict[str, list[str]] = field(default_factory=dict)
    popularity: float = 1.0  # the Zipf exponent of that draw
    # An external arm's tokens, got by the harness: {arm label: [token, ...]}. Its users log
    # in nowhere: each takes one of them in turn.
    arm_tokens: dict[str, list[str]] = field(default_factory=dict)
    cell: str = ""  # which cell of the run this is (shown by remote workers)
    run_ends: bool = False  # the run's last Locust cell: remote workers exit after it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadPlan:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"a load plan has no field {', '.join(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> LoadPlan:
        return cls.from_dict(json.loads(text))

    def write(self, path: Path) -> Path:
        path.write_text(self.to_json())
        return path

    def write_private(self) -> Path:
        """The plan in a file of the system's temporary folder, readable by this user only,
        never in the run folder: it holds tokens (an external arm's are a deployment's own, and
        run folders get committed). Whoever writes it deletes it when the cell ends."""
        handle, name = tempfile.mkstemp(prefix="authbench-plan-", suffix=".json")
        with os.fdopen(handle, "w") as file:
            file.write(self.to_json())
        return Path(name)

    @classmethod
    def from_environment(cls) -> LoadPlan:
        """The plan named by `AUTHBENCH_PLAN`, or the defaults (a closed loop on /me: what
        `make watch` runs) when there is none."""
        path = os.environ.get(PLAN_ENV)
        return cls.from_json(Path(path).read_text()) if path else cls()


def load_code_digest() -> str:
    """A short digest of the load room's source: the code that reads a plan and makes requests."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:12]


def versions() -> dict[str, str]:
    """authbench's version, Locust's, and the load code's digest, as a worker says hello."""
    found = {}
    for package in ("authbench", "locust"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:  # a checkout on the path, not installed
            found[package] = "unknown"
    return {**found, "load_code": load_code_digest()}


def mismatch(theirs: dict[str, str], ours: dict[str, str]) -> str | None:
    """One line naming what differs between a worker's versions and the master's; None if
    nothing does."""
    differ = [key for key in ours if theirs.get(key) != ours[key]]
    if not differ:
        return None
    said = "; ".join(
        f"{key} {theirs.get(key, '?')} on the worker, {ours[key]} on the master" for key in differ
    )
    return f"versions differ ({said}): install the same authbench on every host"
