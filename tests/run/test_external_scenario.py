"""External arms as scenario data: a `[[servers]]` entry with `url = ...` parses, its mistakes
are one line each naming the field, and what it cannot take part in (experiments that stop a
server, a token population, the independent client over https) is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run.curve_driver import DriverChoice
from bench.run.scenario_toml import ScenarioError, parse

BASE = {
    "load": {"closed_users": [4]},
    "warmup_s": 1,
    "duration_s": 2,
    "servers": [
        {"server": "session", "url": "http://127.0.0.2:8001"},
        {"server": "jwt_auth", "url": "https://api.example.com/auth", "insecure": True},
    ],
}


def mistake(**changes) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse({**BASE, **changes}, Path("x.toml"))
    said = str(caught.value)
    assert "\n" not in said, said
    return said


def test_a_url_entry_is_an_external_arm_with_the_seeded_login_by_default():
    session, jwt = parse(BASE, Path("x.toml")).servers
    assert (session.label, session.runtime, session.external) == ("session", "external", True)
    assert session.login == ("user00001", "authbench-password")
    assert session.endpoint().url == "http://127.0.0.2:8001"
    endpoint = jwt.endpoint()
    assert (endpoint.host, endpoint.port, endpoint.prefix) == ("api.example.com", 443, "/auth")
    assert endpoint.tls and endpoint.insecure
    assert (
        not parse({**BASE, "servers": [{"server": "session"}]}, Path("x.toml")).servers[0].external
    )


def test_the_record_keeps_the_url_and_how_tokens_came_never_the_password():
    servers = [{"server": "session", "url": "http://h:1", "username": "me", "password": "s3cret"}]
    record = parse({**BASE, "servers": servers}, Path("x.toml")).record()
    (entry,) = record.servers
    assert (entry.url, entry.username, entry.runtime) == ("http://h:1", "me", "external")
    assert "s3cret" not in record.model_dump_json()
    # Not known from outside: None, not the started server's defaults.
    assert (entry.store, entry.algorithm, entry.revocable, entry.cache_ttl_s) == (None,) * 4
    assert "s3cret" not in repr(parse({**BASE, "servers": servers}, Path("x.toml")).servers[0])
    jwt = parse({**BASE, "servers": [{"server": "jwt_auth", "url": "http://h:1"}]}, Path("x.toml"))
    assert jwt.servers[0].revocable is None and jwt.servers[0].cache_ttl_s is None


def test_a_token_command_parses_as_an_argument_list_its_program_beside_the_scenario(tmp_path):
    """A program given as a path is the scenario folder's, recorded absolute; a bare name is
    looked up on PATH as it is."""
    servers = [{"server": "jwt_auth", "url": "http://h:1", "token_command": ["./token", "-q"]}]
    (spec,) = parse({**BASE, "servers": servers}, tmp_path / "x.toml").servers
    assert spec.token_command == (str(tmp_path / "token"), "-q")
    record = parse({**BASE, "servers": servers}, tmp_path / "x.toml").record()
    assert record.servers[0].token_command == [str(tmp_path / "token"), "-q"]
    bare = [{**servers[0], "token_command": ["mint-token", "./here"]}]
    (spec,) = parse({**BASE, "servers": bare}, tmp_path / "x.toml").servers
    assert spec.token_command == ("mint-token", "./here")


def test_a_relative_ca_file_is_the_scenario_folder_s_whatever_the_working_directory(
    tmp_path, monkeypatch
):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.chdir(tmp_path)  # elsewhere than the scenario's folder
    servers = [{"server": "jwt_auth", "url": "https://h:8443", "ca_file": "../conf/ca.pem"}]
    scenario_file = tmp_path / "scenarios" / "x.toml"
    (spec,) = parse({**BASE, "servers": servers}, scenario_file).servers
    assert spec.ca_file == str(tmp_path / "conf" / "ca.pem")
    said = mistake(servers=[{**servers[0], "ca_file": "ca.pem"}])
    assert said.endswith(f"field 'ca_file': no file {Path('ca.pem').absolute()}")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"url": "ftp://h/x"},
            "servers entry 1: field 'url': ftp://h/x: not an http:// or https:// URL",
        ),
        ({"url": "http://h:99999"}, "field 'url': http://h:99999: the port is not a number"),
        ({"url": "http://h", "runtime": "node"}, "give 'url', 'runtime' or 'command': one of them"),
        ({"url": "http://h", "command": ["x", "{port}"]}, "give 'url', 'runtime' or 'command'"),
        (
            {"url": "http://h", "settings": {"AUTHBENCH_JWT_ALG": "HS256"}},
            "an external arm is set up where it runs: no settings, workers or db_delay_ms here",
        ),
        ({"url": "http://h", "workers": 2}, "no settings, workers or db_delay_ms here"),
        (
            {"url": "http://h", "token_command": ["t"], "password": "p"},
            "give 'token_command' or 'username' and 'password', not both",
        ),
        (
            {"url": "http://h", "token_command": []},
            "field 'token_command' must be a list of strings",
        ),
        (
            {"url": "http://h", "insecure": True},
            "fields 'ca_file' and 'insecure' are for an https:// url",
        ),
        (
            {"url": "https://h", "ca_file": "/nowhere/ca.pem"},
            "field 'ca_file': no file /nowhere/ca.pem",
        ),
        ({"url": "https://h", "insecure": "yes"}, "field 'insecure' must be true or false"),
        ({"username": "me"}, "field 'username' is for an external arm (give its 'url')"),
        ({"ca_file": "ca.pem"}, "field 'ca_file' is for an external arm (give its 'url')"),
        ({"runtime": "external"}, "an external arm needs its 'url'"),
    ],
)
def test_an_external_entry_s_mistakes_are_one_line_naming_the_field(entry, message):
    said = mistake(servers=[{"server": "jwt_auth", **entry}])
    assert message in said, said


def test_an_https_entry_may_trust_a_ca_file(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    servers = [{"server": "jwt_auth", "url": "https://h:8443", "ca_file": str(ca)}]
    (spec,) = parse({**BASE, "servers": servers}, Path("x.toml")).servers
    assert spec.endpoint().ca_file == str(ca)
    assert mistake(servers=[{**servers[0], "insecure": True}]).endswith(
        "give 'ca_file' or 'insecure', not both"
    )


def test_experiments_refuse_an_external_arm():
    said = mistake(revocation={"servers": ["session"]})
    assert said.endswith(
        "revocation: 'session' is an external arm: the experiment stops servers and databases "
        "the harness started"
    )
    assert "availability: 'session' is an external arm" in mistake(
        availability={"servers": ["session"]}
    )


def test_a_token_population_needs_arms_the_harness_starts():
    paired = {"arms": ["session", "jwt_auth"], "rates": [100], "tokens": 10}
    said = mistake(paired=paired)
    assert said.endswith(
        "paired main: field 'tokens' needs arms the harness starts ('session' is an external "
        "arm: its tokens come from its own login)"
    )


def test_the_independent_client_cannot_be_asked_to_drive_an_https_arm():
    curve = {"servers": ["session", "jwt_auth"], "fractions": [0.1], "driver": "open_loop"}
    said = mistake(curve=curve)
    assert said.endswith(
        "curve: the independent client speaks plain HTTP: driver 'open_loop' cannot load "
        "'jwt_auth' (https); use 'auto' or 'locust'"
    )
    parse({**BASE, "curve": {**curve, "driver": "auto"}}, Path("x.toml"))


def test_external_arms_pair_with_an_a_a_copy_at_the_same_url():
    paired = {"arms": ["session", "jwt_auth"], "a_a": "jwt_auth", "rates": [100]}
    scenario = parse({**BASE, "paired": paired}, Path("x.toml"))
    (cell,) = [c for c in scenario.plan() if c.model == "paired" and c.rate == 100]
    copy = cell.arms[-1]
    assert (copy.label, copy.url, copy.external) == (
        "jwt_auth_aa",
        "https://api.example.com/auth",
        True,
    )
    roles = scenario.record().paired[0].roles
    assert roles.pairs[0].differs["url"] == [
        "http://127.0.0.2:8001",
        "https://api.example.com/auth",
    ]


def test_a_pair_of_an_external_arm_and_a_server_started_here_is_refused():
    """Their gap would include the network to the external arm: refused, group and arms named."""
    servers = [*BASE["servers"], {"server": "control"}]
    paired = {"arms": ["session", "jwt_auth", "control"], "rates": [100]}
    assert mistake(servers=servers, paired=paired).endswith(
        "paired main: the pair session - control mixes an external arm (session) with a server "
        "started here (control): their gap would include the network"
    )
    fine = {**paired, "pairs": [["session", "jwt_auth"]]}  # the control alone, in no pair
    parse({**BASE, "servers": servers, "paired": fine}, Path("x.toml"))
    curve = {"servers": ["control", "jwt_auth"], "fractions": [0.1]}
    assert mistake(servers=servers, curve=curve).endswith(
        "curve: the pair control - jwt_auth mixes an external arm (jwt_auth) with a server "
        "started here (control): their gap would include the network"
    )


def test_an_https_url_in_any_case_is_tls_and_makes_the_whole_curve_locust_s():
    """The scheme is read as the URL parser reads it: HTTPS:// is https (the open-loop refusal,
    and the curve's one instrument)."""
    servers = [
        {"server": "session", "url": "http://127.0.0.2:8001"},
        {"server": "jwt_auth", "url": "HTTPS://api.example.com/auth", "insecure": True},
    ]
    curve = {"servers": ["session", "jwt_auth"], "fractions": [0.1, 0.5]}
    scenario = parse({**BASE, "servers": servers, "curve": curve}, Path("x.toml"))
    assert [s.tls for s in scenario.servers] == [False, True]
    choice = DriverChoice.of(scenario, locust_cores=1)
    assert {choice.choose(f, 100.0)[0] for f in (0.1, 0.5)} == {"locust"}
    assert "jwt_auth is https" in choice.choose(0.5, 100.0)[1]
    said = mistake(servers=servers, curve={**curve, "driver": "open_loop"})
    assert said.endswith(
        "driver 'open_loop' cannot load 'jwt_auth' (https); use 'auto' or 'locust'"
    )
