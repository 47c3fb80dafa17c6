"""The FastAPI twins: the same three servers as a FastAPI application, the auth step a dependency.

Written the way FastAPI's documentation teaches (a lifespan that opens the pool and keeps it in
`app.state`, the current user as a dependency, a Pydantic model for the login body, exception
handlers for errors), on the same uvicorn as the raw ASGI servers, with the same auth steps
(servers.session, servers.jwt_auth, servers.control): what differs is the framework, so every
arm pays for it and the comparison shows whether the verdict survives it.

    python -m servers session --runtime fastapi --port 8000
"""

import importlib
import os
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from servers.common import MAX_BODY_BYTES, Auth, Principal, Problem, server_timing


class Credentials(BaseModel):
    username: str
    password: str


def _timing(request: Request, ended_ns: int | None = None, cached: bool = False) -> str:
    started = getattr(request.state, "auth_started", None) or time.perf_counter_ns()
    return server_timing(started, ended_ns, cached)[1].decode()


def get_auth(request: Request) -> Auth:
    """The server's auth step, opened by the lifespan."""
    return request.app.state.auth


async def current_user(request: Request, auth: Annotated[Auth, Depends(get_auth)]) -> Principal:
    """The auth step as a dependency: what every protected route asks for."""
    request.state.auth_started = time.perf_counter_ns()
    return await auth.authenticate(request.headers.raw)


def _add_error_handlers(app: FastAPI) -> None:
    """RFC 6750 answers for Problems, 400 for a bad login body, 413 for a large one."""

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> JSONResponse:
        headers = {name.decode(): value.decode() for name, value in exc.headers}
        if request.url.path in ("/me", "/profile"):
            headers["server-timing"] = _timing(request)
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, exc.status, headers, media_type="application/json")

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = {
            "error": "invalid_request",
            "error_description": "username and password must be strings",
        }
        return JSONResponse(body, 400)


class BoundedBody:
    """413 for a body over MAX_BODY_BYTES, and `Cache-Control: no-store` on every answer.

    A pure ASGI middleware rather than `@app.middleware("http")`: Starlette's
    BaseHTTPMiddleware runs each request through a task group and memory streams, a cost of
    the decorator, not of FastAPI, that would be billed to every arm's HTTP stack.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_no_store(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", b"no-store")]
            await send(message)

        length = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        if int(length or 0) > MAX_BODY_BYTES:
            body = {
                "error": "invalid_request",
                "error_description": f"body larger than {MAX_BODY_BYTES} bytes",
            }
            return await JSONResponse(body, 413)(scope, receive, send_no_store)
        await self.app(scope, receive, send_no_store)


def _add_routes(app: FastAPI) -> None:
    """The contract's routes, each only calling the auth step."""

    @app.post("/login")
    async def login(
        credentials: Credentials, auth: Annotated[Auth, Depends(get_auth)]
    ) -> dict[str, Any]:
        """Exercises: the server's login (password check, then a new token)."""
        return await auth.login(credentials.username, credentials.password)

    @app.get("/me")
    async def me(
        request: Request, response: Response, principal: Annotated[Principal, Depends(current_user)]
    ) -> dict[str, Any]:
        """Exercises: the auth step as a dependency, then the principal as JSON."""
        response.headers["server-timing"] = _timing(request, cached=principal.cached)
        return principal.as_json()

    @app.get("/profile")
    async def profile(
        request: Request, response: Response, auth: Annotated[Auth, Depends(get_auth)]
    ) -> dict[str, Any]:
        """Exercises: the server's /profile (for a session server, the lookup folded into the
        data query), timed from the start of the auth step to its end."""
        request.state.auth_started = time.perf_counter_ns()
        timing = [0]
        body = await auth.profile(request.headers.raw, timing)
        response.headers["server-timing"] = _timing(request, timing[0] or None)
        return body

    @app.post("/logout", status_code=204)
    async def logout(request: Request, auth: Annotated[Auth, Depends(get_auth)]) -> Response:
        """Exercises: the server's logout (a session deleted, or a jti recorded)."""
        await auth.logout(request.headers.raw)
        return Response(status_code=204)

    @app.get("/healthz")
    async def healthz(auth: Annotated[Auth, Depends(get_auth)]) -> dict[str, str]:
        return {"status": "ok", "server": auth.name}


def create_app(kind: str) -> FastAPI:
    """The FastAPI application of one server kind: control, session or jwt_auth."""
    module = importlib.import_module(f"servers.{kind}")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        auth = module.make_auth(os.environ)
        await auth.startup()
        app.state.auth = auth
        try:
            yield
        finally:
            await auth.shutdown()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    app.add_middleware(BoundedBody)
    _add_error_handlers(app)
    _add_routes(app)
    return app


def control_app() -> FastAPI:
    return create_app("control")


def session_app() -> FastAPI:
    return create_app("session")


def jwt_auth_app() -> FastAPI:
    return create_app("jwt_auth")
