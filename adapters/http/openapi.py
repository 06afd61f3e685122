"""The OpenAPI 3.1 document, generated from `OPERATIONS` and the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .errors import STATUS_OF_CODE
from .operations import OPERATIONS, Operation
from .schemas import DecisionObject, ErrorBody, PartialBdbObject

_REF = "#/components/schemas/{model}"

_COMMON_ERRORS = {
    400: "Bad request: invalid JSON, a body that is not a JSON object, a bad header.",
    401: "Missing, malformed or wrong credentials, or a bad or expired token.",
    403: "The user's role lacks the permission this operation requires.",
    413: "The request body is larger than 64 KiB.",
    429: "Too many failed sign-ins from this client address; wait Retry-After seconds.",
    500: "An unexpected error; the body names the request id to look for in the logs.",
    503: "The store is unavailable; retry later.",
}


def openapi_document(*, version: str) -> dict[str, Any]:
    models = {op.request_model for op in OPERATIONS if op.request_model} | {
        op.response_model for op in OPERATIONS if op.response_model
    }
    models |= {ErrorBody, PartialBdbObject, DecisionObject}
    _, top = models_json_schema(
        [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)]
        + [(op.request_model, "validation") for op in OPERATIONS if op.request_model],
        ref_template=_REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bdbexport",
            "version": version,
            "description": (
                "The export family of the Redis Software REST API. Error codes: "
                + ", ".join(sorted(STATUS_OF_CODE))
                + "."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "jwt": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`JWT <token>` from POST /v1/users/authorize.",
                },
            },
        },
        "security": [{"basic": []}, {"jwt": []}],
    }


def _operation(operation: Operation) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}}
    responses: dict[str, Any] = {}
    statuses = {**_COMMON_ERRORS, **operation.responses}
    if operation.permission is None:
        statuses.pop(403)
    for status in sorted(statuses):
        body: dict[str, Any] = {"description": statuses[status]}
        if status == 200:
            body["content"] = {"application/json": {"schema": _success_schema(operation)}}
        else:
            body["content"] = error
        if status in {409, 429, 503}:
            body["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        if status == 401:
            body["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses[str(status)] = body
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description
        + (f"\n\nRequired permission: `{operation.permission}`." if operation.permission else ""),
        "parameters": _parameters(operation),
        "responses": responses,
    }
    if operation.extension:
        document["x-bdbexport-extension"] = True
    if operation.request_model is not None:
        document["requestBody"] = {
            "required": operation.request_required,
            "content": {
                "application/json": {
                    "schema": {"$ref": _REF.format(model=operation.request_model.__name__)}
                }
            },
        }
    return document


def _success_schema(operation: Operation) -> dict[str, Any]:
    assert operation.response_model is not None
    item: dict[str, Any] = {"$ref": _REF.format(model=operation.response_model.__name__)}
    if operation.partial_bdb:
        item = {"anyOf": [item, {"$ref": _REF.format(model="PartialBdbObject")}]}
    if operation.dry_run:
        item = {"anyOf": [item, {"$ref": _REF.format(model="DecisionObject")}]}
    return {"type": "array", "items": item} if operation.response_is_list else item


_ACTION_PATH_PARAMETERS = {
    "action_uid": "The action's uid, as its start answered it (`action_uid`).",
    "bdb_uid": "The unique ID of the database.",
}
_ACTION_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "action_uid": {"type": "string", "minLength": 1, "maxLength": 128},
    "bdb_uid": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
}


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    if "{uid}" in operation.path:
        parameters.append(
            {
                "name": "uid",
                "in": "path",
                "required": True,
                "description": "The unique ID of the database.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            }
        )
    for name, description in _ACTION_PATH_PARAMETERS.items():
        if "{" + name + "}" in operation.path:
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "description": description,
                    "schema": _ACTION_PATH_SCHEMAS[name],
                }
            )
    if operation.partial_bdb:
        parameters.append(
            {
                "name": "fields",
                "in": "query",
                "required": False,
                "description": "Comma-separated bdb field names to return; unknown names"
                " are ignored.",
                "schema": {"type": "string"},
            }
        )
    if operation.dry_run:
        parameters.append(
            {
                "name": "dry_run",
                "in": "query",
                "required": False,
                "description": "true: answer the decision (every check and reason) with the"
                " status the real call would get, and do nothing. Checks run in the one"
                " order: authentication, permission, the request (its location), the rules."
                " A start's dry run with no body judges no location (permission and rules"
                " only); with a body, it is judged exactly as the real call's.",
                "schema": {"type": "boolean"},
            }
        )
    return parameters
