"""Is it Python's answer? The claim on every runtime the run measured (the groups answering
"runtimes"): the paired verdict per runtime, CPU per request split into the HTTP stack (the
runtime's control), the auth step and the database, and the auth step alone in-process."""

from __future__ import annotations

from typing import Any

from bench.analysis import verdict_lines, verdicts
from bench.analysis.runs import Run, busiest_closed, micro_figure

RUNTIME_NAMES = {
    "python": "Python (raw ASGI)",
    "fastapi": "FastAPI",
    "node": "Node.js",
    "command": "your server",
    "external": "your deployment",
}


def _arms(run: Run, group) -> dict[str, str]:
    """The group's session, JWT and control arms, by kind."""
    found = {}
    for label in group.arms:
        found.setdefault(run.model.server(label).kind, label)
    return found


def _in_process(run: Run, runtime: str) -> tuple[float | None, float | None]:
    """(JWT verify, session lookup) in a tight loop for a runtime: Python's micro-benchmarks
    serve both Python runtimes (the same auth code); Node has its own."""
    if runtime in ("python", "fastapi"):
        return micro_figure(run, "jwt_verify_HS256"), micro_figure(
            run, "session_lookup_unix_socket"
        )
    measured = (run.record.micro_runtimes or {}).get(runtime)
    figure = {t.name: t.us_median for t in measured.timings} if measured else {}
    return figure.get("jwt_verify_HS256"), figure.get("session_lookup")


def runtime_rows(run: Run) -> list[dict[str, Any]]:
    """One row per runtime group and load: the verdict of session minus JWT, CPU per request of
    each server alone (closed loop) split by role, and the auth step alone in-process."""
    closed = busiest_closed(run)
    rows = []
    for group in run.model.groups_for("runtimes"):
        arms = _arms(run, group)
        session, jwt, control = arms.get("session"), arms.get("jwt_auth"), arms.get("control")
        runtime = run.model.server(group.headline.a).runtime
        verify_us, lookup_us = _in_process(run, runtime)
        c = {kind: closed.get(label, {}) for kind, label in arms.items()}
        http_us = c.get("control", {}).get("cpu_server_us")
        for r in verdicts.paired_verdicts(run, group=group.name):
            if (r.a, r.b) != (session, jwt):
                continue
            rows.append(
                {
                    "runtime": runtime,
                    "group": group.name,
                    "rate": r.rate,
                    "delta_p50_us": r.delta_us,
                    "ci_low_us": r.ci_low_us,
                    "ci_high_us": r.ci_high_us,
                    "margin_us": r.margin_us,
                    "verdict": r.verdict,
                    "reason": r.reason,
                    "session_p50_us": r.a_us,
                    "jwt_p50_us": r.b_us,
                    "http_stack_us": http_us,
                    "session_server_us": c.get("session", {}).get("cpu_server_us"),
                    "session_db_us": c.get("session", {}).get("cpu_postgres_us"),
                    "jwt_server_us": c.get("jwt_auth", {}).get("cpu_server_us"),
                    "verify_us_in_process": verify_us,
                    "lookup_us_in_process": lookup_us,
                    "control": control,
                }
            )
    return rows


def runtime_cpu_rows(run: Run) -> list[dict[str, Any]]:
    """Per runtime: CPU per request of the session and JWT servers (closed loop, each alone),
    split into the HTTP stack (the control's), the auth step (the rest of the server process)
    and the database's own work."""
    seen, rows = set(), []
    for r in runtime_rows(run):
        if r["runtime"] in seen or r["http_stack_us"] is None:
            continue
        seen.add(r["runtime"])
        for kind, server_us, db_us in (
            ("session", r["session_server_us"], r["session_db_us"]),
            ("jwt_auth", r["jwt_server_us"], 0.0),
        ):
            if server_us is None:
                continue
            rows.append(
                {
                    "runtime": r["runtime"],
                    "server": kind,
                    "http_stack_us": r["http_stack_us"],
                    "auth_step_us": round(server_us - r["http_stack_us"], 1),
                    "database_us": db_us or 0.0,
                    "total_us": round(server_us + (db_us or 0.0), 1),
                }
            )
    return rows


