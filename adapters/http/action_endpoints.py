"""The Actions API: every export, import and backup, followed by its `action_uid`.

Clients take the `action_uid` a start answers and poll `GET /v1/actions/{uid}` (or
`/v2/...`) until `status` is `completed`, `failed` or `cancelled`. Records come from
the store, so every replica answers the same. `DELETE /v1/actions/{uid}` (an extension:
Redis Software documents none) cancels a running one.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bdbexport.domain.errors import UnauthenticatedError

from .context import context_of, parse_uid, principal_of
from .errors import ProtocolError


async def get_action(request: Request) -> Response:
    """`GET /v1/actions/{action_uid}` and `GET /v2/actions/{action_uid}`."""
    principal = await principal_of(request)
    context = context_of(request)
    record = await context.service.get_action(principal, request.path_params["action_uid"])
    wire = record.to_wire()
    queue = context.work_queue
    if queue is not None:  # run by workers apart: where its attempts stand
        state = await run_in_threadpool(queue.item, record.action_uid)
        if state is not None:
            wire["attempt"] = state.attempt
            wire["last_error"] = state.last_error
    return JSONResponse(wire)


async def list_actions_v1(request: Request) -> Response:
    """`GET /v1/actions`: `{"actions": [...], "state-machines": []}`. Redis Software's
    v1 leaves exports, imports and backups out; ours has nothing else, so it lists
    them (documented)."""
    principal = await principal_of(request)
    records = await context_of(request).service.list_actions(principal)
    actions = [record.to_wire() async for record in records]
    return JSONResponse({"actions": actions, "state-machines": []})


async def list_actions_v2(request: Request) -> Response:
    """`GET /v2/actions`: every action, newest first."""
    principal = await principal_of(request)
    records = await context_of(request).service.list_actions(principal)
    return JSONResponse([record.to_wire() async for record in records])


async def list_bdb_actions(request: Request) -> Response:
    """`GET /v1/actions/bdb/{bdb_uid}`: one database's actions, newest first."""
    principal = await principal_of(request)
    uid = parse_uid(request.path_params["bdb_uid"])
    records = await context_of(request).service.list_actions(principal, bdb_uid=uid)
    return JSONResponse([record.to_wire() async for record in records])


async def cancel_action(request: Request) -> Response:
    """`DELETE /v1/actions/{action_uid}`: cancel a running export, import or backup;
    answers the action, now `cancelled`.

    A cancel has no dry run: `?dry_run=` is refused (400) rather than ignored, so a
    client that meant to ask never cancels by accident (the start's dry run answers who
    may cancel: its `permitted` check)."""
    principal = await principal_of(request)
    if "dry_run" in request.query_params:
        if principal is None:
            raise UnauthenticatedError()
        raise ProtocolError(
            "invalid_request",
            "DELETE /v1/actions/{action_uid} has no dry run; ask ?dry_run=true of the"
            " action's start (its `permitted` check decides who may cancel) or send the"
            " DELETE without it.",
        )
    record = await context_of(request).service.cancel(principal, request.path_params["action_uid"])
    return JSONResponse(record.to_wire())
