"""The export actions: the seed's reset, and starting an export."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from bdbexport.domain.actions import Action
from bdbexport.domain.errors import UnauthenticatedError
from bdbexport.domain.lifecycle import ActionKind

from .bdb_endpoints import bdb_response
from .context import context_of, json_object_body, parse_uid, principal_of
from .dry_run import dry_run_requested, dry_run_response
from .errors import ProtocolError
from .schemas import ExportRequest

M = TypeVar("M", bound=BaseModel)


def reset_endpoint(
    action: Action, kind: ActionKind
) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    """The `PUT /v1/bdbs/{uid}/actions/<kind>_reset_status` route of one lifecycle.

    Real clients send either no body or `{}`; any JSON object is accepted (its keys
    mean nothing here), anything else is refused before the domain is asked.
    """

    async def reset_status(request: Request) -> Response:
        dry_run = dry_run_requested(request)
        context = context_of(request)
        principal = await principal_of(request, context)
        if principal is None:
            # Authentication before the body is read: an anonymous caller learns
            # nothing from how its body is judged.
            return await unauthenticated(request, dry_run, action)
        await json_object_body(request, required=False)
        if dry_run:
            return await dry_run_response(request, principal, action)
        uid = parse_uid(request.path_params["uid"])
        return bdb_response(await context.service.reset_status(principal, uid, kind))

    reset_status.__name__ = reset_status.__qualname__ = f"reset_{kind.value}_status"
    return reset_status


reset_export_status = reset_endpoint(Action.RESET, ActionKind.EXPORT)
"""The seed: `export_status` back to idle unless an export runs."""


async def start_export(request: Request) -> Response:
    """`POST /v1/bdbs/{uid}/actions/export`: validated body, then the use case, then
    the export is handed to the worker pool of this replica."""
    dry_run = dry_run_requested(request)
    principal = await principal_of(request)
    if principal is None:
        return await unauthenticated(request, dry_run, Action.START)
    document = await json_object_body(request, required=True)
    try:
        export = ExportRequest.model_validate(document)
    except ValidationError as error:
        raise ProtocolError("invalid_schema", describe_validation(error)) from error
    context = context_of(request)
    location = export.export_location
    if context.location_types is not None and location.type not in context.location_types:
        supported = ", ".join(sorted(context.location_types))
        raise ProtocolError(
            "unsupported_location_type",
            f"Exports to location type '{location.type}' are not supported by this server;"
            f" supported types: {supported}.",
        )
    # The location check comes before the rules, in the dry run as in the real call,
    # so a dry run answers the status the real call would (400, not 200).
    await context.check_location(location)
    if dry_run:
        return await dry_run_response(request, principal, Action.START)
    service, uid = context.service, parse_uid(request.path_params["uid"])
    bdb = await service.start_export(principal, uid, location)
    if context.launch is not None:
        context.launch(bdb, location, export.email_notification)
    else:
        context.launch_export(bdb, location, export.email_notification)
    return bdb_response(bdb)


async def unauthenticated(request: Request, dry_run: bool, action: Action) -> Response:
    """No credentials: the dry run's decision (which says so), or the 401 itself."""
    if dry_run:
        return await dry_run_response(request, None, action)
    raise UnauthenticatedError()


def validated(model: type[M], document: dict[str, Any]) -> M:
    """The body as `model`, or 400 `invalid_schema` naming each bad field."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ProtocolError("invalid_schema", describe_validation(error)) from error


def describe_validation(error: ValidationError) -> str:
    """One line naming each bad field, e.g. `export_location.mount_point.path: Field required`."""
    problems = []
    for problem in error.errors(include_url=False, include_input=False):
        # Drop pydantic's internal steps (e.g. "tagged-union[...]"): name fields only.
        parts = [str(part) for part in problem["loc"] if "[" not in str(part)]
        where = ".".join(parts) or "body"
        problems.append(f"{where}: {problem['msg']}")
    return "Invalid request body: " + "; ".join(problems) + "."
