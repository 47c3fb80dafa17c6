"""The implementations of the server contract this project ships, and what each one reads.

The one declaration of the runtimes: the scenario parser, the command line, the launcher and
the tests read it from here, and `python -m servers` serves the ones that run under uvicorn.

- `python`: the raw ASGI servers (the reference), `python -m servers NAME` under uvicorn;
- `fastapi`: the FastAPI twins (servers.fastapi_twins), the same auth code on the same uvicorn;
- `node`: the Node.js twins (servers/node/server.js), started by the harness. They read only
  the settings in servers/node/settings.json and sign HS256 only; the file is next to the code
  it describes, and a test checks it against that code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Runtime:
    name: str
    uvicorn: bool  # served by `python -m servers` under uvicorn; else started as its own program
    # The AUTHBENCH_* settings it reads; None: every setting of the reference servers.
    settings: frozenset[str] | None = None
    # The JWT algorithms its jwt_auth server supports; None: all of servers.jwt_auth.ALGORITHMS.
    jwt_algorithms: tuple[str, ...] | None = None

    def refusal(self, settings: dict[str, str]) -> str | None:
        """Why this runtime cannot run a server with `settings` (None: it can): a setting it
        would silently ignore, or a JWT algorithm it does not support (unset: its own default,
        which it does)."""
        unknown = sorted(set(settings) - self.settings) if self.settings is not None else []
        if unknown:
            return f"the {self.name} runtime does not read {unknown[0]}"
        algorithm, supported = settings.get("AUTHBENCH_JWT_ALG"), self.jwt_algorithms
        if algorithm is not None and supported is not None and algorithm not in supported:
            return f"the {self.name} runtime's JWT server supports {', '.join(supported)} only"
        return None


def _node() -> Runtime:
    declared = json.loads((Path(__file__).parent / "node" / "settings.json").read_text())
    return Runtime(
        "node",
        uvicorn=False,
        settings=frozenset(declared["settings"]),
        jwt_algorithms=tuple(declared["jwt_algorithms"]),
    )


RUNTIMES: dict[str, Runtime] = {
    runtime.name: runtime
    for runtime in (Runtime("python", uvicorn=True), Runtime("fastapi", uvicorn=True), _node())
}
NAMES = tuple(RUNTIMES)
UVICORN_NAMES = tuple(name for name, runtime in RUNTIMES.items() if runtime.uvicorn)
