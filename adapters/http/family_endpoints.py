"""The action endpoints of every member of the family (export, import, backup): one
reset and one start, instantiated per member.

A start is judged in the one order of checks (docs/domain.md), by every member and by
its dry run alike:

1. authentication: no credentials is 401;
2. permission: a role lacking the member's start permission is 403, before the body is
   read, a path resolved or a host looked at (a caller without the permission learns
   nothing about locations);
3. request validation: the body, then the location: a type the server's adapter cannot
   serve (`unsupported_location_type`), a path outside the export roots, a host the
   egress policy refuses (400);
4. the rules: the bdb exists, its state, busy, modules (the rules engine).

`?dry_run=true` stops before anything is recorded and answers the decision. It judges
a location only when the request carries one: a dry run with no body at all asks
whether the caller may start at all (permission, then the rules), and a dry run with a
body has it judged exactly as the real call would (so `{}` for an export is the real
call's 400 `invalid_schema`). A backup's location is the bdb's when the request names
none, as for the real call, so a backup's dry run judges that one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.actions import ACTIONS, Action
from bdbexport.domain.errors import ForbiddenError, NoBackupLocationError, UnauthenticatedError
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.principal import Principal

from .bdb_endpoints import bdb_response
from .context import body_headers, context_of, json_object_body, parse_uid, principal_of
from .dry_run import dry_run_requested, dry_run_response
from .errors import ProtocolError

M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class StartRequest:
    """What a start's body asks, whatever the member's body form."""

    location: ExportLocation | None
    """None: the bdb's own (a backup's `{}`)."""
    notify: bool = False
    flush: bool = False


@dataclass(frozen=True)
class Member:
    """One member's start: its lifecycle, its action, and how its body reads."""

    kind: ActionKind
    action: Action
    read: Callable[[dict[str, Any]], StartRequest]
    """The body (a JSON object) as a `StartRequest`; 400 `invalid_schema` when it is not."""
    body_required: bool = True


def reset_endpoint(action: Action, kind: ActionKind) -> Endpoint:
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


def start_endpoint(member: Member) -> Endpoint:
    """The `POST /v1/bdbs/{uid}/actions/<kind>` route of `member`, judged in the one
    order (this module's docstring), then handed to this replica's runner."""
    permission = ACTIONS[member.action].permission

    async def start(request: Request) -> Response:
        dry_run = dry_run_requested(request)
        context = context_of(request)
        principal = await principal_of(request, context)
        if principal is None:  # 1. authentication
            return await unauthenticated(request, dry_run, member.action)
        if not await _permitted(request, principal, member.action, permission):
            # 2. permission: the decision (its `permitted` check failed), or the 403.
            if dry_run:
                return await dry_run_response(request, principal, member.action)
            raise ForbiddenError(principal.role, permission)
        # 3. request validation: the body, then the location (type, roots, egress).
        bodiless = not body_headers(request.scope["headers"])[1]
        document = await json_object_body(request, required=member.body_required and not dry_run)
        uid = parse_uid(request.path_params["uid"])
        asked = StartRequest(location=None) if dry_run and bodiless else member.read(document)
        location = asked.location
        if location is None and member.kind is ActionKind.BACKUP:
            location = await _backup_location(context.service.peek, uid)
        if location is not None:
            # Resolving a path follows symlinks and a host name needs a lookup: the check
            # runs off the loop, so a hung mount (a stale NFS export target) stalls this
            # request only.
            await context.check_location(location, member.kind)
        # 4. the rules: the decision, or the use case (which applies the same rules).
        if dry_run:
            return await dry_run_response(request, principal, member.action)
        if location is None:  # a backup of a bdb that does not exist: the rules say so
            decision = await context.service.evaluate(principal, member.action, uid)
            raise decision.error or NoBackupLocationError(uid)  # (created meanwhile: none)
        bdb = await context.service.start_action(principal, uid, location, member.kind)
        context.launch(bdb, location, asked.notify, kind=member.kind, flush=asked.flush)
        return bdb_response(bdb)

    start.__name__ = start.__qualname__ = f"start_{member.kind.value}"
    return start


async def _permitted(
    request: Request, principal: Principal, action: Action, permission: str
) -> bool:
    """Whether `principal` holds `action`'s permission: the context's policy, or (an
    embedder that gave none) the rules engine's own `permitted` check."""
    context = context_of(request)
    if context.permits is not None:
        return context.permits(principal, permission)
    decision = await context.service.evaluate(principal, action, None)
    return not isinstance(decision.error, ForbiddenError)


async def _backup_location(
    peek: Callable[[int], Coroutine[Any, Any, Any]], uid: int
) -> ExportLocation | None:
    """The bdb's `backup_location` (a backup's `{}`); `NoBackupLocationError` when it has
    none; None when there is no such bdb (the rules refuse it next, `db_not_exist`)."""
    current = await peek(uid) if uid else None
    if current is None:
        return None
    if current.backup_location is None:
        raise NoBackupLocationError(uid)
    location: ExportLocation = current.backup_location
    return location


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
