"""Who drives each rate of the load curve: Locust, or the independent open-loop client.

Locust at a fixed rate costs about 175-225 µs of CPU per request on the reference machine, so
one Locust process keeps a schedule up to a few thousand requests per second: not to the
session server's knee on a 2-core machine. The independent client (bench.load.open_loop: one
thread, raw sockets) goes further. With `driver = "auto"`, the lowest rate of the curve is
always Locust's, and Locust's CPU per request measured there (the median over its blocks so far)
decides every rate above: Locust drives a rate when rate × that figure fits in LOCUST_CORE_SHARE
of the cores it can use (conservative: its cost per request falls as the rate rises), the
independent client otherwise. Each rate is decided once, in the first repeat, and kept; the
reason is recorded with every block and said once. When any server of the curve is reached
over https (an external arm's URL), Locust drives every block of the curve: the independent
client speaks plain HTTP only, and one instrument for the whole curve keeps its gaps comparable.

The curve scenario asks for the independent client at every rate instead: one instrument for the
whole curve, because the two clients' own overheads differ (Locust adds a few hundred µs to every
response), and a curve that changes instrument half-way shows a step that looks like the
servers'. Where both can drive a rate, `bench xcheck` compares them.
"""

from __future__ import annotations

import statistics

from bench.run.scenario import CurveSpec, Scenario

LOCUST_CORE_SHARE = 0.6  # of the load generator's cores that Locust may need at a rate
TLS_REASON = (
    "the independent client speaks plain HTTP only and {label} is https: Locust drives every "
    "block of the curve, one instrument for all its servers"
)


class DriverChoice:
    """The driver of each of the curve's fractions, decided when its first block comes."""

    def __init__(self, curve: CurveSpec, locust_cores: int, https: str | None = None):
        """`https`: the label of a curve server reached over https, if any (then Locust drives
        every block)."""
        self.curve, self.cores, self.https = curve, max(1, locust_cores), https
        self.decided: dict[float, tuple[str, str]] = {}
        self.costs: list[tuple[float, float]] = []  # Locust's blocks: (rate, µs per request)
        self.tls_said = False

    @classmethod
    def of(cls, scenario: Scenario, locust_cores: int) -> DriverChoice:
        """The choice for the scenario's curve, told which of its servers is https, if any."""
        curve = scenario.curve
        assert curve is not None, "the scenario has no curve"
        https = next((s for s in curve.servers if scenario.server(s).tls), None)
        return cls(curve, locust_cores, https)

    def note(self, rate: float, us_per_request: float | None) -> None:
        """Locust's CPU per request measured in a block at `rate`."""
        if us_per_request:
            self.costs.append((rate, us_per_request))

    def choose(self, fraction: float, rate: float) -> tuple[str, str, bool]:
        """(driver, why, whether this is the first time it is said) for a block at `rate`."""
        if self.https is not None:
            said, self.tls_said = self.tls_said, True
            return "locust", TLS_REASON.format(label=self.https), not said
        if fraction in self.decided:
            return (*self.decided[fraction], False)
        self.decided[fraction] = self._decide(fraction, rate)
        return (*self.decided[fraction], True)

    def _decide(self, fraction: float, rate: float) -> tuple[str, str]:
        driver = self.curve.driver
        if driver == "locust":
            return "locust", "the scenario asks for Locust at every rate"
        if driver == "open_loop":
            return "open_loop", (
                "the scenario asks for the independent open-loop client at every rate: one "
                "instrument for the whole curve (Locust cannot keep a schedule near the knee from "
                "one core; bench xcheck compares the two where both can)"
            )
        if fraction == min(self.curve.fractions):
            return "locust", (
                "the lowest rate is always Locust's: its CPU per request measured here decides "
                "who drives the rates above"
            )
        if not self.costs:
            return "open_loop", "Locust's CPU per request was not measured"
        figure = statistics.median(us for _, us in self.costs)
        low, high = min(r for r, _ in self.costs), max(r for r, _ in self.costs)
        at = f"{low:,.0f} req/s" if low == high else f"{low:,.0f}-{high:,.0f} req/s"
        need = rate * figure / 1e6
        budget = LOCUST_CORE_SHARE * self.cores
        measured = f"{figure:,.0f} µs per request measured at {at}"
        if need <= budget:
            return "locust", (
                f"Locust needs {need:.2f} of a core at {rate:,.0f} req/s ({measured}): "
                f"within {budget:g}"
            )
        return "open_loop", (
            f"Locust would need {need:.2f} cores at {rate:,.0f} req/s ({measured}), more than "
            f"{budget:g}: the independent client drives this point"
        )
