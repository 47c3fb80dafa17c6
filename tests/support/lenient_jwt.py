"""A deliberately broken JWT server for the conformance test: the reference JWT server with one
check turned off (it accepts expired tokens). Never used outside the tests.

    python tests/support/lenient_jwt.py PORT
"""

from __future__ import annotations

import sys

import uvicorn

from servers import jwt_auth


class Lenient(jwt_auth.JwtAuth):
    def verify(self, token):
        options = {**jwt_auth.DECODE_OPTIONS, "verify_exp": False}
        original, jwt_auth.DECODE_OPTIONS = jwt_auth.DECODE_OPTIONS, options
        try:
            return super().verify(token)
        finally:
            jwt_auth.DECODE_OPTIONS = original


app = jwt_auth.App(lambda environ: Lenient(jwt_auth.JwtSettings.from_env(environ)))

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        lifespan="on",
        http="servers.uvicorn_http:HttpToolsProtocol",
    )
