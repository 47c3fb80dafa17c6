"""JWT algorithms end to end: HS256, RS256, ES256 and EdDSA, per request and on the wire."""

from __future__ import annotations

from typing import Any

from bench.analysis.runs import Run, at_rate, busiest_closed, can_revoke, micro_figure


def algorithms(run: Run) -> dict[str, str]:
    """{label: algorithm} for the plain JWT servers of the scenario (no denylist, no other
    setting than the algorithm), as the run recorded them."""
    found = {}
    for spec in run.meta["scenario"].get("servers", []):
        settings = spec.get("settings", {})
        if (
            spec.get("server") == "jwt_auth"
            and not can_revoke(spec)
            and set(settings) <= {"AUTHBENCH_JWT_ALG"}
            and spec.get("algorithm") not in found.values()
        ):
            found[spec["label"]] = spec["algorithm"]
    return found


def algorithm_rows(run: Run) -> list[dict[str, Any]]:
    fixed, closed = at_rate(run), busiest_closed(run)
    sizes = (run.micro or {}).get("token_bytes", {})
    rows = []
    for label, algorithm in algorithms(run).items():
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
        f"Per request, the server spent {cheapest['cpu_server_us']:.0f} µs of CPU with {cheapest['algorithm']} and "
        f"{dearest['cpu_server_us']:.0f} µs with {dearest['algorithm']} ({dearest['cpu_server_us'] / cheapest['cpu_server_us']:.2f}x)."
    )
    if largest:
        text += f" {largest['algorithm']} tokens were the largest on the wire, {largest['token_bytes']} bytes."
    return text
