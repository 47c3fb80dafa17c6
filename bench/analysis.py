"""Reading a run into tidy rows, aggregating repeats, and checking the article's claim.

Shared by the summary printed after a run, `compare`, the plots and the notebooks, so that
every figure shown anywhere is computed one way. No conclusion is typed by hand: the claim
check returns numbers, and `claim_sentence` turns them into words.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results import load_run

# A difference counts as meaningful when it is larger than the run-to-run spread of the same
# figure and at least this fraction of the baseline. The notebooks show the threshold.
MEANINGFUL_FRACTION = 0.10
CPU_GROUPS = ("server", "postgres", "load_generator")


@dataclass
class Run:
    path: Path
    meta: dict[str, Any]

    @property
    def cells(self) -> list[dict[str, Any]]:
        return self.meta["cells"]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def labels(self) -> list[str]:
        seen: list[str] = []
        for cell in self.cells:
            if cell["label"] not in seen:
                seen.append(cell["label"])
        return seen

    @property
    def reference_rate(self) -> float | None:
        return self.meta["scenario"].get("reference_rate")

    @property
    def micro(self) -> dict[str, Any] | None:
        return self.meta.get("micro")


def load(path: str | Path) -> Run:
    """A run folder (results/<stamp>-<label>), checked. Raises ResultsError naming the problem."""
    meta = load_run(path)
    return Run(Path(path), meta)


def _get(mapping: dict | None, key: str) -> Any:
    return None if mapping is None else mapping.get(key)


def cell_rows(run: Run) -> list[dict[str, Any]]:
    """One flat row per cell: the figures the tables and plots use."""
    rows = []
    for cell in run.cells:
        if "requests" not in cell:
            continue  # a cell that failed before measuring
        latency, corrected = cell.get("latency_us"), cell.get("corrected_latency_us")
        cpu = cell.get("cpu_us_per_request") or {}
        rows.append(
            {
                "id": cell["id"],
                "label": cell["label"],
                "server": cell["server"],
                "model": cell["model"],
                "users": cell["users"],
                "rate": cell["rate"],
                "repeat": cell["repeat"],
                "ok_rps": cell["ok_rps"],
                "errors": cell["error_count"],
                "p50_us": _get(latency, "p50"),
                "p90_us": _get(latency, "p90"),
                "p99_us": _get(latency, "p99"),
                "p99_9_us": _get(latency, "p99.9"),
                "max_us": _get(latency, "max"),
                "mean_us": _get(latency, "mean"),
                "corrected_p50_us": _get(corrected, "p50"),
                "corrected_p99_us": _get(corrected, "p99"),
                "corrected_max_us": _get(corrected, "max"),
                "auth_p50_us": _get(cell.get("auth_us"), "p50"),
                "late_starts": cell.get("late_starts", 0),
                **{f"cpu_{group}_us": cpu.get(group) for group in CPU_GROUPS},
                "cpu_service_us": _service_cpu(cpu),
                "load_generator_bound": cell["load_generator_bound"],
                "latency": latency,
                "corrected": corrected,
            }
        )
    return rows


def _service_cpu(cpu: dict[str, Any]) -> float | None:
    """What serving one request costs: server plus database, without the load generator."""
    if cpu.get("server") is None:
        return None
    return round(cpu["server"] + (cpu.get("postgres") or 0.0), 2)


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) - min(present) if len(present) > 1 else None


def points(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Repeats folded into one row per (label, model, users, rate): medians, spread, flags."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["label"], row["model"], row["users"], row["rate"]), []).append(row)
    folded = []
    numeric = sorted(  # any column that is a number in some row (corrected_* only at fixed rate)
        {
            key
            for row in rows
            for key, value in row.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
    )
    for (label, model, users, rate), members in groups.items():
        row = {
            "label": label,
            "model": model,
            "users": users,
            "rate": rate,
            "repeats": len(members),
        }
        for key in numeric:
            if key in row or key == "repeat":
                continue
            row[key] = median(m[key] for m in members)
        row["p50_spread_us"] = spread(m["p50_us"] for m in members)
        row["cpu_service_spread_us"] = spread(m["cpu_service_us"] for m in members)
        row["load_generator_bound"] = any(m["load_generator_bound"] for m in members)
        row["errors"] = sum(m["errors"] for m in members)
        folded.append(row)
    return folded


def at_rate(run: Run, rate: float | None = None) -> dict[str, dict[str, Any]]:
    """Per label, the folded fixed-rate point at `rate` (the scenario's reference by default)."""
    rate = rate if rate is not None else run.reference_rate
    return {
        p["label"]: p
        for p in points(cell_rows(run))
        if p["model"] == "fixed_rate" and p["rate"] == rate
    }


def busiest_closed(run: Run) -> dict[str, dict[str, Any]]:
    """Per label, the folded closed-loop point with the most users (closest to saturation)."""
    best: dict[str, dict[str, Any]] = {}
    for p in points(cell_rows(run)):
        if p["model"] == "closed" and (
            p["label"] not in best or p["users"] > best[p["label"]]["users"]
        ):
            best[p["label"]] = p
    return best


def summary_rows(run: Run) -> list[dict[str, Any]]:
    """Per server label: saturation, CPU per request by process, latency at the reference rate."""
    closed, fixed = busiest_closed(run), at_rate(run)
    rows = []
    for label in run.labels:
        c, f = closed.get(label, {}), fixed.get(label, {})
        service = c.get("cpu_service_us")
        rows.append(
            {
                "server": label,
                "closed_users": c.get("users"),
                "closed_rps": c.get("ok_rps"),
                "rps_per_core": round(1e6 / service) if service else None,
                "cpu_server_us": c.get("cpu_server_us"),
                "cpu_postgres_us": c.get("cpu_postgres_us"),
                "cpu_load_generator_us": c.get("cpu_load_generator_us"),
                "rate": f.get("rate"),
                "p50_us": f.get("p50_us"),
                "p99_us": f.get("p99_us"),
                "corrected_p99_us": f.get("corrected_p99_us"),
                "auth_p50_us": f.get("auth_p50_us"),
                "load_generator_bound": bool(
                    c.get("load_generator_bound") or f.get("load_generator_bound")
                ),
            }
        )
    return rows


@dataclass
class ClaimCheck:
    """Session versus JWT, from one run. Every field is computed; None where data is missing.

    The servers run interleaved (A B C A B C), so each repeat is a fair pair: the difference is
    taken within each repeat, and it counts only if every repeat agrees on its sign.
    """

    rate: float | None
    session_p50_us: float | None
    jwt_p50_us: float | None
    control_p50_us: float | None
    delta_p50_us: float | None
    relative: float | None
    repeat_deltas_us: list[float]
    session_p99_us: float | None
    jwt_p99_us: float | None
    delta_p99_us: float | None
    session_cpu_us: float | None
    jwt_cpu_us: float | None
    delta_cpu_us: float | None
    rps_per_core_ratio: float | None
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def repeat_deltas(run: Run, a: str, b: str, rate: float | None, key: str = "p50_us") -> list[float]:
    """Per repeat, a's figure minus b's, at one fixed rate."""
    rate = rate if rate is not None else run.reference_rate
    by_repeat: dict[int, dict[str, float]] = {}
    for row in cell_rows(run):
        if (
            row["model"] == "fixed_rate"
            and row["rate"] == rate
            and row["label"] in (a, b)
            and row[key] is not None
        ):
            by_repeat.setdefault(row["repeat"], {})[row["label"]] = row[key]
    return [round(v[a] - v[b], 1) for _, v in sorted(by_repeat.items()) if a in v and b in v]


def check_claim(
    run: Run, session: str = "session", jwt: str = "jwt_auth", rate: float | None = None
) -> ClaimCheck:
    fixed, closed = at_rate(run, rate), busiest_closed(run)
    s, j, c = fixed.get(session, {}), fixed.get(jwt, {}), fixed.get("control", {})

    def diff(x, y):
        return round(x - y, 1) if x is not None and y is not None else None

    deltas = repeat_deltas(run, session, jwt, rate)
    delta = round(median(deltas), 1) if deltas else None
    relative = round(delta / j["p50_us"], 3) if delta is not None and j.get("p50_us") else None
    s_cpu, j_cpu = (
        closed.get(session, {}).get("cpu_service_us"),
        closed.get(jwt, {}).get("cpu_service_us"),
    )
    ratio = round(s_cpu / j_cpu, 2) if s_cpu and j_cpu else None
    if delta is None:
        verdict = "no data"
    elif not (all(d > 0 for d in deltas) or all(d < 0 for d in deltas)):
        verdict = "within noise"
    elif delta < 0:
        verdict = "does not hold"
    elif relative is not None and relative < MEANINGFUL_FRACTION:
        verdict = "small"
    else:
        verdict = "holds"
    return ClaimCheck(
        rate=s.get("rate") or j.get("rate"),
        session_p50_us=s.get("p50_us"),
        jwt_p50_us=j.get("p50_us"),
        control_p50_us=c.get("p50_us"),
        delta_p50_us=delta,
        relative=relative,
        repeat_deltas_us=deltas,
        session_p99_us=s.get("p99_us"),
        jwt_p99_us=j.get("p99_us"),
        delta_p99_us=diff(s.get("p99_us"), j.get("p99_us")),
        session_cpu_us=s_cpu,
        jwt_cpu_us=j_cpu,
        delta_cpu_us=diff(s_cpu, j_cpu),
        rps_per_core_ratio=ratio,
        verdict=verdict,
    )


def _repeats_phrase(deltas: list[float]) -> str:
    if len(deltas) < 2:
        return " (one repeat only: no estimate of run-to-run noise)"
    low, high = min(deltas), max(deltas)
    return f" (in each of {len(deltas)} interleaved repeats: {low:+,.0f} to {high:+,.0f} us)"


def claim_sentence(check: ClaimCheck) -> str:
    """The verdict in one sentence, built from the numbers only."""
    if check.verdict == "no data":
        return "This run has no fixed-rate cells for both the session and the JWT server."
    rate = f"{check.rate:g} requests per second"
    pct = f"{abs(check.relative) * 100:.0f}%" if check.relative is not None else "an unknown share"
    repeats = _repeats_phrase(check.repeat_deltas_us)
    cpu = ""
    if check.delta_cpu_us is not None:
        cpu = (
            f" Per request, server plus database used {check.session_cpu_us:.0f} us of CPU for the "
            f"session server and {check.jwt_cpu_us:.0f} us for JWT ({check.rps_per_core_ratio:.2f}x)."
        )
    if check.verdict == "does not hold":
        head = (
            f"At {rate}, the session server's median response was {abs(check.delta_p50_us):.0f} us "
            f"faster than the JWT server's{repeats}: the claim does not hold here."
        )
    elif check.verdict == "within noise":
        head = (
            f"At {rate}, the repeats disagree on which server was faster{repeats}: no measurable "
            "difference in the median."
        )
    else:
        size = "a small" if check.verdict == "small" else "a meaningful"
        tail = (
            "so the claim holds."
            if check.verdict == "holds"
            else f"below the {MEANINGFUL_FRACTION:.0%} threshold for 'significant'."
        )
        head = (
            f"At {rate}, the session lookup added {check.delta_p50_us:.0f} us to the median response "
            f"({pct} over JWT){repeats}: {size} difference, {tail}"
        )
    return head + cpu


def fixed_rates(run: Run, *labels: str) -> list[float]:
    """The fixed rates at which every one of `labels` was measured."""
    found = [
        {c["rate"] for c in run.cells if c["model"] == "fixed_rate" and c["label"] == label}
        for label in labels
    ]
    return sorted(set.intersection(*found)) if found else []


def check_claim_by_rate(
    run: Run, session: str = "session", jwt: str = "jwt_auth"
) -> list[ClaimCheck]:
    """The claim check at every fixed rate both servers ran: one verdict per rate."""
    return [check_claim(run, session, jwt, rate) for rate in fixed_rates(run, session, jwt)]


def verdict_rows(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "rate": c.rate,
            "session_p50_us": c.session_p50_us,
            "jwt_p50_us": c.jwt_p50_us,
            "control_p50_us": c.control_p50_us,
            "delta_p50_us": c.delta_p50_us,
            "relative": f"{c.relative:+.0%}" if c.relative is not None else None,
            "per_repeat_us": ", ".join(f"{d:+,.0f}" for d in c.repeat_deltas_us),
            "delta_p99_us": c.delta_p99_us,
            "verdict": c.verdict,
        }
        for c in check_claim_by_rate(run)
    ]


