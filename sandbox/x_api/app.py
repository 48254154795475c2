"""The sandbox as one FastAPI app: X API v2 routes, the /sandbox control API, the front door."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

from sandbox.x_api import control, problems, x_routes
from sandbox.x_api.config import SandboxConfig
from sandbox.x_api.frontdoor import RAW_SEND, FrontDoor
from sandbox.x_api.params import QueryError
from sandbox.x_api.state import Sandbox
from sandbox.x_api.traffic import Traffic


class SandboxApp(FastAPI):
    """Keeps the server's own `send` in the scope so the front door can hang up for real."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND] = send
        await super().__call__(scope, receive, send)


async def _query_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, QueryError)
    return x_routes.x_json(problems.invalid_request(error.errors), 400)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """A fresh sandbox (its own state) ready for uvicorn; config defaults come from the env."""
    config = config or SandboxConfig.from_env()
    sandbox = Sandbox(config)
    app = SandboxApp(
        title="X API v2 sandbox",
        description="A local stand-in for the parts of X API v2 roastbot uses, plus /sandbox controls.",
        docs_url="/sandbox/docs",
        openapi_url="/sandbox/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = sandbox
    app.state.traffic = Traffic(sandbox)
    app.add_exception_handler(QueryError, _query_error)
    app.include_router(control.router)
    app.include_router(x_routes.router)
    app.add_middleware(FrontDoor, sandbox=sandbox)
    return app
