"""The route table, as data: the app's routes and the OpenAPI document both read it,
so the documented API is the served API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bdbexport.domain.permissions import Permission

from .bdb_endpoints import get_bdb, list_bdbs
from .export_endpoints import reset_export_status, start_export
from .module_endpoints import list_modules
from .schemas import BdbObject, ExportRequest, ModuleObject, TokenRequest, TokenResponse
from .token_endpoints import UnlockRequest, UnlockResponse, authorize, unlock_user

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
            " the bdb's export_status, export_progress and export_failure_reason."
        ),
        permission=Permission.START_BDB_EXPORT,
        responses=_BDB_ACTION,
        request_model=ExportRequest,
        request_required=True,
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
)
