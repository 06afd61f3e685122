"""The route table, as data: the app's routes and the OpenAPI document both read it,
so the documented API is the served API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bdbexport.domain.permissions import Permission

from .action_endpoints import (
    cancel_action,
    get_action,
    list_actions_v1,
    list_actions_v2,
    list_bdb_actions,
)
from .backup_endpoints import reset_backup_status, start_backup
from .bdb_endpoints import get_bdb, list_bdbs
from .export_endpoints import reset_export_status, start_export
from .import_endpoints import reset_import_status, start_import
from .module_endpoints import list_modules
from .schemas import (
    ActionListV1,
    ActionObject,
    BackupRequest,
    BdbObject,
    ExportRequest,
    ImportRequest,
    ModuleObject,
    TokenRequest,
    TokenResponse,
    WorkersObject,
)
from .token_endpoints import UnlockRequest, UnlockResponse, authorize, unlock_user
from .worker_endpoints import list_workers

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: Endpoint
    operation_id: str
    summary: str
    description: str
    permission: Permission | None
    responses: dict[int, str]
    request_model: type[BaseModel] | None = None
    request_required: bool = False
    response_model: type[BaseModel] | None = None
    response_is_list: bool = False
    partial_bdb: bool = False
    """The response honours the `fields` parameter (any subset of the bdb object)."""
    dry_run: bool = False
    """`?dry_run=true` answers the decision (`DecisionObject`) and does nothing."""
    extension: bool = False
    """Ours, not Redis Software's: marked `x-bdbexport-extension` in the document."""


