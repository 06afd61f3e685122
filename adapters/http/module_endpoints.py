"""`GET /v1/modules`: the catalog, with each module's capabilities."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .context import context_of, principal_of


async def list_modules(request: Request) -> Response:
    principal = await principal_of(request)
    modules = [module async for module in context_of(request).service.list_modules(principal)]
    return JSONResponse(
        [
            {
                "uid": module.uid or module.module_name,
                "module_name": module.module_name,
                "semantic_version": module.semantic_version,
                "capabilities": sorted(module.capabilities),
            }
            for module in modules
        ]
    )