def runtime_sentence(run: Run) -> str:
    """Per runtime: does the claim hold at the reference rate, by how much, and the cost split
    that explains it; then whether the verdict is Python's alone."""
    rows = [r for r in runtime_rows(run) if r["rate"] == run.reference_rate_of(r["group"])] or [
        r for r in runtime_rows(run) if r["rate"] is not None
    ]
    if not rows:
        return "This run measured one runtime only (the runtimes scenario measures three)."
    cpu = {(c["runtime"], c["server"]): c for c in runtime_cpu_rows(run)}
    parts = []
    for r in rows:
        name = RUNTIME_NAMES.get(r["runtime"], r["runtime"])
        words = {
            "holds": "the claim holds",
            "no_difference": "no difference beyond the margin",
            "reversed": "reversed: the session server was faster",
        }.get(r["verdict"], f"inconclusive ({r['reason'] or 'the interval crosses the margin'})")
        text = (
            f"{name}: session minus JWT {verdict_lines.signed(r['delta_p50_us'])} µs at "
            f"{r['rate']:,.0f} req/s (interval {verdict_lines.signed(r['ci_low_us'])} to "
            f"{verdict_lines.signed(r['ci_high_us'])}, margin ±{r['margin_us']:,.0f}): {words}"
        )
        jwt, session = cpu.get((r["runtime"], "jwt_auth")), cpu.get((r["runtime"], "session"))
        if jwt and session:
            text += (
                f"; per request the JWT check cost {jwt['auth_step_us']:,.0f} µs of server CPU, "
                f"the session lookup {session['auth_step_us']:,.0f} µs plus "
                f"{session['database_us']:,.0f} µs of database"
            )
        parts.append(text)
    return "; ".join(parts) + "." + _across_runtimes(rows) + _unloaded(run)


def _unloaded(run: Run) -> str:
    """The verdicts one request at a time, which the sentence above leaves out: said when they
    all agree, and runtime by runtime when they do not."""
    quiet = [r for r in runtime_rows(run) if r["rate"] is None]
    if not quiet:
        return ""
    verdicts = {r["verdict"] for r in quiet}
    if len(verdicts) == 1:
        return (
            f" Unloaded (one request at a time) the verdict is {verdicts.pop()} on all "
            f"{len(quiet)} runtimes."
        )
    each = ", ".join(
        f"{r['verdict']} on {RUNTIME_NAMES.get(r['runtime'], r['runtime'])}" for r in quiet
    )
    return f" Unloaded (one request at a time) the runtimes do not all agree: {each}."


def _across_runtimes(rows: list[dict[str, Any]]) -> str:
    """Whether the runtimes agree, telling a runtime this run could not decide from one whose
    answer differs."""

    def names(*verdicts_in: str) -> list[str]:
        return [
            RUNTIME_NAMES.get(r["runtime"], r["runtime"])
            for r in rows
            if r["verdict"] in verdicts_in
        ]

    held, not_held = names("holds"), names("no_difference", "reversed")
    inconclusive = names("inconclusive")
    open_ = (
        f" This run cannot decide on {_joined(inconclusive)} (its interval crosses the margin)."
        if inconclusive
        else ""
    )
    if held and not_held:
        return (
            f" The runtimes disagree: the claim holds on {_joined(held)} and not on "
            f"{_joined(not_held)}, so on this machine the answer depends on the stack." + open_
        )
    decided = held or not_held
    if not decided:
        return " No runtime is decided in this run: more repeats narrow the intervals."
    if not inconclusive:
        return (
            f" Under that load the verdict is the same on all {len(rows)} runtimes: there it is "
            "not Python's alone."
        )
    word = "holds" if held else "does not hold"
    return f" The claim {word} on {_joined(decided)}." + open_


def _joined(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
