"""Figures of paired verdicts: GET /profile and the session stores, one row per verdict."""

from __future__ import annotations

from matplotlib.figure import Figure

from bench.analysis.plots.palette import US, color
from bench.analysis.runs import Run, find_server
from bench.analysis.verdicts import PairVerdict, paired_verdicts


def _when(rate: float | None) -> str:
    return "unloaded" if rate is None else f"{rate:g} req/s"


def _verdict_chart(shown: list[tuple[str, PairVerdict, str]], title: str) -> Figure:
    """One row per paired verdict: the difference of medians with its interval, the margin as a
    grey band around zero, the verdict in words at the right."""
    fig = Figure(figsize=(9.5, 0.45 * len(shown) + 1.5), layout="constrained")
    axis = fig.subplots()
    ys = list(range(len(shown)))[::-1]
    for y, (_, r, c) in zip(ys, shown, strict=True):
        axis.plot([-r.margin_us, r.margin_us], [y, y], color="#7f7f7f", lw=7, alpha=0.25,
                  solid_capstyle="butt")  # fmt: skip
        axis.errorbar(
            r.delta_p50_us, y, xerr=[[r.delta_p50_us - r.ci_low_us], [r.ci_high_us - r.delta_p50_us]],
            fmt="o", color=c, capsize=4,
        )  # fmt: skip
        axis.annotate(
            f"  {r.verdict.replace('_', ' ')}", (r.ci_high_us, y), va="center", fontsize=8
        )
    axis.axvline(0, color="black", lw=0.8)
    axis.set_yticks(ys, [text for text, _, _ in shown], fontsize=9)
    lows = [min(r.ci_low_us, -r.margin_us) for _, r, _ in shown]
    highs = [max(r.ci_high_us, r.margin_us) for _, r, _ in shown]
    axis.set_xlim(min(lows) * 1.2, max(highs) * 1.3)
    axis.set_xlabel(f"difference of medians, a − b ({US}); grey: ± the margin")
    axis.set_title(title, fontsize=10)
    axis.grid(True, axis="x", alpha=0.3)
    return fig


def plot_profile(run: Run) -> Figure | None:
    """Does the session lookup still cost anything when the endpoint reads the database anyway?
    Session minus JWT on /me and on /profile, and asking twice against asking once, with
    intervals and margins."""
    session = find_server(run, "session", "/profile")
    naive = find_server(run, "session", "/profile", AUTHBENCH_PROFILE_QUERY="naive")
    redis = find_server(run, "session", "/profile", AUTHBENCH_SESSION_STORE="redis")
    jwt = find_server(run, "jwt_auth", "/profile")
    shown = []
    for r in paired_verdicts(run, group="main"):
        if (r.a, r.b) == ("session", "jwt_auth"):
            shown.append((f"/me: session − JWT, {_when(r.rate)}", r, color("session")))
    for r in paired_verdicts(run, group="profile"):
        if (r.a, r.b) == (session, jwt):
            text = f"/profile: session (one query) − JWT, {_when(r.rate)}"
            shown.append((text, r, color("session")))
        elif redis and (r.a, r.b) == (redis, jwt):
            text = f"/profile: session in Redis (+ data query) − JWT, {_when(r.rate)}"
            shown.append((text, r, color("session_redis")))
        elif naive and (r.a, r.b) == (naive, session):
            text = f"/profile: two queries − one query, {_when(r.rate)}"
            shown.append((text, r, color("session_cached")))
    if not any(text.startswith("/profile") for text, _, _ in shown):
        return None
    return _verdict_chart(
        shown, "Does the lookup still cost anything when the endpoint reads the database?"
    )


def plot_stores(run: Run) -> Figure | None:
    """Where does a Redis session store win? Sessions in Redis against JWT and against
    sessions in PostgreSQL (GET /me), paired, at each load."""
    redis = find_server(run, "session", AUTHBENCH_SESSION_STORE="redis")
    session, jwt = find_server(run, "session"), find_server(run, "jwt_auth")
    shown = []
    for r in paired_verdicts(run, group="stores"):
        if (r.a, r.b) == (session, jwt):
            shown.append((f"PostgreSQL session − JWT, {_when(r.rate)}", r, color("session")))
        elif (r.a, r.b) == (redis, jwt):
            shown.append((f"Redis session − JWT, {_when(r.rate)}", r, color("session_redis")))
        elif (r.a, r.b) == (redis, session):
            text = f"Redis session − PostgreSQL session, {_when(r.rate)}"
            shown.append((text, r, color("session_redis_db_5ms")))
    if not shown:
        return None
    shown.sort(key=lambda item: (item[0].split(",")[0], item[1].rate or 0))
    return _verdict_chart(shown, "GET /me: sessions in Redis against PostgreSQL and JWT")
