"""JWT algorithms end to end: HS256, RS256, ES256 and EdDSA run at once as paired arms, each
against the group's baseline (HS256) by the one rule; per request and on the wire."""

from __future__ import annotations

from typing import Any

from bench.analysis import verdict_lines, verdicts
from bench.analysis.runs import Run, arm_figures, micro_figure, token_sizes


def algorithm_rows(run: Run) -> list[dict[str, Any]]:
    """Per JWT arm of the groups answering "algorithms": the algorithm, its verify and sign
    in-process, CPU per request and latency in the paired cells, the paired verdict against the
    baseline arm, and its token size."""
    sizes = token_sizes(run)
    rows = []
    for group in run.model.groups_for("algorithms"):
        judged = {
            r.a: r
            for r in verdicts.paired_verdicts(run, group=group.name)
            if not r.a_a and r.rate is not None
        }
        rate = next((r.rate for r in judged.values()), None)
        arms = arm_figures(run, group.name, rate)
        for label in group.arms:
            server = run.model.server(label)
            if server.kind != "jwt_auth" or server.revocable:
                continue
            v, figures = judged.get(label), arms.get(label, {})
            rows.append(
                {
                    "server": label,
                    "algorithm": server.algorithm,
                    "verify_us_in_process": micro_figure(run, f"jwt_verify_{server.algorithm}"),
                    "sign_us_in_process": micro_figure(run, f"jwt_sign_{server.algorithm}"),
                    "cpu_server_us": figures.get("cpu_server_us"),
                    "rate": rate,
                    "p50_response_us": figures.get("corrected_p50_us"),  # as the verdict judges
                    "versus": v.b if v else None,
                    "delta_p50_us": v.delta_us if v else None,
                    "ci_low_us": v.ci_low_us if v else None,
                    "ci_high_us": v.ci_high_us if v else None,
                    "margin_us": v.margin_us if v else None,
                    "verdict": v.verdict
                    if v
                    else ("baseline" if label == group.baseline else None),
                    "token_bytes": sizes.get(server.algorithm),
                }
            )
    return rows


def algorithm_sentence(run: Run) -> str:
    """Each algorithm against the baseline, paired, with server CPU from the same cells."""
    rows = algorithm_rows(run)
    judged = [r for r in rows if r["delta_p50_us"] is not None]
    base = next((r for r in rows if r["verdict"] == "baseline"), None)
    if not judged or base is None:
        return "This run compares no JWT algorithms end to end (the full scenario does)."
    parts = []
    for r in judged:
        words = verdict_lines.verdict_words(
            r["verdict"], f"slower than {base['algorithm']}", f"faster than {base['algorithm']}"
        )
        cpu = (
            f", server CPU {r['cpu_server_us']:,.0f} against {base['cpu_server_us']:,.0f} µs "
            "per request"
            if r["cpu_server_us"] and base["cpu_server_us"]
            else ""
        )
        parts.append(
            f"{r['algorithm']} {verdict_lines.signed(r['delta_p50_us'])} µs (interval "
            f"{verdict_lines.signed(r['ci_low_us'])} to {verdict_lines.signed(r['ci_high_us'])}): "
            f"{words}{cpu}"
        )
    text = (
        f"At {base['rate']:g} req/s in total, every algorithm at once, each against "
        f"{base['algorithm']} on the median (margin ±{judged[0]['margin_us']:,.0f} µs): "
        + "; ".join(parts)
        + "."
    )
    sized = [r for r in rows if r["token_bytes"]]
    if sized:
        largest = max(sized, key=lambda r: r["token_bytes"])
        text += (
            f" {largest['algorithm']} tokens were the largest on the wire, "
            f"{largest['token_bytes']} bytes."
        )
    return text
