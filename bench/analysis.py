"""Reading a run into tidy rows, aggregating repeats, and the sentences the notebooks show.

Shared by the summary printed after a run, `compare`, the plots and the notebooks, so that
every figure shown anywhere is computed one way. No conclusion is typed by hand: verdicts come
from `bench.claim` (one rule for every comparison), and each sentence here chooses its words
from the sign and size of what it reports.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import claim
from bench.results import load_run

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
        """Every server label measured, in order; the A/A copy of a paired arm left out."""
        seen: list[str] = []
        for row in cell_rows(self):
            if row["label"] not in seen and not row["a_a_copy"]:
                seen.append(row["label"])
        return seen

    @property
    def a_a_labels(self) -> set[str]:
        """The labels of the A/A copies of paired arms (`<label>_aa`)."""
        groups = self.meta["scenario"].get("paired") or []
        groups = [groups] if isinstance(groups, dict) else groups
        return {f"{g['a_a']}_aa" for g in groups if g.get("a_a")}

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


def _measured(run: Run) -> Iterable[tuple[dict[str, Any], dict[str, Any], bool]]:
    """(cell, figures, paired): a single-server cell's own figures, or each arm of a paired
    cell. A paired cell at a fixed total rate reads as a fixed-rate point per arm, the
    unloaded one as a closed loop with one user: their figures have the same meaning."""
    for cell in run.cells:
        if "requests" not in cell:
            continue  # a cell that failed before measuring
        if "arms" not in cell:
            yield cell, cell, False
            continue
        for label, arm in cell["arms"].items():
            model = "closed" if cell["rate"] is None else "fixed_rate"
            yield {**cell, "id": f"{cell['id']}/{label}", "model": model}, arm, True


def cell_rows(run: Run) -> list[dict[str, Any]]:
    """One flat row per measured server and cell: the figures the tables and plots use."""
    rows = []
    a_a = run.a_a_labels
    for cell, figures, paired in _measured(run):
        latency, corrected = figures.get("latency_us"), figures.get("corrected_latency_us")
        cpu = figures.get("cpu_us_per_request") or {}
        rows.append(
            {
                "id": cell["id"],
                "label": figures["label"],
                "server": figures["server"],
                "paired": paired,
                "a_a_copy": paired and figures["label"] in a_a,
                "group": cell.get("group", ""),
                "model": cell["model"],
                "users": cell["users"],
                "rate": cell["rate"],
                "repeat": cell["repeat"],
                "ok_rps": figures["ok_rps"],
                "errors": figures["error_count"],
                "p50_us": _get(latency, "p50"),
                "p90_us": _get(latency, "p90"),
                "p99_us": _get(latency, "p99"),
                "p99_9_us": _get(latency, "p99.9"),
                "max_us": _get(latency, "max"),
                "mean_us": _get(latency, "mean"),
                "corrected_p50_us": _get(corrected, "p50"),
                "corrected_p99_us": _get(corrected, "p99"),
                "corrected_max_us": _get(corrected, "max"),
                "auth_p50_us": _get(figures.get("auth_us"), "p50"),
                "late_starts": figures.get("late_starts", 0),
                **{f"cpu_{group}_us": cpu.get(group) for group in CPU_GROUPS},
                "cpu_service_us": _service_cpu(cpu),
                "load_generator_bound": figures["load_generator_bound"],
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
        key = (row["label"], row["model"], row["users"], row["rate"], row["group"])
        groups.setdefault(key, []).append(row)
    folded = []
    numeric = sorted(  # any column that is a number in some row (corrected_* only at fixed rate)
        {
            key
            for row in rows
            for key, value in row.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
    )
    for (label, model, users, rate, group), members in groups.items():
        row = {
            "label": label,
            "model": model,
            "users": users,
            "rate": rate,
            "group": group,
            "repeats": len(members),
        }
        for key in numeric:
            if key in row or key == "repeat":
                continue
            row[key] = median(m[key] for m in members)
        row["p50_spread_us"] = spread(m["p50_us"] for m in members)
        row["cpu_service_spread_us"] = spread(m["cpu_service_us"] for m in members)
        row["load_generator_bound"] = any(m["load_generator_bound"] for m in members)
        row["paired"] = any(m["paired"] for m in members)
        row["a_a_copy"] = any(m["a_a_copy"] for m in members)
        row["errors"] = sum(m["errors"] for m in members)
        folded.append(row)
    return folded


def at_rate(run: Run, rate: float | None = None) -> dict[str, dict[str, Any]]:
    """Per label, the folded fixed-rate point at `rate` (the scenario's reference by default)."""
    rate = rate if rate is not None else run.reference_rate
    found = [
        p
        for p in points(cell_rows(run))
        if p["model"] == "fixed_rate" and p["rate"] == rate and not p.get("a_a_copy")
    ]
    # A server measured in several paired groups: the main comparison's figures win.
    found.sort(key=lambda p: p["group"] in ("", "main"))
    return {p["label"]: p for p in found}


def busiest_closed(run: Run) -> dict[str, dict[str, Any]]:
    """Per label, the folded closed-loop point with the most users (closest to saturation)."""
    best: dict[str, dict[str, Any]] = {}
    for p in points(cell_rows(run)):
        if (
            p["model"] == "closed"
            and not p["paired"]
            and (p["label"] not in best or p["users"] > best[p["label"]]["users"])
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


def verdict_rows(run: Run) -> list[dict[str, Any]]:
    """`bench verdict` as rows: per paired rate and pair, estimate, interval, margin, verdict."""
    return [row.as_dict() for row in claim.paired_verdicts(run)]


def closed_cpu_ratio(run: Run, a: str = "session", b: str = "jwt_auth") -> dict[str, Any] | None:
    """Closed loop, most users: server plus database CPU per request, a over b, with a 95%
    interval from resampling the repeats (each repeat's a and b ran back to back)."""
    rows = [r for r in cell_rows(run) if r["model"] == "closed" and not r["paired"]]
    if not rows:
        return None
    users = max(r["users"] for r in rows)
    by_repeat: dict[int, dict[str, float]] = {}
    for r in rows:
        if r["users"] == users and r["label"] in (a, b) and r["cpu_service_us"] is not None:
            by_repeat.setdefault(r["repeat"], {})[r["label"]] = r["cpu_service_us"]
    both = [v for _, v in sorted(by_repeat.items()) if a in v and b in v]
    found = claim.ratio_interval([v[a] for v in both], [v[b] for v in both])
    if found is None:
        return None
    ratio, low, high = found
    return {
        "a": a,
        "b": b,
        "users": users,
        "a_us": round(median(v[a] for v in both), 1),
        "b_us": round(median(v[b] for v in both), 1),
        "ratio": ratio,
        "ci_low": low,
        "ci_high": high,
        "repeats": len(both),
    }


def cpu_ratio_sentence(run: Run, a: str = "session", b: str = "jwt_auth") -> str:
    found = closed_cpu_ratio(run, a, b)
    if found is None:
        return (
            f"This run has no closed-loop cells for both {a} and {b}: CPU per request not measured."
        )
    more = "more" if found["ratio"] >= 1 else "less"
    interval = (
        f"95% interval {found['ci_low']:.2f}x to {found['ci_high']:.2f}x over {found['repeats']} repeats"
        if found["repeats"] > 1
        else "one repeat: no interval"
    )
    return (
        f"CPU per request (closed loop, {found['users']} users, server plus database): {a} used "
        f"{found['a_us']:.0f} µs and {b} {found['b_us']:.0f} µs, {found['ratio']:.2f}x ({interval}): "
        f"{a} costs {more} CPU per request than {b}."
    )


def headline(run: Run, a: str = "session", b: str = "jwt_auth") -> str:
    """The answer in one paragraph: the paired verdict at every rate, unloaded first, and
    whether the machine passed its A/A check."""
    rows = [r for r in claim.paired_verdicts(run) if r.a == a and r.b == b]
    if not rows:
        return f"This run has no paired cells comparing {a} with {b}: no verdict."
    text = " ".join(claim.verdict_sentence(r) for r in rows)
    held = [r for r in rows if r.verdict == "holds"]
    text += (
        f" The claim that the lookup makes responses significantly slower held in {len(held)} of "
        f"{len(rows)} conditions ('holds': the interval lies above the margin)."
    )
    warning = claim.a_a_warning(claim.paired_verdicts(run))
    a_a = [r for r in claim.paired_verdicts(run) if r.a_a]
    if warning:
        text += " " + warning
    elif a_a:
        text += " The A/A check passed: two copies of one server came out within the margin."
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
    verdicts = claim.paired_verdicts(run)
    if verdicts:
        lines += ["", "Paired verdicts (a - b, median, 95% interval, margin, verdict):"]
        lines += [claim.verdict_line(row) for row in verdicts]
        if warning := claim.a_a_warning(verdicts):
            lines += ["", warning]
    if {"session", "jwt_auth"} <= set(run.labels):
        lines += ["", cpu_ratio_sentence(run)]
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
    if select_1 is not None and select_1 < lookup:
        parts.append(
            f"Of the lookup's {lookup:.0f} us, {select_1:.0f} us is the bare round trip to "
            f"PostgreSQL (SELECT 1) and {lookup - select_1:.0f} us the query itself: the trip is "
            "what costs."
        )
    elif select_1 is not None:
        parts.append(
            f"A bare round trip to PostgreSQL (SELECT 1) took {select_1:.0f} us, no less than the "
            "whole lookup (the two were timed separately, and their difference is within the "
            "noise): the query itself costs next to nothing, the trip is what costs."
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
    """Session servers through the delay proxy: set and measured distance, latency, CPU, and
    the paired verdict against JWT (the same rule as notebook 01's)."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for _, figures, _ in _measured(run):
        if figures.get("db_delay"):
            by_label.setdefault(figures["label"], []).append(figures)
    verdicts = {r.a: r for r in claim.paired_verdicts(run, group="distance") if not r.a_a}
    fixed, closed = at_rate(run), busiest_closed(run)
    rows = []
    for label, measured in by_label.items():
        f, c, v = fixed.get(label, {}), closed.get(label, {}), verdicts.get(label)
        rows.append(
            {
                "server": label,
                "set_rtt_ms": measured[0]["db_delay"]["set_rtt_ms"],
                "measured_rtt_ms": median(x["db_delay"]["added_rtt_ms"] for x in measured),
                "rate": f.get("rate"),
                "p50_us": f.get("p50_us"),
                "p99_us": f.get("p99_us"),
                "auth_p50_us": f.get("auth_p50_us"),
                "cpu_service_us": c.get("cpu_service_us"),
                "versus": v.b if v else None,
                "versus_p50_us": v.b_p50_us if v else None,
                "delta_p50_us": v.delta_p50_us if v else None,
                "ci_low_us": v.ci_low_us if v else None,
                "ci_high_us": v.ci_high_us if v else None,
                "margin_us": v.margin_us if v else None,
                "verdict": v.verdict if v else "not measured",
            }
        )
    return sorted(rows, key=lambda r: r["set_rtt_ms"])


def distance_sentence(run: Run) -> str:
    rows = [r for r in distance_rows(run) if r["p50_us"] and r["versus_p50_us"]]
    if len(rows) < 2:
        return "This run has no paired database-distance sweep (the full scenario has one)."
    near, far = rows[0], rows[-1]
    jwt = far["versus_p50_us"]
    text = (
        f"With the database {far['measured_rtt_ms']:.2f} ms further away (set {far['set_rtt_ms']:g} ms), the "
        f"session server's median at {far['rate']:g} req/s in total rose from {near['p50_us']:,.0f} µs to "
        f"{far['p50_us']:,.0f} µs, {far['p50_us'] / jwt:.1f}x the {far['versus']} server's {jwt:,.0f} µs "
        "measured beside it."
    )
    dominated = next(
        (r for r in rows if r["auth_p50_us"] and r["auth_p50_us"] > r["p50_us"] / 2), None
    )
    if dominated:
        text += (
            f" From {dominated['measured_rtt_ms']:.2f} ms of added round trip on, the auth step (the lookup) "
            f"was more than half of the whole response ({dominated['auth_p50_us']:,.0f} of "
            f"{dominated['p50_us']:,.0f} µs)."
        )
    held = [r for r in rows if r["verdict"] == "holds"]
    if not held:
        text += " By the paired verdict rule, the claim held at none of these distances."
    else:
        first = held[0]
        text += (
            f" By the paired verdict rule (interval above a margin of {first['margin_us']:,.0f} µs), "
            f"the claim holds from {first['measured_rtt_ms']:.2f} ms of added round trip on "
            f"({first['delta_p50_us']:+,.0f} µs, interval {first['ci_low_us']:+,.0f} to "
            f"{first['ci_high_us']:+,.0f} µs)"
        )
        if first is rows[0]:
            text += (
                f": already at the nearest setting, where the proxy adds only its own hop "
                f"({first['measured_rtt_ms']:.2f} ms)."
            )
        else:
            text += "."
        unsure = [r["server"] for r in rows if r["verdict"] not in ("holds", "no_difference")]
        if unsure:
            text += f" Undecided or reversed: {', '.join(unsure)}."
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
    """What each variant did against its base; the verbs follow the signs of the differences."""
    rows = {r["server"]: r for r in variant_rows(run)}
    parts = []
    for base, variant in (("jwt_auth", "jwt_denylist"), ("session", "session_cached")):
        b, v = rows.get(base), rows.get(variant)
        if not b or not v or b["cpu_service_us"] is None or v["cpu_service_us"] is None:
            continue
        cpu = v["cpu_service_us"] - b["cpu_service_us"]
        text = (
            f"{variant} used {abs(cpu):,.0f} µs {'more' if cpu > 0 else 'less'} CPU per request "
            f"than {base} ({v['cpu_service_us']:,.0f} against {b['cpu_service_us']:,.0f} µs, server "
            "plus database)"
        )
        if v["p50_us"] and b["p50_us"]:
            lat = v["p50_us"] - b["p50_us"]
            text += (
                f", and its median response was {abs(lat):,.0f} µs "
                f"{'slower' if lat > 0 else 'faster'} ({v['p50_us']:,.0f} against {b['p50_us']:,.0f} µs)"
            )
        parts.append(text)
    if not parts:
        return "This run has no denylist or cache variants (the full scenario has them)."
    return "; ".join(parts) + "."


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


PROBE_INTERVAL_S = 0.05  # the availability prober asks every 50 ms: no finer than that


def server_spec(run: Run, label: str) -> dict[str, Any]:
    """A server entry of the run's scenario (kind and settings), by label."""
    for spec in run.meta["scenario"].get("servers", []):
        if spec.get("label") == label:
            return spec
    return {"label": label, "server": label, "settings": {}}


def can_revoke(spec: dict[str, Any]) -> bool:
    """Decided from the server's kind and settings, not its label: a session server always asks
    its store; a JWT server only with the jti denylist on."""
    if spec.get("server") == "session":
        return True
    return spec.get("server") == "jwt_auth" and spec.get("settings", {}).get(
        "AUTHBENCH_JWT_DENYLIST", ""
    ).lower() not in ("", "0", "false", "no")


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
        if total == 0:
            what = f"{r['label']}: no probe landed inside the outage"
        elif ok == total:
            what = f"{r['label']} answered all {total} probes with 200 while PostgreSQL was down for {down:.1f} s"
        else:
            codes = ", ".join(f"{n} x {code}" for code, n in outage.items())
            recovered = r.get("recovered_after_s")
            if recovered is None:
                back = "and never served again before the SIGTERM"
            else:
                # The prober asks every 50 ms: say no more precisely than that.
                step = PROBE_INTERVAL_S
                back = f"and served again within {max(step, -(-recovered // step) * step):.2f} s of PostgreSQL being ready"
            what = f"{r['label']} answered {codes} while it was down, {back}"
        parts.append(what)
    text = "; ".join(parts) + "."
    slowest = [r["slowest_answer_ms"] for r in results if r.get("slowest_answer_ms") is not None]
    if slowest:
        text += (
            f" The slowest probe answer (one request at a time, every 50 ms; the loaded requests "
            f"are in the figure) took {max(slowest):,.0f} ms."
        )
    else:
        text += " No probe answer was recorded, so the slowest answer is not measured."
    revoking = [r for r in results if can_revoke(server_spec(run, r["label"]))]
    if revoking:
        revoked = sum(r["revoked_accepted"] for r in revoking)
        names = ", ".join(r["label"] for r in revoking)
        text += (
            f" The servers that can revoke ({names}) accepted a revoked token {revoked} "
            f"{'time' if revoked == 1 else 'times'}."
        )
    return text