def overall_sentence(run: Run) -> str:
    """How many of the measured rates support the claim, and the steadier CPU comparison."""
    checks = [c for c in check_claim_by_rate(run) if c.verdict != "no data"]
    if not checks:
        return "This run has no fixed-rate cells for both the session and the JWT server."
    held = [c for c in checks if c.verdict == "holds"]
    rates = ", ".join(f"{c.rate:g}" for c in held) or "none"
    text = (
        f"The claim held at {len(held)} of {len(checks)} request rates (held at: {rates} req/s; "
        f"'holds' means slower in every interleaved repeat by at least {MEANINGFUL_FRACTION:.0%})."
    )
    cpu = checks[0]
    if cpu.delta_cpu_us is not None:
        text += (
            f" CPU per request under closed-loop load, the steadier figure: server plus database used "
            f"{cpu.session_cpu_us:.0f} us for the session server against {cpu.jwt_cpu_us:.0f} us for JWT "
            f"({cpu.rps_per_core_ratio:.2f}x)."
        )
    return text


class Table:
    """Rows shown as text (stdout) or HTML (notebooks); None shows as a dash."""

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.rows = list(rows)
        self.columns = list(columns or (self.rows[0].keys() if self.rows else []))
        self.headers = headers or {}

    @staticmethod
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else ""
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    def _header(self, column: str) -> str:
        return self.headers.get(column, column)

    def __str__(self) -> str:
        grid = [[self._header(c) for c in self.columns]]
        grid += [[self.cell(row.get(c)) for c in self.columns] for row in self.rows]
        widths = [max(len(line[i]) for line in grid) for i in range(len(self.columns))]
        lines = []
        for n, line in enumerate(grid):
            lines.append(
                "  ".join(
                    v.rjust(w) if n and i else v.ljust(w)
                    for i, (v, w) in enumerate(zip(line, widths, strict=True))
                )
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(self._header(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(self.cell(row.get(c)))}</td>" for c in self.columns)
            + "</tr>"
            for row in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


SUMMARY_HEADERS = {
    "server": "server",
    "closed_users": "users",
    "closed_rps": "req/s (closed)",
    "rps_per_core": "req/s per core",
    "cpu_server_us": "server us/req",
    "cpu_postgres_us": "postgres us/req",
    "cpu_load_generator_us": "locust us/req",
    "rate": "at req/s",
    "p50_us": "p50 us",
    "p99_us": "p99 us",
    "corrected_p99_us": "p99 us (from intended start)",
    "load_generator_bound": "locust bound",
}


def summary_table(run: Run) -> Table:
    return Table(summary_rows(run), list(SUMMARY_HEADERS), SUMMARY_HEADERS)


def summary_text(run: Run) -> str:
    lines = [str(summary_table(run))]
    labels = set(run.labels)
    if {"session", "jwt_auth"} <= labels:
        lines += ["", *(claim_sentence(c) for c in check_claim_by_rate(run)), overall_sentence(run)]
    if any(r["load_generator_bound"] for r in summary_rows(run)):
        lines.append(
            "'locust bound': the load generator used over 90% of a core in that cell; its "
            "req/s says more about Locust than the server (compare CPU per request instead)."
        )
    return "\n".join(lines)


def compare_rows(a: Run, b: Run) -> list[dict[str, Any]]:
    """Per server label present in both runs: the summary figures side by side, b / a."""
    rows_a = {r["server"]: r for r in summary_rows(a)}
    rows_b = {r["server"]: r for r in summary_rows(b)}
    out = []
    for label in [lbl for lbl in rows_a if lbl in rows_b]:
        ra, rb = rows_a[label], rows_b[label]
        row = {"server": label}
        for key in ("rps_per_core", "cpu_server_us", "cpu_postgres_us", "p50_us", "p99_us"):
            row[f"{key}_a"], row[f"{key}_b"] = ra[key], rb[key]
            row[f"{key}_ratio"] = (
                round(rb[key] / ra[key], 2) if ra[key] and rb[key] is not None else None
            )
        out.append(row)
    return out


# --------------------------------------------------------------------------------------------
# Computed sentences for the notebooks: each one from the numbers of the loaded run only.


def _count(n: float, noun: str) -> str:
    return f"{n:,.0f} {noun}" + ("" if n == 1 else "s")


def micro_figure(run: Run, name: str) -> float | None:
    for timing in (run.micro or {}).get("timings", []):
        if timing["name"] == name:
            return timing["us_median"]
    return None


def micro_sentence(run: Run) -> str:
    verify = micro_figure(run, "jwt_verify_HS256")
    lookup = micro_figure(run, "session_lookup_unix_socket") or micro_figure(
        run, "session_lookup_tcp"
    )
    select_1 = micro_figure(run, "select_1_unix_socket") or micro_figure(run, "select_1_tcp")
    sha = micro_figure(run, "session_token_sha256")
    if verify is None or lookup is None:
        return 'This run has no micro-benchmarks (scenario micro = "off").'
    bigger = "slower" if lookup > verify else "faster"
    parts = [
        f"In-process, verifying an HS256 JWT took {verify:.0f} us and the session lookup took "
        f"{lookup:.0f} us ({lookup / verify:.1f}x, {bigger})."
    ]
    if select_1 is not None:
        parts.append(
            f"Of the lookup, {select_1:.0f} us is the bare round trip to PostgreSQL (SELECT 1): "
            "the query itself is cheap, the trip is what costs."
        )
    if sha is not None:
        parts.append(f"Hashing the opaque token with sha256 took {sha:.1f} us.")
    return " ".join(parts)


def token_size_sentence(run: Run) -> str:
    sizes = (run.micro or {}).get("token_bytes")
    if not sizes:
        return "This run recorded no token sizes."
    opaque = sizes["opaque"]
    others = ", ".join(f"{alg} {size} B" for alg, size in sizes.items() if alg != "opaque")
    largest = max((s for a, s in sizes.items() if a != "opaque"), default=opaque)
    return (
        f"An opaque session token is {opaque} bytes; the JWTs issued here are {others}. Every "
        f"request carries that difference: up to {largest - opaque} extra bytes, {largest / opaque:.0f}x "
        "the opaque token."
    )


def pem_sentence(run: Run) -> str:
    key = micro_figure(run, "jwt_sign_RS256")
    pem = micro_figure(run, "jwt_sign_RS256_pem_string")
    if key is None or pem is None:
        return "This run has no PEM-string measurements."
    return (
        f"Signing RS256 with a key object took {key:.0f} us; passing the same key as a PEM string "
        f"took {pem:,.0f} us ({pem / key:.0f}x), because PyJWT parses the PEM on every call."
    )


def fixed_rate_rows(run: Run, rate: float | None = None) -> list[dict[str, Any]]:
    points_at = at_rate(run, rate)
    return [
        {
            "server": label,
            "rate": p["rate"],
            "p50_us": p["p50_us"],
            "p99_us": p["p99_us"],
            "p99_9_us": p["p99_9_us"],
            "auth_p50_us": p["auth_p50_us"],
            "cpu_service_us": p["cpu_service_us"],
            "repeats": p["repeats"],
            "p50_spread_us": p["p50_spread_us"],
        }
        for label, p in points_at.items()
    ]


def auth_share_sentence(run: Run, rate: float | None = None) -> str:
    """How much of the median response the server itself reports as auth (Server-Timing)."""
    rows = {r["server"]: r for r in fixed_rate_rows(run, rate)}
    parts = []
    for label in ("session", "jwt_auth"):
        row = rows.get(label)
        if row and row["auth_p50_us"] is not None and row["p50_us"]:
            parts.append(
                f"{label}: auth {row['auth_p50_us']:.0f} us of a {row['p50_us']:.0f} us median "
                f"({row['auth_p50_us'] / row['p50_us']:.0%})"
            )
    if not parts:
        return "This run has no Server-Timing figures at a fixed rate."
    return "By the servers' own Server-Timing, " + "; ".join(parts) + "."


def saturation_sentence(run: Run) -> str:
    rows = [r for r in summary_rows(run) if r["rps_per_core"]]
    if not rows:
        return "This run has no closed-loop cells."
    best = max(rows, key=lambda r: r["rps_per_core"])
    worst = min(rows, key=lambda r: r["rps_per_core"])
    text = (
        f"Per core of server plus database, {best['server']} could serve about {best['rps_per_core']:,} "
        f"requests per second and {worst['server']} about {worst['rps_per_core']:,} "
        f"({best['rps_per_core'] / worst['rps_per_core']:.1f}x)."
    )
    bound = [r["server"] for r in rows if r["load_generator_bound"]]
    if bound:
        whose = "its" if len(bound) == 1 else "their"
        text += (
            f" The load generator was the bottleneck for {', '.join(bound)}: {whose} measured req/s "
            "is Locust's limit, which is why CPU per request is the figure to compare."
        )
    return text


def tail_sentence(run: Run, rate: float | None = None) -> str:
    rows = [r for r in fixed_rate_rows(run, rate) if r["p50_us"] and r["p99_9_us"]]
    if not rows:
        return "This run has no fixed-rate cells."
    worst = max(rows, key=lambda r: r["p99_9_us"] / r["p50_us"])
    return (
        f"The tail is far from the median: for {worst['server']}, p99.9 was {worst['p99_9_us']:,.0f} us, "
        f"{worst['p99_9_us'] / worst['p50_us']:.1f}x its median of {worst['p50_us']:,.0f} us."
    )


def averages_rows(run: Run, rate: float | None = None) -> list[dict[str, Any]]:
    return [
        {
            "server": label,
            "mean_us": p["mean_us"],
            "p50_us": p["p50_us"],
            "p99_us": p["p99_us"],
            "max_us": p["max_us"],
        }
        for label, p in at_rate(run, rate).items()
    ]


def averages_sentence(run: Run, rate: float | None = None) -> str:
    rows = [r for r in averages_rows(run, rate) if r["mean_us"] and r["p99_us"]]
    if not rows:
        return "This run has no fixed-rate cells."
    row = max(rows, key=lambda r: r["max_us"] / r["mean_us"])
    return (
        f"For {row['server']}, the mean was {row['mean_us']:,.0f} us, yet p99 was {row['p99_us']:,.0f} us "
        f"and the slowest request {row['max_us']:,.0f} us ({row['max_us'] / row['mean_us']:.0f}x the mean): "
        "an average hides exactly the requests users complain about."
    )


def omission_rows(run: Run) -> list[dict[str, Any]]:
    """Fixed-rate points: service time versus latency from the intended start."""
    rows = []
    for p in points(cell_rows(run)):
        if p["model"] != "fixed_rate" or p["corrected_p99_us"] is None:
            continue
        rows.append(
            {
                "server": p["label"],
                "rate": p["rate"],
                "ok_rps": p["ok_rps"],
                "p99_us": p["p99_us"],
                "corrected_p99_us": p["corrected_p99_us"],
                "hidden_us": round(p["corrected_p99_us"] - p["p99_us"], 1),
                "late_starts": p["late_starts"],
            }
        )
    return sorted(rows, key=lambda r: (r["server"], r["rate"]))


def omission_sentence(run: Run) -> str:
    rows = omission_rows(run)
    if not rows:
        return "This run has no fixed-rate cells."
    row = max(rows, key=lambda r: r["corrected_p99_us"] / max(r["p99_us"], 1))
    return (
        f"At {row['rate']:g} req/s, {row['server']}'s p99 looked like {row['p99_us']:,.0f} us when timed "
        f"from when each request was sent, but {row['corrected_p99_us']:,.0f} us when timed from when it "
        f"should have been sent ({row['corrected_p99_us'] / max(row['p99_us'], 1):.1f}x): "
        f"{_count(row['late_starts'], 'request')} could not even start on time. A closed-loop tester never "
        "sees that wait, because it simply sends less while the server is slow."
    )


def load_generator_sentence(run: Run) -> str:
    rows = [r for r in summary_rows(run) if r["cpu_load_generator_us"] and r["cpu_server_us"]]
    control = next((r for r in rows if r["server"] == "control"), rows[0] if rows else None)
    if control is None:
        return "This run has no closed-loop CPU figures."
    return (
        f"Locust spent {control['cpu_load_generator_us']:.0f} us of CPU per request against the "
        f"{control['server']} server, which itself spent {control['cpu_server_us']:.0f} us "
        f"({control['cpu_load_generator_us'] / control['cpu_server_us']:.1f}x): on a small machine the "
        "load generator, not the server, runs out of CPU first."
    )


# --------------------------------------------------------------------------------------------
# Experiments: database distance, revocation and caching, algorithms, availability.


def distance_rows(run: Run) -> list[dict[str, Any]]:
    """Session server through the delay proxy: set and measured distance, latency, CPU."""
    rate = run.reference_rate
    by_label: dict[str, list[dict[str, Any]]] = {}
    for cell in run.cells:
        if cell.get("db_delay") and "requests" in cell:
            by_label.setdefault(cell["label"], []).append(cell)
    fixed, closed = at_rate(run, rate), busiest_closed(run)
    rows = []
    for label, cells in by_label.items():
        f, c = fixed.get(label, {}), closed.get(label, {})
        rows.append(
            {
                "server": label,
                "set_rtt_ms": cells[0]["db_delay"]["set_rtt_ms"],
                "measured_rtt_ms": median(x["db_delay"]["added_rtt_ms"] for x in cells),
                "rate": f.get("rate"),
                "p50_us": f.get("p50_us"),
                "p99_us": f.get("p99_us"),
                "auth_p50_us": f.get("auth_p50_us"),
                "closed_rps": c.get("ok_rps"),
                "cpu_service_us": c.get("cpu_service_us"),
            }
        )
    return sorted(rows, key=lambda r: r["set_rtt_ms"])


def distance_sentence(run: Run) -> str:
    rows = [r for r in distance_rows(run) if r["p50_us"]]
    jwt = at_rate(run).get("jwt_auth", {}).get("p50_us")
    if len(rows) < 2 or not jwt:
        return "This run has no database-distance sweep (the full scenario has one)."
    near, far = rows[0], rows[-1]
    text = (
        f"With the database {far['measured_rtt_ms']:.2f} ms further away (set {far['set_rtt_ms']:g} ms), the "
        f"session server's median at {far['rate']:g} req/s rose from {near['p50_us']:,.0f} us to "
        f"{far['p50_us']:,.0f} us, {far['p50_us'] / jwt:.1f}x the JWT server's {jwt:,.0f} us."
    )
    dominated = next(
        (r for r in rows if r["auth_p50_us"] and r["auth_p50_us"] > r["p50_us"] / 2), None
    )
    if dominated:
        text += (
            f" From {dominated['measured_rtt_ms']:.2f} ms of added round trip on, the auth step (the lookup) "
            f"was more than half of the whole response ({dominated['auth_p50_us']:,.0f} of "
            f"{dominated['p50_us']:,.0f} us)."
        )
    significant = next((r for r in rows if r["p50_us"] > jwt * (1 + MEANINGFUL_FRACTION)), None)
    if significant:
        text += (
            f" By this notebook's threshold ({MEANINGFUL_FRACTION:.0%} over JWT), 'significantly' holds from "
            f"{significant['measured_rtt_ms']:.2f} ms of added round trip"
            + (" on, that is, already on the same machine." if significant is rows[0] else " on.")
        )
    return text


def revocation_rows(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "server": r["label"],
            "hosts": r.get("hosts"),
            "logout_status": r["logout_status"],
            "accepted_after_logout": r["accepted_after_logout"],
            "last_accepted_ms": r["last_accepted_ms"],
            "still_accepted_at_end": r["still_accepted_at_end"],
            "probe_for_s": r["probe_for_s"],
            "token_valid_for_s": r.get("token_valid_for_s"),
        }
        for r in run.meta.get("revocation") or []
    ]


def revocation_sentence(run: Run) -> str:
    rows = revocation_rows(run)
    if not rows:
        return "This run has no revocation experiment (the full scenario has one)."
    at_once = [r["server"] for r in rows if r["accepted_after_logout"] == 0]
    parts = []
    if at_once:
        parts.append(
            f"After logout, {', '.join(at_once)} refused the token from the very next request"
        )
    for r in rows:
        if r["accepted_after_logout"] and not r["still_accepted_at_end"]:
            parts.append(
                f"{r['server']} kept accepting it for {r['last_accepted_ms']:,.0f} ms on a host that had not "
                "handled the logout"
            )
        elif r["still_accepted_at_end"]:
            valid = (
                f", and it stays valid for another {r['token_valid_for_s']:,.0f} s (until exp)"
                if r["token_valid_for_s"]
                else ""
            )
            parts.append(
                f"{r['server']} still accepted it when probing stopped after {r['probe_for_s']:g} s{valid}"
            )
    return "; ".join(parts) + "."


def variant_rows(
    run: Run,
    pairs: Sequence[tuple[str, str]] = (
        ("jwt_auth", "jwt_denylist"),
        ("session", "session_cached"),
    ),
) -> list[dict[str, Any]]:
    """What a variant costs or saves against its base: CPU per request and median latency."""
    fixed, closed = at_rate(run), busiest_closed(run)
    rows = []
    for base, variant in pairs:
        if variant not in fixed and variant not in closed:
            continue
        for label in (base, variant):
            rows.append(
                {
                    "server": label,
                    "cpu_service_us": closed.get(label, {}).get("cpu_service_us"),
                    "cpu_postgres_us": closed.get(label, {}).get("cpu_postgres_us"),
                    "rate": fixed.get(label, {}).get("rate"),
                    "p50_us": fixed.get(label, {}).get("p50_us"),
                    "p99_us": fixed.get(label, {}).get("p99_us"),
                }
            )
    return rows


def variant_sentence(run: Run) -> str:
    rows = {r["server"]: r for r in variant_rows(run)}
    parts = []
    for base, variant, verb in (
        ("jwt_auth", "jwt_denylist", "cost"),
        ("session", "session_cached", "saved"),
    ):
        b, v = rows.get(base), rows.get(variant)
        if not b or not v or b["cpu_service_us"] is None or v["cpu_service_us"] is None:
            continue
        cpu = v["cpu_service_us"] - b["cpu_service_us"]
        lat = (v["p50_us"] - b["p50_us"]) if v["p50_us"] and b["p50_us"] else None
        amount = abs(cpu)
        latency = f" and {abs(lat):,.0f} us of median latency" if lat is not None else ""
        parts.append(
            f"{variant} {verb} {amount:,.0f} us of CPU per request{latency} against {base}"
        )
    if not parts:
        return "This run has no denylist or cache variants (the full scenario has them)."
    return "The " + "; the ".join(parts) + "."


ALGORITHM_LABELS = {
    "jwt_auth": "HS256",
    "jwt_rs256": "RS256",
    "jwt_es256": "ES256",
    "jwt_eddsa": "EdDSA",
}


def algorithm_rows(run: Run) -> list[dict[str, Any]]:
    fixed, closed = at_rate(run), busiest_closed(run)
    sizes = (run.micro or {}).get("token_bytes", {})
    rows = []
    for label, algorithm in ALGORITHM_LABELS.items():
        if label not in fixed and label not in closed:
            continue
        rows.append(
            {
                "server": label,
                "algorithm": algorithm,
                "verify_us_in_process": micro_figure(run, f"jwt_verify_{algorithm}"),
                "sign_us_in_process": micro_figure(run, f"jwt_sign_{algorithm}"),
                "cpu_server_us": closed.get(label, {}).get("cpu_server_us"),
                "p50_us": fixed.get(label, {}).get("p50_us"),
                "token_bytes": sizes.get(algorithm),
            }
        )
    return rows


def algorithm_sentence(run: Run) -> str:
    rows = [r for r in algorithm_rows(run) if r["cpu_server_us"]]
    if len(rows) < 2:
        return "This run compares no JWT algorithms end to end (the full scenario does)."
    cheapest = min(rows, key=lambda r: r["cpu_server_us"])
    dearest = max(rows, key=lambda r: r["cpu_server_us"])
    largest = max(
        (r for r in rows if r["token_bytes"]), key=lambda r: r["token_bytes"], default=None
    )
    text = (
        f"Per request, the server spent {cheapest['cpu_server_us']:.0f} us of CPU with {cheapest['algorithm']} and "
        f"{dearest['cpu_server_us']:.0f} us with {dearest['algorithm']} ({dearest['cpu_server_us'] / cheapest['cpu_server_us']:.2f}x)."
    )
    if largest:
        text += f" {largest['algorithm']} tokens were the largest on the wire, {largest['token_bytes']} bytes."
    return text


def availability_rows(run: Run) -> list[dict[str, Any]]:
    rows = []
    for r in run.meta.get("availability") or []:
        if "skipped" in r:
            rows.append({"server": r["label"], "skipped": r["skipped"]})
            continue
        rows.append(
            {
                "server": r["label"],
                "outage_statuses": ", ".join(
                    f"{n}x {code}" for code, n in r["outage_statuses"].items()
                ),
                "revoked_accepted": r["revoked_accepted"],
                "slowest_answer_ms": r["slowest_answer_ms"],
                "recovered_after_s": r["recovered_after_s"],
                "unanswered_before_sigterm": r["unanswered_before_sigterm"],
            }
        )
    return rows


def availability_sentence(run: Run) -> str:
    results = [r for r in run.meta.get("availability") or [] if "skipped" not in r]
    if not results:
        return "This run has no availability experiment (the full scenario has one; it needs the embedded PostgreSQL)."
    parts = []
    for r in results:
        outage = r["outage_statuses"]
        total = sum(outage.values())
        ok = outage.get("200", 0)
        down = r["events"]["database_up"] - r["events"]["database_down"]
        if ok == total:
            what = f"{r['label']} answered all {total} probes with 200 while PostgreSQL was down for {down:.1f} s"
        else:
            codes = ", ".join(f"{n} x {code}" for code, n in outage.items())
            what = f"{r['label']} answered {codes} while it was down, and served again {r['recovered_after_s']:.2f} s after it came back"
        parts.append(what)
    slowest = max(r["slowest_answer_ms"] or 0 for r in results)
    revoking = [r for r in results if r["label"] != "jwt_auth"]
    revoked = sum(r["revoked_accepted"] for r in revoking)
    text = "; ".join(parts) + f". No answer took longer than {slowest:,.0f} ms"
    if revoking:
        text += f", and the servers that can revoke accepted a revoked token {revoked} times"
    return text + "."
