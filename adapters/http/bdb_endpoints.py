"""`GET /v1/bdbs` and `GET /v1/bdbs/{uid}`, with Redis Software's `fields` parameter."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bdbexport.domain.bdb import Bdb

from .context import context_of, parse_uid, principal_of
from .schemas import BDB_FIELDS

LIST_CHUNK = 200
"""Bdbs encoded per chunk of the streamed list."""


def requested_fields(request: Request) -> frozenset[str] | None:
    """The `fields` subset; names this server does not know are ignored, as a
    client written for a full Redis Software bdb object may ask for more."""
    raw = request.query_params.get("fields")
    if raw is None:
        return None
    return frozenset(name.strip() for name in raw.split(",")) & BDB_FIELDS


def bdb_body(bdb: Bdb, fields: frozenset[str] | None) -> dict[str, Any]:
    wire = bdb.to_wire()
    return wire if fields is None else {k: v for k, v in wire.items() if k in fields}


def bdb_response(bdb: Bdb, fields: frozenset[str] | None = None) -> Response:
    """The bdb object; the whole one is encoded by pydantic in one step (the hot path)."""
    if fields is None:
        return Response(bdb.to_wire_json(), media_type="application/json")
    return JSONResponse(bdb_body(bdb, fields))


async def get_bdb(request: Request) -> Response:
    principal = await principal_of(request)
    service, uid = context_of(request).service, parse_uid(request.path_params["uid"])
    bdb = await service.get_bdb(principal, uid)
    return bdb_response(bdb, requested_fields(request))


async def list_bdbs(request: Request) -> Response:
    principal = await principal_of(request)
    bdbs = context_of(request).service.list_bdbs(principal)
    return StreamingResponse(
        _json_array(bdbs, requested_fields(request)), media_type="application/json"
    )


async def _json_array(
    bdbs: AsyncIterable[Bdb], fields: frozenset[str] | None
) -> AsyncIterator[bytes]:
    """The list as a JSON array, streamed in chunks: memory stays flat for any size."""
    yield b"["
    first = True
    chunk: list[str] = []
    async for bdb in bdbs:
        chunk.append(json.dumps(bdb_body(bdb, fields), separators=(",", ":")))
        if len(chunk) == LIST_CHUNK:
            yield (("" if first else ",") + ",".join(chunk)).encode()
            first = False
            chunk = []
    if chunk:
        yield (("" if first else ",") + ",".join(chunk)).encode()
    yield b"]"
