"""Request and response bodies, as pydantic models: validation and the OpenAPI document
come from the same definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from bdbexport.domain.bdb import MAX_UID, Endpoint, ModuleRef
from bdbexport.domain.locations import FTP_URL_PATTERN, ExportLocation
from bdbexport.domain.statuses import (
    BackupStatus,
    BdbStatus,
    ExportFailureReason,
    ExportStatus,
    ImportFailureReason,
    ImportStatus,
)


class ErrorBody(BaseModel):
    """Redis Software's error object."""

    error_code: str = Field(description="Stable machine-readable code, e.g. db_not_exist.")
    description: str = Field(description="Human-readable explanation.")


def _document_url_shorthand(schema: dict[str, Any]) -> None:
    location = schema["properties"]["export_location"]
    schema["properties"]["export_location"] = {
        "anyOf": [location, {"type": "string", "pattern": FTP_URL_PATTERN}],
        "description": "An export location object, or an FTP URL string as shorthand.",
    }


class ExportRequest(BaseModel):
    """`POST /v1/bdbs/{uid}/actions/export`. `export_location` may also be given as a
    bare FTP URL string, which stands for `{"type": "url", "url": ...}`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_url_shorthand)

    export_location: ExportLocation
    email_notification: bool = Field(default=False, strict=True)

    @field_validator("export_location", mode="before")
    @classmethod
    def _url_shorthand(cls, value: Any) -> Any:
        return {"type": "url", "url": value} if isinstance(value, str) else value


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" admits 60.0; it does not admit "60" or true.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class TokenRequest(BaseModel):
    """`POST /v1/users/authorize`: credentials in the body or by Basic auth, and a ttl."""

    model_config = ConfigDict(extra="forbid")

    username: str | None = None
    password: str | None = None
    ttl: Annotated[int, BeforeValidator(_whole_number)] = Field(
        default=300, ge=1, le=86400, strict=True, description="Token lifetime in seconds."
    )


class TokenResponse(BaseModel):
    access_token: str


class BdbObject(BaseModel):
    """The bdb object as this server returns it (a subset of Redis Software's)."""

    uid: int = Field(ge=1, le=MAX_UID)
    name: str
    status: BdbStatus
    module_list: list[ModuleRef]
    export_status: ExportStatus
    export_progress: int = Field(ge=0, le=100)
    export_failure_reason: ExportFailureReason | None
    export_failure_detail: str | None = Field(
        description="An extension: what the worker said about the last failure."
    )
    last_export_time: datetime | None
    import_status: ImportStatus
    import_progress: int = Field(ge=0, le=100)
    import_failure_reason: ImportFailureReason | None
    import_failure_detail: str | None
    backup_status: BackupStatus
    backup_progress: int = Field(ge=0, le=100)
    backup_failure_reason: ExportFailureReason | None
    backup_failure_detail: str | None
    last_backup_time: datetime | None
    action_uid: str | None
    endpoints: list[Endpoint]


class PartialBdbObject(BaseModel):
    """A bdb object reduced by the `fields` query parameter: any subset of its fields."""

    model_config = ConfigDict(extra="forbid")

    uid: int | None = None
    name: str | None = None
    status: BdbStatus | None = None
    module_list: list[ModuleRef] | None = None
    export_status: ExportStatus | None = None
    export_progress: int | None = None
    export_failure_reason: ExportFailureReason | None = None
    export_failure_detail: str | None = None
    last_export_time: datetime | None = None
    import_status: ImportStatus | None = None
    import_progress: int | None = None
    import_failure_reason: ImportFailureReason | None = None
    import_failure_detail: str | None = None
    backup_status: BackupStatus | None = None
    backup_progress: int | None = None
    backup_failure_reason: ExportFailureReason | None = None
    backup_failure_detail: str | None = None
    last_backup_time: datetime | None = None
    action_uid: str | None = None
    endpoints: list[Endpoint] | None = None


class CheckObject(BaseModel):
    check: str
    outcome: str = Field(description="passed, failed or skipped.")
    error: ErrorBody | None


class PrincipalObject(BaseModel):
    name: str
    role: str


class DecisionObject(BaseModel):
    """What `?dry_run=true` answers: the decision, with every check, nothing done. A
    refusal carries the first failed check's `error_code` and `description` at the top."""

    dry_run: bool
    action: str
    uid: int | None
    principal: PrincipalObject | None
    allowed: bool
    error: ErrorBody | None
    checks: list[CheckObject]
    error_code: str | None = None
    description: str | None = None


class ModuleObject(BaseModel):
    uid: str | None
    module_name: str
    semantic_version: str
    capabilities: list[str]


BDB_FIELDS: frozenset[str] = frozenset(BdbObject.model_fields)
