"""What one field cannot say: the rules across the fields of a scenario, as pydantic validators.

They are attached to the dataclasses of bench.run.scenario (model validators, mode "after"), so
they run when a scenario file is checked (bench.run.scenario_toml), on fields already of the
right type. A broken rule is a ValueError whose message is the whole line after the file's name.
The rules that fill in a default which depends on other fields (a group's pairs, headline and
baseline; the curve's pairs, reference server, arrivals and repeats; the reference rate or
fraction) return the filled-in copy.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.system.http_client import BadTarget, Endpoint
from servers.common import ConfigError
from servers.runtime_catalogue import NAMES, RUNTIMES

if TYPE_CHECKING:
    from bench.run.scenario import AvailabilitySpec, CurveSpec, PairedSpec, Scenario
    from bench.run.scenario_servers import ServerSpec

# The words for the fields whose mistakes a rule can find too: pydantic's errors on these fields
# use them as well, so one mistake reads the same whichever check finds it. By (table, field).
WORDS = {
    ("", "servers"): "must be a non-empty list of [[servers]] tables",
    ("", "paired"): "must be a table, or [[paired]] tables",
    ("servers", "label"): "must be letters, digits, - or _",
    ("servers", "settings"): "must be a table of strings",
    ("servers", "command"): "must be a list of strings",
    ("servers", "token_command"): "must be a list of strings",
    ("servers", "runtime"): f"must be one of {', '.join(NAMES)}, or give a 'command' or a 'url'",
    ("paired", "name"): "must be a word (letters, digits, _)",
    ("paired", "arms"): "must list two or more labels of [[servers]] entries",
    ("paired", "pairs"): "must be a list of [a, b] pairs of two arms",
    ("paired", "headline"): "must be one of the pairs",
    ("revocation", "servers"): "must list labels of [[servers]] entries",
    ("availability", "servers"): "must list labels of [[servers]] entries",
    ("curve", "servers"): "must list labels of [[servers]] entries",
    ("curve", "pairs"): "must be a list of [a, b] pairs of two of its servers",
}


def broken(message: str, where: str = "") -> ValueError:
    return ValueError(where + message)


def wrong(table: str, field: str, where: str = "") -> ValueError:
    return broken(f"field {field!r} {WORDS[table, field]}", where)


EXTERNAL_ONLY = ("username", "password", "token_command", "ca_file", "insecure")


def server_rules(spec: ServerSpec) -> ServerSpec:
    """A runtime or a command of its own; settings its runtime reads, for a server that has them.
    An external arm (`url`): its own rules."""
    if spec.url is not None or spec.runtime == "external":
        return external_rules(spec)
    given = [name for name in EXTERNAL_ONLY if getattr(spec, name)]
    if given:
        raise broken(f"field {given[0]!r} is for an external arm (give its 'url')")
    if spec.command is not None and spec.runtime != "command":
        raise broken("give 'runtime' or 'command', not both")
    if spec.command is None and spec.runtime not in RUNTIMES:
        raise wrong("servers", "runtime")
    if spec.command is not None and not any("{port}" in part for part in spec.command):
        raise broken("field 'command' must have a {port} placeholder")
    if spec.db_delay_ms is not None and spec.server == "control":
        raise broken("the control server has no database to delay")
    if "AUTHBENCH_SESSION_STORE" in spec.settings and spec.server != "session":
        raise broken("AUTHBENCH_SESSION_STORE is a session server setting")
    if spec.command is None and (refusal := RUNTIMES[spec.runtime].refusal(spec.settings)):
        raise broken(refusal)
    try:  # the settings, read as the server reads them
        _ = (spec.store, spec.revocable, spec.algorithm, spec.cache_ttl_s, spec.profile_query)
    except ConfigError as exc:
        raise broken(f"settings: {exc}") from None
    return spec


def external_rules(spec: ServerSpec) -> ServerSpec:
    """An external arm: a base URL that parses, nothing to start or set up here (it is set up
    where it runs), one way to get its tokens, and TLS options for https only."""
    if spec.url is None:
        raise broken("an external arm needs its 'url'")
    if spec.command is not None or spec.runtime != "external":
        raise broken("give 'url', 'runtime' or 'command': one of them")
    try:
        endpoint = Endpoint.parse(spec.url)
    except BadTarget as exc:
        raise broken(f"field 'url': {exc}") from None
    if spec.settings or spec.workers != 1 or spec.db_delay_ms is not None:
        raise broken(
            "an external arm is set up where it runs: no settings, workers or db_delay_ms here"
        )
    if spec.token_command is not None and (spec.username or spec.password):
        raise broken("give 'token_command' or 'username' and 'password', not both")
    if (spec.ca_file or spec.insecure) and not endpoint.tls:
        raise broken("fields 'ca_file' and 'insecure' are for an https:// url")
    if spec.ca_file and spec.insecure:
        raise broken("give 'ca_file' or 'insecure', not both")
    if spec.ca_file and not Path(spec.ca_file).is_file():
        raise broken(f"field 'ca_file': no file {spec.ca_file}")
    return spec


def paired_rules(group: PairedSpec) -> PairedSpec:
    """Arms once each; pairs, headline and baseline among them; something to run."""
    arms = group.arms
    if len(set(arms)) != len(arms):
        raise broken("field 'arms' names a server twice (use a_a for an A/A pair)")
    pairs = group.pairs or tuple((a, b) for i, a in enumerate(arms) for b in arms[i + 1 :])
    if any(a not in arms or b not in arms or a == b for a, b in pairs):
        raise wrong("paired", "pairs")
    headline = pairs[0] if group.headline is None else group.headline
    if headline not in pairs:
        raise wrong("paired", "headline")
    baseline = headline[1] if group.baseline is None else group.baseline
    if baseline not in arms:
        raise broken("field 'baseline' must name one of the arms")
    if not group.rates and not group.load_fractions and not group.unloaded:
        raise broken("give rates, load_fractions or unloaded = true (or several)")
    return replace(group, pairs=pairs, headline=headline, baseline=baseline)


def curve_rules(curve: CurveSpec) -> CurveSpec:
    """Servers once each; pairs among them; concurrent fractions among the fractions."""
    servers = curve.servers
    if len(set(servers)) != len(servers):
        raise broken("field 'servers' names a server twice")
    if len(set(curve.fractions)) != len(curve.fractions):
        raise broken("field 'fractions' names a fraction twice")
    if any(a not in servers or b not in servers or a == b for a, b in curve.pairs):
        raise wrong("curve", "pairs")
    if not set(curve.concurrent) <= set(curve.fractions):
        raise broken("field 'concurrent' must list some of the fractions")
    if curve.concurrent and not curve.all_pairs:
        raise broken("field 'concurrent' needs a pair: two servers or more")
    return replace(curve, fractions=tuple(sorted(curve.fractions)), pairs=curve.all_pairs)


def availability_rules(spec: AvailabilitySpec) -> AvailabilitySpec:
    if not spec.database_down_at_s + spec.database_down_for_s < spec.sigterm_at_s < spec.duration_s:
        raise broken("the database must be back before sigterm_at_s, within duration_s")
    return spec


def scenario_rules(scenario: Scenario) -> Scenario:
    """Labels once each, something to run, and every name of a server one of the labels."""
    labels: set[str] = set()
    for i, spec in enumerate(scenario.servers, 1):
        if spec.label in labels:
            raise broken(f"label {spec.label!r} is used twice", f"servers entry {i}: ")
        labels.add(spec.label)
    if not (scenario.closed_users or scenario.fixed_rates or scenario.paired or scenario.curve):
        raise broken("give closed_users, fixed_rates or both", "load: ")
    names: set[str] = set()
    for group in scenario.paired:
        _group_in(scenario, group, labels, names)
    _experiments_in(scenario, labels)
    curve = _curve_in(scenario, labels, names)
    rate, fraction = _reference(scenario)
    return replace(scenario, curve=curve, reference_rate=rate, reference_fraction=fraction)


def _experiments_in(scenario: Scenario, labels: set[str]) -> None:
    """The experiments' servers among the labels, and none of them external: an experiment
    stops a server or its database, which only a server the harness started allows."""
    for key in ("revocation", "availability"):
        experiment = getattr(scenario, key)
        if experiment is None:
            continue
        if not set(experiment.servers) <= labels:
            raise wrong(key, "servers", f"{key}: ")
        outside = [label for label in experiment.servers if scenario.server(label).external]
        if outside:
            raise broken(
                f"{outside[0]!r} is an external arm: the experiment stops servers and databases "
                "the harness started",
                f"{key}: ",
            )


def _group_in(scenario: Scenario, group: PairedSpec, labels: set[str], names: set[str]) -> None:
    if group.name in names:
        raise broken(f"two groups are named {group.name!r}", "paired: ")
    names.add(group.name)
    where = f"paired {group.name}: "
    if not set(group.arms) <= labels:
        raise wrong("paired", "arms", where)
    if group.a_a is not None and group.a_a not in group.arms:
        raise broken("field 'a_a' must name one of the arms", where)
    if group.a_a is not None and group.a_a_label in labels:
        raise broken(
            f"the A/A copy's label {group.a_a_label} is taken by a [[servers]] entry", where
        )
    if group.load_fractions:  # every arm's capacity (the A/A copy's is its original's)
        _needs_capacity(scenario, list(group.arms), where)
    _unmixed(scenario, group.pairs, where)
    outside = [label for label in group.arms if scenario.server(label).external]
    if group.tokens and outside:
        raise broken(
            f"field 'tokens' needs arms the harness starts ({outside[0]!r} is an external arm: "
            "its tokens come from its own login)",
            where,
        )
    if group.tokens > scenario.seeded_users:
        raise broken(
            f"field 'tokens' ({group.tokens}) must not exceed seeded_users "
            f"({scenario.seeded_users})",
            where,
        )


def _unmixed(scenario: Scenario, pairs, where: str) -> None:
    """No pair of a server started here with an external arm: the external arm's latency
    includes the network, the other's does not, and their gap would measure the network."""
    for a, b in pairs:
        if scenario.server(a).external != scenario.server(b).external:
            outside, here = (a, b) if scenario.server(a).external else (b, a)
            raise broken(
                f"the pair {a} - {b} mixes an external arm ({outside}) with a server started "
                f"here ({here}): their gap would include the network",
                where,
            )


