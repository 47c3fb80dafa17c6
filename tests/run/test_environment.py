"""Environment metadata: small collect_* functions into flat snake_case keys, as pyperf does."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib.metadata import version

from bench.run import environment


def test_every_key_is_flat_snake_case_and_json_simple():
    found = environment.collect_environment()
    for key, value in found.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
        assert value is None or isinstance(value, str | int | float | bool), (key, value)


def test_figures_match_what_the_machine_says():
    found = environment.collect_environment()
    assert found["cpu_count"] == os.cpu_count()
    assert found["cpu_affinity_count"] == len(os.sched_getaffinity(0))
    assert found["python_version"] == platform.python_version()
    assert found["python_executable"] == sys.executable
    assert found["package_pyjwt"] == version("PyJWT")
    assert found["package_locust"] == version("locust")
    assert found["memory_total_mb"] > 100
    assert found["cpu_model"]


def test_git_commit_and_dirty_flag_follow_the_checkout(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "x")
    (tmp_path / "tracked.txt").write_text("a")
    git("add", "tracked.txt")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "y")
    clean = environment.collect_git(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", clean["git_commit"]) and clean["git_dirty"] is False
    (tmp_path / "tracked.txt").write_text("b")
    assert environment.collect_git(tmp_path)["git_dirty"] is True


def test_outside_a_checkout_git_figures_are_none(tmp_path):
    assert environment.collect_git(tmp_path) == {"git_commit": None, "git_dirty": None}
