"""The load curve's blocks: each server alone on the servers' core, at one rate at a time.

Per repeat, the curve's servers start afresh (bench.run.arms, in the repeat's order), and stay
up, idle while another is loaded: "alone" means that one server at a time has load. Each block
loads one server at one rate, open loop: warm-up, a measured window of whole seconds with CPU
sampled at both ends, then a drain (the window's last requests answered, or a bound). The
driver is Locust or the independent open-loop client (bench.run.curve_driver says which, and
why). The servers are stopped when the repeat's blocks are done, and whatever ends the run
(`close()` in the runner's `finally`: errors and Ctrl-C too); a block that fails says the
server's log with the driver's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load.locust_driver import CellFailed
from bench.load.recorder import Recorder
from bench.results.cell_records import CurveCell
from bench.results.run_settings import MAX_LATE_SHARE
from bench.run.arms import StartedArm, start_arm
from bench.run.cell_figures import summarise
from bench.run.cells import Lifecycle
from bench.run.curve_driver import DriverChoice
from bench.run.independent import Target, run_independent
from bench.run.scenario_plan import CurveBlock, curve_order, percent
from bench.run.xcheck import TOKENS_PER_ARM, tokens

LOCUST_DRAIN_S = 0.5  # Locust runs on past the window this long, for its last answers


class CurveRun:
    """The servers of the curve's current repeat, up while its blocks run."""

    def __init__(self, lifecycle: Lifecycle, run_dir: Path, out: Callable[[str], None]):
        self.lifecycle, self.run_dir, self.out = lifecycle, run_dir, out
        self.curve = lifecycle.scenario.curve
        generator = lifecycle.generator_cores
        cores = len(generator) if generator else (os.cpu_count() or 1)
        self.drivers = DriverChoice.of(
            lifecycle.scenario, min(cores, max(1, lifecycle.locust_workers))
        )
        self.stack: contextlib.ExitStack | None = None
        self.repeat: int | None = None
        self.arms: dict[str, StartedArm] = {}
        self.tokens: dict[str, list[str]] = {}

    def close(self) -> None:
        """Every server of the repeat stopped (nothing to do when none is up)."""
        stack, self.stack = self.stack, None
        self.arms, self.tokens, self.repeat = {}, {}, None
        if stack is not None:
            stack.close()

    def _start(self, repeat: int) -> None:
        folder = self.run_dir / "curve" / f"repeat-{repeat}"
        folder.mkdir(parents=True, exist_ok=True)
        self.stack = contextlib.ExitStack()
        self.repeat = repeat
        lifecycle = self.lifecycle
        for label in curve_order(self.curve, repeat):
            spec = lifecycle.scenario.server(label)
            log = folder / f"server-{label}.log"
            self.arms[label] = start_arm(
                self.stack,
                spec,
                lifecycle.stores,
                lifecycle.server_cores,
                log,
                None,
                lifecycle.logins,
            )

    def block(self, cell: CurveBlock) -> CurveCell:
        """One block measured; the repeat's servers started first when it is a new repeat."""
        if cell.repeat != self.repeat:
            self.close()
            try:
                self._start(cell.repeat)
            except BaseException:
                self.close()
                raise
        arm = self.arms[cell.server.label]
        driver, reason, new = self.drivers.choose(cell.fraction, cell.rate)
        if new:
            who = "Locust" if driver == "locust" else "the independent client"
            self.out(f"        {percent(cell.fraction)}, {cell.rate:,.0f} req/s: {who} ({reason})")
        cell_dir = self.run_dir / "cells" / cell.id
        cell_dir.mkdir(parents=True, exist_ok=True)
        try:
            run = self._locust if driver == "locust" else self._open_loop
            start, end, cpu, data = run(cell, arm, cell_dir)
            process = arm.server.process  # None for an external arm
            if process is not None and process.poll() is not None:
                raise CellFailed(f"the server exited with code {process.returncode}")
        except CellFailed as exc:
            log = f"{exc.log}\n" if exc.log else ""
            if arm.server.process is not None:
                log += f"the {cell.server.label} server's log ends:\n{arm.server.log()}"
            raise CellFailed(f"curve block {cell.id}: {exc.args[0]}", log) from None
        return self._record(cell, arm, driver, reason, (start, end, cpu, data))

    def _locust(self, cell: CurveBlock, arm: StartedArm, cell_dir: Path):
        lifecycle, curve, spec = self.lifecycle, self.curve, cell.server
        url = arm.server.url
        locust = lifecycle.locust(
            cell_dir,
            url,
            curve.users,
            cell.rate,
            curve.warmup_s,
            curve.duration_s,
            arms={spec.label: [url, spec.path]},
            arm_tokens={spec.label: arm.arm_tokens} if arm.arm_tokens else None,
            seed=cell.index,
            arrivals=cell.arrivals,
        )
        groups = lifecycle.alone_groups(spec, arm, locust.pids)
        start, end, cpu, _, data = lifecycle.measure(
            locust, curve.warmup_s, curve.duration_s, lambda: groups([]), drain_s=LOCUST_DRAIN_S
        )
        return start, end, cpu, data

    def _open_loop(self, cell: CurveBlock, arm: StartedArm, cell_dir: Path):
        spec, server = cell.server, arm.server
        if spec.label not in self.tokens:  # an external arm's: the ones got when it was checked
            self.tokens[spec.label] = arm.arm_tokens or tokens(server.port, TOKENS_PER_ARM)
        path = server.endpoint.path(spec.path)  # under an external arm's path prefix
        target = Target(spec.label, server.port, path, self.tokens[spec.label], server.host)
        return run_independent(
            cell_dir,
            [target],
            cell.rate,
            cell.arrivals,
            cell.index,
            self.curve.warmup_s,
            self.curve.duration_s,
            self.lifecycle.generator_cores,
            groups=self.lifecycle.alone_groups(spec, arm, list),
            max_connections=self.curve.connections,
        )

    def _record(
        self, cell: CurveBlock, arm: StartedArm, driver: str, reason: str, measured: tuple
    ) -> CurveCell:
        start, end, cpu, data = measured
        spec, locust = cell.server, driver == "locust"
        recorder = Recorder.from_encoded(data["arms"][spec.label])
        if not recorder.window(start, end).count:
            raise CellFailed(f"curve block {cell.id}: no request measured", arm.server.log())
        figures = summarise(
            spec, recorder, data, cpu, start, end, cell.rate, db_delay=arm.calibration
        )
        values: dict[str, Any] = dict(figures)
        if not locust:  # it spins by design: whether it kept its schedule is what bounds it
            values["load_generator_bound"] = figures.late_starts > MAX_LATE_SHARE * figures.requests
        else:
            self.drivers.note(cell.rate, figures.cpu_us_per_request.get("load_generator"))
        return CurveCell(
            **values,
            model="curve",
            id=cell.id,
            index=cell.index,
            repeat=cell.repeat,
            block=cell.block,
            rate=cell.rate,
            load_fraction=cell.fraction,
            driver=driver,
            driver_reason=reason,
            users=self.curve.users if locust else self.curve.connections,
            latency_file=f"cells/{cell.id}/latency.json",
            server_cores_busy=self.lifecycle.server_cores_busy(figures.cpu_seconds, end - start),
            locust_workers=self.lifecycle.locust_workers if locust else 0,
        )
