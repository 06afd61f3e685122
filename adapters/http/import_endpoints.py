"""The import actions: resetting `import_status`, and starting an import.

Same conventions as the export endpoints: authentication before the body is judged,
`?dry_run=true`, and the domain's refusals mapped by the one status table.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bdbexport.domain.actions import Action
from bdbexport.domain.lifecycle import ActionKind

from .bdb_endpoints import bdb_response
from .context import context_of, json_object_body, parse_uid, principal_of
from .dry_run import dry_run_requested, dry_run_response
from .errors import ProtocolError
from .export_endpoints import reset_endpoint, unauthenticated, validated
from .schemas import ImportRequest

reset_import_status = reset_endpoint(Action.RESET_IMPORT, ActionKind.IMPORT)
"""`import_status` back to idle unless an import runs, `import_failure_reason` cleared."""


async def start_import(request: Request) -> Response:
    """`POST /v1/bdbs/{uid}/actions/import`: either body form (`ImportRequest`), the
    start-time location check exports make, then the use case, then the import is
    handed to this replica's runner."""
    dry_run = dry_run_requested(request)
    principal = await principal_of(request)
    if principal is None:
        return await unauthenticated(request, dry_run, Action.START_IMPORT)
    body = validated(ImportRequest, await json_object_body(request, required=True))
    context = context_of(request)
    source = body.source
    types = context.import_location_types
    if types is not None and source.type not in types:
        raise ProtocolError(
            "unsupported_location_type",
            f"Imports from location type '{source.type}' are not supported by this server;"
            f" supported types: {', '.join(sorted(types))}.",
        )
    if context.launch is None:
        raise ProtocolError("not_implemented", "This server runs no imports.")
    # The export rules, refused as early as for exports: a path outside the export
    # roots, an FTP host the egress policy refuses (an address literal, `localhost`).
    await context.check_location(source)
    if dry_run:  # after the pre-checks: the real call's status (docs/http-api.md)
        return await dry_run_response(request, principal, Action.START_IMPORT)
    uid = parse_uid(request.path_params["uid"])
    bdb = await context.service.start_import(principal, uid, source)
    context.launch(
        bdb, source, body.email_notification, kind=ActionKind.IMPORT, flush=body.replaces_data
    )
    return bdb_response(bdb)
