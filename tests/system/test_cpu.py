"""CPU accounting against processes that burn a known amount of CPU."""

from __future__ import annotations

import subprocess
import sys

from bench.system.cpu_accounting import process_cpu_seconds, sample, used
from bench.system.processes import tree

BURN = """
import sys, threading, time
def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
threads = [threading.Thread(target=burn, args=(float(sys.argv[1]),)) for _ in range(2)]
sys.stdin.readline()  # wait for the first sample
for t in threads: t.start()
for t in threads: t.join()
print("done", flush=True)
sys.stdin.readline()  # stay alive for the second sample
"""


def test_cpu_of_a_process_that_burns_a_known_amount_in_two_threads():
    with subprocess.Popen(
        [sys.executable, "-c", BURN, "0.3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as burner:
        groups = {"burner": tree(burner.pid)}
        before = sample(groups)
        burner.stdin.write("go\n")
        burner.stdin.flush()
        assert burner.stdout.readline() == "done\n"
        after = sample(groups)
        burner.stdin.write("bye\n")
        burner.stdin.flush()
    burned = sum(used(before, after)["burner"].values())
    assert 0.58 <= burned <= 0.75, burned  # 2 threads x 0.3 s, plus a little interpreter work


def test_idle_process_uses_next_to_nothing():
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE
    ) as idle:
        import time

        time.sleep(0.3)  # let the interpreter finish starting
        before = sample({"idle": [idle.pid]})
        time.sleep(0.3)
        after = sample({"idle": [idle.pid]})
        idle.stdin.write(b"\n")
        idle.stdin.flush()
    assert sum(used(before, after)["idle"].values()) < 0.01


def test_a_vanished_process_reads_as_none():
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert process_cpu_seconds(int(process.stdout)) is None
