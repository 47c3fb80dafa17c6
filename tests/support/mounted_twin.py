"""A twin as some deployments serve it, for the tests: under a path prefix, behind TLS, on any
loopback address (uvicorn's own TLS options; the raw ASGI app, unchanged, inside).

    python tests/support/mounted_twin.py NAME HOST PORT [--prefix /auth] [--certfile F --keyfile F]

Under a prefix, `/auth/me` reaches the twin's `/me`; a path outside it is a 404.
"""

from __future__ import annotations

import argparse
import importlib

import uvicorn

NOT_FOUND = b'{"error": "not_found"}'


def mounted(app, prefix: str):
    """`app` under `prefix`, as a reverse proxy that strips it would serve it."""

    async def under_prefix(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not prefix:
            return await app(scope, receive, send)
        if path == prefix or path.startswith(prefix + "/"):
            inner = path[len(prefix) :] or "/"
            return await app({**scope, "path": inner, "raw_path": inner.encode()}, receive, send)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"22")]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": NOT_FOUND})

    return under_prefix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("server", choices=("session", "jwt_auth", "control"))
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args()
    app = importlib.import_module(f"servers.{args.server}").app
    uvicorn.run(
        mounted(app, args.prefix.rstrip("/")),
        host=args.host,
        port=args.port,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        loop="uvloop",
        http="servers.uvicorn_http:HttpToolsProtocol",  # as python -m servers serves them
        lifespan="on",
        log_level="warning",
    )


if __name__ == "__main__":
    main()
