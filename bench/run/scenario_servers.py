"""What a `[[servers]]` entry of a scenario is: a server the harness starts, or an external arm.

A server the harness starts is named by its `runtime` (python, fastapi, node) or a `command` of
its own, with its settings; an **external arm** is a deployment of one's own at a base URL
(`url`), which the harness starts nothing for: it checks its answers before load, gets its tokens
(the contract's POST /login as `username` / `password`, the seeded user unless set, or whatever
`token_command` prints) and loads it. What cannot be measured from outside (its CPU, its
database's) is recorded as None. Checked like every scenario field (bench.run.scenario).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt, model_validator

from bench.results.scenario_records import ServerRecord
from bench.run import scenario_rules
from bench.system.http_client import Endpoint
from servers import SERVERS
from servers.common import env_choice, env_flag, env_float
from servers.jwt_auth import DEFAULT_ALGORITHM
from servers.runtime_catalogue import NAMES as RUNTIME_NAMES
from servers.session import PROFILE_QUERIES, STORES
from servers.store import SEED_PASSWORD, seed_username

PATHS = ("/me", "/profile")
# "command": the server is a `command` of its own; "external": a deployment at a `url`.
RUNTIME_CHOICES = (*RUNTIME_NAMES, "command", "external")
AtLeastOne = Annotated[StrictInt, Field(ge=1)]
NonNegative = Annotated[StrictFloat, Field(ge=0)]
Rate = Annotated[StrictFloat, Field(ge=1)]
Arguments = Annotated[tuple[str, ...], Field(min_length=1)]
CHECKED = ConfigDict(extra="forbid")  # a field that is not one of these is a mistake


@dataclass(frozen=True)
class ServerSpec:
    __pydantic_config__ = CHECKED
    label: Annotated[str, Field(pattern=r"^[\w-]+$")]  # in a file: the server's kind unless set
    server: Literal[SERVERS]
    settings: dict[str, str] = field(default_factory=dict)
    workers: AtLeastOne = 1
    # Reach the session store over TCP through the delay proxy, adding this round trip (ms); None:
    # direct. The store is PostgreSQL, or Redis for a session server with the Redis store.
    db_delay_ms: NonNegative | None = None
    # Load points for this server only; None: the scenario's [load].
    closed_users: tuple[AtLeastOne, ...] | None = None
    fixed_rates: tuple[Rate, ...] | None = None
    # What each request asks for: /me, or /profile (reads the database anyway).
    path: Literal[PATHS] = "/me"
    # Which implementation of the server contract: python (the reference), fastapi or node; or
    # a `command` of its own (an argument list with {port} and optionally {workers}).
    runtime: Literal[RUNTIME_CHOICES] = "python"
    command: Arguments | None = None
    # An external arm: its base URL (http or https, a path prefix allowed); its tokens from
    # POST /login as username / password (the seeded user's unless set) or printed by
    # token_command; https trusts the system's store, ca_file's CAs, or nothing (insecure).
    url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never shown
    token_command: Arguments | None = None
    ca_file: str | None = None
    insecure: StrictBool = False
    _rules = model_validator(mode="after")(scenario_rules.server_rules)

    @property
    def external(self) -> bool:
        """A deployment the harness did not start: reached at `url`, its CPU out of view."""
        return self.url is not None

    @property
    def tls(self) -> bool:
        """Reached over https: an external arm whose URL's scheme says so (in any case)."""
        return self.external and self.endpoint().tls

    def endpoint(self) -> Endpoint:
        """An external arm's base URL and how its certificate is trusted."""
        assert self.url is not None, f"{self.label} is not an external arm"
        return Endpoint.parse(self.url, ca_file=self.ca_file, insecure=self.insecure)

    @property
    def login(self) -> tuple[str, str]:
        """Who an external arm's tokens are for: (username, password)."""
        return self.username or seed_username(1), self.password or SEED_PASSWORD

    # What the settings mean, read the way the servers read them (servers.common's parsers), so
    # that the run records facts and nothing downstream re-parses setting strings. An external
    # arm's are not known from outside: its store, revocability, algorithm, cache TTL and
    # profile query are None.

    @property
    def store(self) -> str | None:
        """Where the per-request lookup goes: "postgres", "redis", or None (no lookup)."""
        if self.external:
            return None
        if self.server == "session":
            return env_choice(self.settings, "AUTHBENCH_SESSION_STORE", STORES)
        return "postgres" if self.revocable else None

    @property
    def revocable(self) -> bool | None:
        """A logout takes effect at once: a session server, or JWT with the jti denylist on."""
        if self.external:
            return None
        if self.server == "session":
            return True
        return self.server == "jwt_auth" and env_flag(self.settings, "AUTHBENCH_JWT_DENYLIST")

    @property
    def uses_redis(self) -> bool:
        return self.store == "redis"

    @property
    def algorithm(self) -> str | None:
        if self.server != "jwt_auth" or self.external:
            return None
        return self.settings.get("AUTHBENCH_JWT_ALG", DEFAULT_ALGORITHM)

    @property
    def cache_ttl_s(self) -> float | None:
        if self.external:
            return None
        if self.server != "session":
            return 0.0
        return env_float(self.settings, "AUTHBENCH_SESSION_CACHE_TTL", 0.0)

    @property
    def profile_query(self) -> str | None:
        if self.server != "session" or self.external:
            return None
        return env_choice(self.settings, "AUTHBENCH_PROFILE_QUERY", PROFILE_QUERIES)

    def record(self) -> ServerRecord:
        """The entry as recorded in run.json: as parsed (an external arm's password left out),
        plus what its settings mean."""
        entry = asdict(self)
        del entry["password"]
        return ServerRecord(
            **entry,
            store=self.store,
            revocable=self.revocable,
            algorithm=self.algorithm,
            cache_ttl_s=self.cache_ttl_s,
            profile_query=self.profile_query,
        )

    def runs(self, model: str, value: float, default: tuple) -> bool:
        """Whether this server runs a load point: its own list, else the scenario's."""
        chosen = self.closed_users if model == "closed" else self.fixed_rates
        return value in (default if chosen is None else chosen)


FACTS = (
    "server",
    "runtime",
    "url",
    "path",
    "workers",
    "db_delay_ms",
    "store",
    "revocable",
    "algorithm",
    "cache_ttl_s",
    "profile_query",
)


def differences(a: ServerSpec, b: ServerSpec) -> dict[str, list]:
    """What differs between two servers, fact by fact: [a's, b's]. Two servers of one kind that
    differ in a setting are a variant of each other; the read side reads it from here."""
    facts_a, facts_b = a.record().model_dump(), b.record().model_dump()
    found = {key: [facts_a[key], facts_b[key]] for key in FACTS if facts_a[key] != facts_b[key]}
    for key in sorted(set(a.settings) | set(b.settings)):
        if a.settings.get(key) != b.settings.get(key):
            found[f"settings.{key}"] = [a.settings.get(key), b.settings.get(key)]
    return found