def _measured(scenario: Scenario, label: str) -> bool:
    """Whether a server runs closed loop (where its capacity is measured)."""
    spec = scenario.server(label)
    return bool(scenario.closed_users if spec.closed_users is None else spec.closed_users)


def _needs_capacity(scenario: Scenario, labels: list[str], where: str) -> None:
    for label in labels:
        if not _measured(scenario, label):
            raise broken(
                f"{label!r} has no closed-loop cell to measure its capacity (closed_users)", where
            )


def _curve_in(scenario: Scenario, labels: set[str], names: set[str]) -> CurveSpec | None:
    """The curve's servers among the labels, its reference server's capacity measured; its
    concurrent groups' names free; the scenario's arrivals and repeats unless set."""
    curve = scenario.curve
    if curve is None:
        return None
    if not set(curve.servers) <= labels:
        raise wrong("curve", "servers", "curve: ")
    if curve.capacity_of is not None and curve.capacity_of not in labels:
        raise broken("field 'capacity_of' must name one of the [[servers]] entries", "curve: ")
    _needs_capacity(scenario, [curve.reference], "curve: ")
    _unmixed(scenario, curve.pairs, "curve: ")
    secure = [s for s in curve.servers if scenario.server(s).tls]
    if curve.driver == "open_loop" and secure:
        raise broken(
            f"the independent client speaks plain HTTP: driver 'open_loop' cannot load "
            f"{secure[0]!r} (https); use 'auto' or 'locust'",
            "curve: ",
        )
    for group in scenario.concurrent_groups():
        if group.name in names:
            raise broken(f"the name {group.name!r} is the curve's concurrent cells'", "paired: ")
    return replace(
        curve,
        capacity_of=curve.reference,
        arrivals=curve.arrivals or scenario.arrivals,
        repeats=curve.repeats or scenario.repeats,
    )


def _reference(scenario: Scenario) -> tuple[float | None, float | None]:
    """The load the notebooks' headline figures are read at: a rate, or a load fraction (then
    its rate is known once the run has measured the capacities). The first fraction of a
    group, else the first rate, unless one of them is set."""
    known = scenario.fixed_rates + tuple(r for group in scenario.paired for r in group.rates)
    fractions = tuple(f for group in scenario.paired for f in group.load_fractions)
    rate, fraction = scenario.reference_rate, scenario.reference_fraction
    if rate is not None and fraction is not None:
        raise broken("give reference_rate or reference_fraction, not both")
    if fraction is not None:
        if fraction not in fractions:
            raise broken(
                f"field 'reference_fraction' must be one of the load fractions, got {fraction:g}"
            )
        return None, fraction
    if rate is None:
        return (None, fractions[0]) if fractions else (known[0] if known else None, None)
    if known and rate not in known:
        raise broken(f"field 'reference_rate' must be one of the rates, got {rate:g}")
    return rate, None