_BDB_ACTION = {
    200: "The request is accepted; the body is the database's bdb object after it.",
    404: "Attempting to perform an action on a nonexistent database.",
    406: "Not all the modules loaded to the database support 'backup_restore' capability.",
    409: "Database is currently busy with another action (or exporting); retry later.",
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="PUT",
        path="/v1/bdbs/{uid}/actions/export_reset_status",
        endpoint=reset_export_status,
        operation_id="resetExportStatus",
        summary="Reset database export status",
        description=(
            "Resets the database's export_status to idle if an export is not in progress"
            " and clears export_failure_reason. Accepts no body, or any JSON object."
        ),
        permission=Permission.RESET_BDB_CURRENT_EXPORT_STATUS,
        responses=_BDB_ACTION,
        request_model=None,
        response_model=BdbObject,
        dry_run=True,
    ),
    Operation(
        method="POST",
        path="/v1/bdbs/{uid}/actions/export",
        endpoint=start_export,
        operation_id="startExport",
        summary="Export a database",
        description=(
            "Starts an export of the database to export_location. Progress is read from"
            " the bdb's export_status, export_progress and export_failure_reason. The body"
            " is required, except by a dry run (`?dry_run=true` without a body asks whether"
            " the caller may start an export at all)."
        ),
        permission=Permission.START_BDB_EXPORT,
        responses=_BDB_ACTION,
        request_model=ExportRequest,
        request_required=True,  # by the real call; a dry run may omit it (`dry_run`)
        response_model=BdbObject,
        dry_run=True,
    ),
    Operation(
        method="GET",
        path="/v1/bdbs/{uid}",
        endpoint=get_bdb,
        operation_id="getBdb",
        summary="Get a database",
        description="The bdb object; `fields` selects a subset of its fields.",
        permission=Permission.VIEW_BDB_INFO,
        responses={200: "The bdb object.", 404: "No database with that uid."},
        response_model=BdbObject,
        partial_bdb=True,
    ),
    Operation(
        method="GET",
        path="/v1/bdbs",
        endpoint=list_bdbs,
        operation_id="listBdbs",
        summary="List databases",
        description="Every bdb object, in uid order, streamed; `fields` selects a subset.",
        permission=Permission.VIEW_ALL_BDBS_INFO,
        responses={200: "The bdb objects."},
        response_model=BdbObject,
        response_is_list=True,
        partial_bdb=True,
    ),
    Operation(
        method="GET",
        path="/v1/modules",
        endpoint=list_modules,
        operation_id="listModules",
        summary="List modules",
        description="The cluster's module catalog, with each module's capabilities.",
        permission=Permission.VIEW_CLUSTER_MODULES,
        responses={200: "The module objects."},
        response_model=ModuleObject,
        response_is_list=True,
    ),
    Operation(
        method="POST",
        path="/v1/users/authorize",
        endpoint=authorize,
        operation_id="authorize",
        summary="Get a JWT",
        description=(
            "Returns an access token for the credentials given by Basic auth or in the body;"
            " send it afterwards as `Authorization: JWT <token>`."
        ),
        permission=None,
        responses={200: "The token."},
        request_model=TokenRequest,
        response_model=TokenResponse,
    ),
    Operation(
        method="PUT",
        path="/v1/bdbs/{uid}/actions/import_reset_status",
        endpoint=reset_import_status,
        operation_id="resetImportStatus",
        summary="Reset database import status",
        description=(
            "Resets the database's import_status to idle if an import is not in progress"
            " and clears import_failure_reason. Accepts no body, or any JSON object."
        ),
        permission=Permission.RESET_BDB_CURRENT_IMPORT_STATUS,
        responses=_BDB_ACTION,
        response_model=BdbObject,
        dry_run=True,
    ),
    Operation(
        method="POST",
        path="/v1/bdbs/{uid}/actions/import",
        endpoint=start_import,
        operation_id="startImport",
        summary="Import into a database",
        description=(
            "Starts an import of one RDB file: `dataset_import_sources` (Redis Software's"
            " form: one location object; replaces the data unless `flush` is false) or"
            " `import_location` (an object, an ftp/ftps/sftp URL or an absolute path) with"
            " `flush` (default false: the file's keys are added). Follow it with"
            " GET /v1/actions/{action_uid}."
        ),
        permission=Permission.START_BDB_IMPORT,
        responses={**_BDB_ACTION, 501: "This server runs no imports."},
        request_model=ImportRequest,
        request_required=True,  # by the real call; a dry run may omit it (`dry_run`)
        response_model=BdbObject,
        dry_run=True,
    ),
    Operation(
        method="PUT",
        path="/v1/bdbs/{uid}/actions/backup_reset_status",
        endpoint=reset_backup_status,
        operation_id="resetBackupStatus",
        summary="Reset database backup status",
        description=(
            "Resets the database's backup_status to idle if a backup is not in progress"
            " and clears backup_failure_reason. Accepts no body, or any JSON object."
        ),
        permission=Permission.RESET_BDB_CURRENT_BACKUP_STATUS,
        responses=_BDB_ACTION,
        response_model=BdbObject,
        dry_run=True,
    ),
    Operation(
        method="POST",
        path="/v1/bdbs/{uid}/actions/backup",
        endpoint=start_backup,
        operation_id="startBackup",
        summary="Back up a database now",
        description=(
            "Starts a backup (an export) to the database's backup_location; the body may"
            " be empty or `{}` (as clients send it), or name a `backup_location` for this"
            " once (an extension). Follow it with GET /v1/actions/{action_uid}."
        ),
        permission=Permission.START_BDB_EXPORT,
        responses={
            **_BDB_ACTION,
            400: "Invalid body, or the database has no backup_location (no_backup_location).",
            501: "This server runs no backups.",
        },
        request_model=BackupRequest,
        response_model=BdbObject,
        dry_run=True,
    ),
    Operation(
        method="GET",
        path="/v1/actions",
        endpoint=list_actions_v1,
        operation_id="listActionsV1",
        summary="List actions",
        description=(
            "Every export, import and backup, newest first, with Redis Software's"
            " `state-machines` (always empty here). Finished actions are kept for a"
            " limited time and number (docs/actions.md)."
        ),
        permission=Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
        responses={200: "The actions."},
        response_model=ActionListV1,
    ),
    Operation(
        method="GET",
        path="/v2/actions",
        endpoint=list_actions_v2,
        operation_id="listActionsV2",
        summary="List actions (v2)",
        description="Every export, import and backup, newest first.",
        permission=Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
        responses={200: "The actions."},
        response_model=ActionObject,
        response_is_list=True,
    ),
    Operation(
        method="GET",
        path="/v1/actions/bdb/{bdb_uid}",
        endpoint=list_bdb_actions,
        operation_id="listBdbActions",
        summary="List one database's actions",
        description="The exports, imports and backups of one database, newest first.",
        permission=Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
        responses={200: "The actions.", 404: "No database with that uid."},
        response_model=ActionObject,
        response_is_list=True,
    ),
    Operation(
        method="GET",
        path="/v1/actions/{action_uid}",
        endpoint=get_action,
        operation_id="getAction",
        summary="Get an action",
        description=(
            "One action: `status` is queued, running, completed, failed or cancelled;"
            " `progress` a string of 0-100."
        ),
        permission=Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
        responses={200: "The action.", 404: "No action with that uid (action_not_exist)."},
        response_model=ActionObject,
    ),
    Operation(
        method="GET",
        path="/v2/actions/{action_uid}",
        endpoint=get_action,
        operation_id="getActionV2",
        summary="Get an action (v2)",
        description="The same action object as GET /v1/actions/{action_uid}.",
        permission=Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
        responses={200: "The action.", 404: "No action with that uid (action_not_exist)."},
        response_model=ActionObject,
    ),
    Operation(
        method="DELETE",
        path="/v1/actions/{action_uid}",
        endpoint=cancel_action,
        operation_id="cancelAction",
        summary="Cancel an action",
        description=(
            "Cancels a running export, import or backup: the action ends `cancelled`, the"
            " database's status for it `failed` (general-error, detail `cancelled by"
            " <user>`), and its worker stops and removes what it left. Requires the"
            " permission that starts that action (start_bdb_export or start_bdb_import)."
        ),
        permission=Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
        responses={
            200: "The action, now cancelled.",
            404: "No action with that uid (action_not_exist).",
            409: "The action is not running (it has ended).",
        },
        response_model=ActionObject,
        extension=True,
    ),
    Operation(
        method="POST",
        path="/v1/users/unlock",
        endpoint=unlock_user,
        operation_id="unlockUser",
        summary="Unlock a user",
        description=(
            "Lifts the sign-in lock of `email` (too many failed sign-ins) and forgets its"
            " failures. Admins only."
        ),
        permission=None,
        responses={
            200: "The lock is lifted; `was_locked` says whether there was one.",
            403: "Only the admin role may unlock users.",
        },
        request_model=UnlockRequest,
        request_required=True,
        response_model=UnlockResponse,
    ),
    Operation(
        method="GET",
        path="/v1/workers",
        endpoint=list_workers,
        operation_id="listWorkers",
        summary="List workers and the queue",
        description=(
            "The workers running exports, imports and backups apart from the API (id,"
            " host, pid, concurrency, last heartbeat, the actions each holds) and the"
            " queue they share (depth by kind, running, counters), read from the store:"
            " every replica answers the same (docs/workers.md)."
        ),
        permission=Permission.VIEW_STATUS_OF_CLUSTER_ACTION,
        responses={200: "The workers and the queue."},
        response_model=WorkersObject,
        extension=True,
    ),
)
