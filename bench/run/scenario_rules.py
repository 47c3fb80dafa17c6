"""What one field cannot say: the rules across the fields of a scenario, as pydantic validators.

They are attached to the dataclasses of bench.run.scenario (model validators, mode "after"), so
they run when a scenario file is checked (bench.run.scenario_toml), on fields already of the
right type. A broken rule is a ValueError whose message is the whole line after the file's name.
The rules that fill in a default which depends on other fields (a group's pairs, headline and
baseline; the reference rate) return the filled-in copy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from servers.common import ConfigError
from servers.runtime_catalogue import NAMES, RUNTIMES

if TYPE_CHECKING:
    from bench.run.scenario import AvailabilitySpec, PairedSpec, Scenario, ServerSpec

# The words for the fields whose mistakes a rule can find too: pydantic's errors on these fields
# use them as well, so one mistake reads the same whichever check finds it. By (table, field).
WORDS = {
    ("", "servers"): "must be a non-empty list of [[servers]] tables",
    ("", "paired"): "must be a table, or [[paired]] tables",
    ("servers", "label"): "must be letters, digits, - or _",
    ("servers", "settings"): "must be a table of strings",
    ("servers", "command"): "must be a list of strings",
    ("servers", "runtime"): f"must be one of {', '.join(NAMES)}, or give a 'command'",
    ("paired", "name"): "must be a word (letters, digits, _)",
    ("paired", "arms"): "must list two or more labels of [[servers]] entries",
    ("paired", "pairs"): "must be a list of [a, b] pairs of two arms",
    ("paired", "headline"): "must be one of the pairs",
    ("revocation", "servers"): "must list labels of [[servers]] entries",
    ("availability", "servers"): "must list labels of [[servers]] entries",
}


def broken(message: str, where: str = "") -> ValueError:
    return ValueError(where + message)


def wrong(table: str, field: str, where: str = "") -> ValueError:
    return broken(f"field {field!r} {WORDS[table, field]}", where)


def server_rules(spec: ServerSpec) -> ServerSpec:
    """A runtime or a command of its own; settings its runtime reads, for a server that has them."""
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
    if not group.rates and not group.unloaded:
        raise broken("give rates, unloaded = true, or both")
    return replace(group, pairs=pairs, headline=headline, baseline=baseline)


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
    if not (scenario.closed_users or scenario.fixed_rates or scenario.paired):
        raise broken("give closed_users, fixed_rates or both", "load: ")
    names: set[str] = set()
    for group in scenario.paired:
        _group_in(scenario, group, labels, names)
    for key in ("revocation", "availability"):
        experiment = getattr(scenario, key)
        if experiment is not None and not set(experiment.servers) <= labels:
            raise wrong(key, "servers", f"{key}: ")
    return replace(scenario, reference_rate=_reference_rate(scenario))


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
    if group.tokens > scenario.seeded_users:
        raise broken(
            f"field 'tokens' ({group.tokens}) must not exceed seeded_users "
            f"({scenario.seeded_users})",
            where,
        )


def _reference_rate(scenario: Scenario) -> float | None:
    """The rate the notebooks' headline figures are read at: the first rate unless set."""
    known = scenario.fixed_rates + tuple(r for group in scenario.paired for r in group.rates)
    reference = scenario.reference_rate
    if reference is None:
        return known[0] if known else None
    if known and reference not in known:
        raise broken(f"field 'reference_rate' must be one of the rates, got {reference:g}")
    return reference
