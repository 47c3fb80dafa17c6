"""Start one server under uvicorn (uvloop, httptools), after checking its configuration.

    python -m servers session|jwt_auth|control [--host 127.0.0.1] [--port 8000] [--workers 1]
                      [--runtime python|fastapi]

`--runtime fastapi` serves the FastAPI twins (servers.fastapi_twins) instead of the raw ASGI
servers; the Node.js twins are started by the harness (servers/node/server.js).

Every problem that can be found before serving is reported as one line with a non-zero exit:
bad settings (a short JWT secret, an unknown algorithm), an unreachable DATABASE_URL or REDIS_URL,
a port in use. `make serve` (python -m bench serve) also starts PostgreSQL for you.
"""

from __future__ import annotations

import argparse
import os

from servers import SERVERS
from servers.common import ConfigError
from servers.jwt_auth import share_jwt_keys
from servers.startup import check, fail


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m servers", description=__doc__.split("\n")[0])
    parser.add_argument("server", choices=SERVERS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--runtime", choices=("python", "fastapi"), default="python")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        if args.server == "jwt_auth":
            share_jwt_keys(os.environ)
        check(args.server, args.host, args.port)
    except ConfigError as exc:
        fail(str(exc))

    import uvicorn

    fastapi = args.runtime == "fastapi"
    uvicorn.run(
        f"servers.fastapi_twins:{args.server}_app" if fastapi else f"servers.{args.server}:app",
        factory=fastapi,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="servers.uvicorn_http:HttpToolsProtocol",  # httptools, answering beyond its limits
        lifespan="on",
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
