"""The floor for HTTP: the cheapest Starlette app answering the seed's path with `{}`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def reset(request: Request) -> JSONResponse:
    return JSONResponse({})


app = Starlette(
    routes=[Route("/v1/bdbs/{uid}/actions/export_reset_status", reset, methods=["PUT"])]
)
