"""Domain codes to HTTP statuses: the one table, and the JSON error responses.

Every error leaves the server as Redis Software's error object,
`{"error_code": ..., "description": ...}`, with `Content-Type: application/json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from starlette.responses import JSONResponse

STATUS_OF_CODE: Mapping[str, int] = MappingProxyType(
    {
        "unauthenticated": 401,
        "account_locked": 401,
        "too_many_attempts": 429,
        "forbidden": 403,
        "db_not_exist": 404,
        "action_not_exist": 404,
        "no_backup_location": 400,
        "unsupported_module_capabilities": 406,
        "busy": 409,
        "export_in_progress": 409,
        "import_in_progress": 409,
        "backup_in_progress": 409,
        "concurrent_update": 409,
        "invalid_transition": 409,
        "invalid_progress": 400,
        "action_mismatch": 409,
        "lease_not_expired": 409,
        "invalid_failure_reason": 400,
        "db_already_exists": 409,
        "user_already_exists": 409,
        "store_unavailable": 503,
        "incompatible_store": 500,
        "export_path_not_allowed": 400,
        "egress_not_allowed": 400,
        # Protocol-level codes, raised by this adapter itself.
        "invalid_schema": 400,
        "invalid_header": 400,
        "unsupported_location_type": 400,
        "request_too_large": 413,
        "request_timeout": 408,
        "too_many_connections": 429,
        "too_many_requests": 429,
        "cross_site_request": 403,
        "not_found": 404,
        "method_not_allowed": 405,
        "invalid_request": 400,
        "client_disconnected": 400,
        "internal_error": 500,
        "not_implemented": 501,
    }
)
"""Every error code this server can answer with, and its HTTP status."""

RETRY_AFTER_SECONDS = "1"
WWW_AUTHENTICATE = 'Basic realm="bdbexport", charset="UTF-8"'


def status_of(code: str) -> int:
    return STATUS_OF_CODE.get(code, 500)


def error_response(
    code: str,
    description: str,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    retryable: bool = False,
) -> JSONResponse:
    status = status_of(code) if status is None else status
    all_headers = dict(headers or {})
    if status == 401:
        all_headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    if status in {409, 503} or retryable:
        all_headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)
    return JSONResponse(
        {"error_code": code, "description": description}, status_code=status, headers=all_headers
    )


class ProtocolError(Exception):
    """A bad request caught by this adapter before it reaches the domain."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
