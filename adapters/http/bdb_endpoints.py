"""`GET /v1/bdbs` and `GET /v1/bdbs/{uid}`, with Redis Software's `fields` parameter.

The list is streamed (memory stays flat for any size). Its first bdb is read before the
status line is sent, so a store that is down when the request comes gets a proper 503.
If the store fails after the first bytes went out, the status cannot change any more:
the stream then ends *without* its closing `]` and without the final empty chunk, and
the connection is closed, so every HTTP client reports an incomplete body instead of
parsing a truncated array as a short list. One warning line says so in the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError

from .context import context_of, parse_uid, principal_of
from .schemas import BDB_FIELDS

LIST_CHUNK = 200
"""Bdbs encoded per chunk of the streamed list."""

log = logging.getLogger("bdbexport.http")


class JsonArrayStream(StreamingResponse):
    """A 200 whose body is a JSON array streamed from `chunks`; aborted (never completed)
    if producing a chunk fails. The server ends such a response without its last chunk
    (granian logs nothing of it: the warning here is the one line)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__(chunks, media_type="application/json")
        self._chunks = chunks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        try:
            async for chunk in self._chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Exception as error:
            what = error.description if isinstance(error, DomainError) else repr(error)
            log.warning("GET %s aborted mid-stream: %s", scope.get("path", ""), what)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def requested_fields(request: Request) -> frozenset[str] | None:
    """The `fields` subset; names this server does not know are ignored, as a
    client written for a full Redis Software bdb object may ask for more."""
    if not request.scope["query_string"]:
        return None  # no query: nothing to parse (the common read)
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
    bdbs = aiter(context_of(request).service.list_bdbs(principal))
    head = await anext(bdbs, None)  # a store down now is a 503, before any byte is sent
    return JsonArrayStream(_json_array(head, bdbs, requested_fields(request)))


async def _json_array(
    head: Bdb | None, rest: AsyncIterator[Bdb], fields: frozenset[str] | None
) -> AsyncIterator[bytes]:
    """The list as a JSON array, streamed in chunks: memory stays flat for any size."""
    yield b"["
    if head is None:
        yield b"]"
        return
    first = True
    chunk: list[str] = [json.dumps(bdb_body(head, fields), separators=(",", ":"))]
    async for bdb in rest:
        chunk.append(json.dumps(bdb_body(bdb, fields), separators=(",", ":")))
        if len(chunk) == LIST_CHUNK:
            yield (("" if first else ",") + ",".join(chunk)).encode()
            first = False
            chunk = []
    if chunk:
        yield (("" if first else ",") + ",".join(chunk)).encode()
    yield b"]"
