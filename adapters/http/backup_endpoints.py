"""The backup actions: resetting `backup_status`, and an on-demand backup.

A backup is an export to the bdb's `backup_location` (Redis Software's words: a backup
*exports*). Real clients post `{}`; the location then comes from the bdb. Periodic
backups are started by the scheduler through the composition root
(`Application.start_scheduled_backup`), not over HTTP.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bdbexport.domain.actions import Action
from bdbexport.domain.errors import NoBackupLocationError
from bdbexport.domain.lifecycle import ActionKind

from .bdb_endpoints import bdb_response
from .context import context_of, json_object_body, parse_uid, principal_of
from .dry_run import decision_response, dry_run_requested, dry_run_response
from .errors import ProtocolError
from .export_endpoints import reset_endpoint, unauthenticated, validated
from .schemas import BackupRequest

reset_backup_status = reset_endpoint(Action.RESET_BACKUP, ActionKind.BACKUP)
"""`backup_status` back to idle unless a backup runs, `backup_failure_reason` cleared."""


async def start_backup(request: Request) -> Response:
    """`POST /v1/bdbs/{uid}/actions/backup`: a backup now, to `backup_location` (the
    body's, an extension, else the bdb's), handed to this replica's runner."""
    dry_run = dry_run_requested(request)
    principal = await principal_of(request)
    if principal is None:
        return await unauthenticated(request, dry_run, Action.START_BACKUP)
    body = validated(BackupRequest, await json_object_body(request, required=False))
    context = context_of(request)
    types = context.location_types
    wanted = body.backup_location
    if wanted is not None and types is not None and wanted.type not in types:
        raise ProtocolError(
            "unsupported_location_type",
            f"Backups to location type '{wanted.type}' are not supported"
            f" by this server; supported types: {', '.join(sorted(types))}.",
        )
    if context.launch is None:
        raise ProtocolError("not_implemented", "This server runs no backups.")
    service, uid = context.service, parse_uid(request.path_params["uid"])
    location = body.backup_location
    if location is None:
        # The bdb's own location; the rules first, so nothing leaks to the unpermitted.
        decision = await service.evaluate(principal, Action.START_BACKUP, uid)
        if decision.error is not None:
            if dry_run:
                return decision_response(decision)
            raise decision.error
        current = await service.peek(uid)
        if current is None or current.backup_location is None:
            raise NoBackupLocationError(uid)
        location = current.backup_location
    await context.check_location(location)  # a backup is an export: the same roots and egress
    if dry_run:
        # Every pre-check above ran, in the real call's order: the dry run answers
        # the status the real call would get (a missing location, a refused path).
        return await dry_run_response(request, principal, Action.START_BACKUP)
    bdb = await service.start_backup(principal, uid, location)
    context.launch(bdb, location, body.email_notification, kind=ActionKind.BACKUP)
    return bdb_response(bdb)
