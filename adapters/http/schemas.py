"""Request and response bodies, as pydantic models: validation and the OpenAPI document
come from the same definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from bdbexport.domain.action_records import ActionStatus
from bdbexport.domain.bdb import MAX_UID, Endpoint, ModuleRef
from bdbexport.domain.locations import (
    FTP_URL_PATTERN,
    SFTP_URL_PATTERN,
    ExportLocation,
    for_storage,
)
from bdbexport.domain.statuses import (
    BackupStatus,
    BdbStatus,
    ExportFailureReason,
    ExportStatus,
    ImportFailureReasonValue,
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


def location_from_string(value: Any) -> Any:
    """`import_location` as a string, the form one widely used client sends: an
    `ftp://`/`ftps://` URL is a `url` location, an `sftp://` URL an `sftp` one, an
    absolute path a `mount_point` file; anything else is left for validation to refuse."""
    if not isinstance(value, str):
        return value
    if value.startswith(("ftp://", "ftps://")):
        return {"type": "url", "url": value}
    if value.startswith("sftp://"):
        return {"type": "sftp", "sftp_url": value}
    if value.startswith("/"):
        return {"type": "mount_point", "path": value}
    raise ValueError(
        "a string import_location must be an ftp://, ftps:// or sftp:// URL or an absolute path"
    )


_IMPORT_LOCATION_STRING = {
    "type": "string",
    "anyOf": [
        {"pattern": FTP_URL_PATTERN},
        {"pattern": SFTP_URL_PATTERN},
        {"pattern": "^/"},
    ],
}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A property schema without pydantic's `null` alternative (absent is the default,
    null is not accepted)."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if not options:
        return schema
    rest = {key: value for key, value in schema.items() if key not in {"anyOf", "default"}}
    return {**options[0], **rest} if len(options) == 1 else {**rest, "anyOf": options}


def _document_import_forms(schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    for name in ("dataset_import_sources", "import_location", "flush"):
        properties[name] = _not_null(properties[name])
    location = schema["properties"]["import_location"]
    schema["properties"]["import_location"] = {
        "anyOf": [*location.get("anyOf", [location]), _IMPORT_LOCATION_STRING],
        "description": "The file to import: a location object, or a URL or an absolute path.",
    }
    # Exactly one of the two forms.
    schema["oneOf"] = [{"required": ["dataset_import_sources"]}, {"required": ["import_location"]}]


class ImportRequest(BaseModel):
    """`POST /v1/bdbs/{uid}/actions/import`, in either form:

    - Redis Software's: `dataset_import_sources` (a list of location objects; one here,
      a bdb has one shard) and `email_notification`. Redis Software replaces the data
      with the file's, so this form flushes unless `flush` is false.
    - The form one widely used client sends: `import_location` (an object, or a string:
      an ftp/ftps/sftp URL or an absolute path) and `flush` (default false: the file's
      keys are added to the data).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_import_forms)

    dataset_import_sources: list[ExportLocation] | None = Field(
        default=None, min_length=1, max_length=1
    )
    import_location: ExportLocation | None = None
    email_notification: bool = Field(default=False, strict=True)
    flush: bool | None = Field(default=None, strict=True)

    @field_validator("import_location", mode="before")
    @classmethod
    def _string_form(cls, value: Any) -> Any:
        return location_from_string(value)

    @field_validator("dataset_import_sources", "import_location", "flush", mode="before")
    @classmethod
    def _absent_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("give a value or leave the field out (null is not accepted)")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> ImportRequest:
        if (self.dataset_import_sources is None) == (self.import_location is None):
            raise ValueError("give exactly one of dataset_import_sources and import_location")
        return self

    @property
    def source(self) -> ExportLocation:
        if self.dataset_import_sources is not None:
            return self.dataset_import_sources[0]
        assert self.import_location is not None
        return self.import_location

    @property
    def replaces_data(self) -> bool:
        """`flush` when given; else the Redis Software form replaces, the other adds."""
        if self.flush is not None:
            return self.flush
        return self.dataset_import_sources is not None


def _document_no_customer_key(schema: dict[str, Any]) -> None:
    # What `for_storage` refuses, in the published schema: an SSE-C `encryption` object.
    encrypted = {"required": ["encryption"], "properties": {"encryption": {"type": "object"}}}
    schema["not"] = {
        "required": ["backup_location"],
        "properties": {"backup_location": encrypted},
    }


class BackupRequest(BaseModel):
    """`POST /v1/bdbs/{uid}/actions/backup`: clients send `{}` (or nothing), and the
    backup goes to the bdb's `backup_location`; ours also accepts `backup_location` (an
    extension) to back up elsewhere once, and `email_notification`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_no_customer_key)

    backup_location: ExportLocation | None = None
    email_notification: bool = Field(default=False, strict=True)

    @field_validator("backup_location")
    @classmethod
    def _no_customer_key(cls, value: ExportLocation | None) -> ExportLocation | None:
        # A backup is kept: its key would have to be kept to restore it (docs/backups.md).
        for_storage(value)
        return value


class ActionObject(BaseModel):
    """An action, as Redis Software's Actions API returns it."""

    action_uid: str
    name: str = Field(description="export, import or backup.")
    status: ActionStatus
    progress: str = Field(
        pattern="^(100|[1-9]?[0-9])$",
        description="Percent, 0-100, as a string (as the real server sends it).",
    )
    object_name: str = Field(pattern="^bdb:[0-9]+$")
    start_time: datetime
    end_time: datetime | None = Field(default=None, description="Once it has ended.")
    error: str | None = Field(default=None, description="On failure or cancel: why.")
    attempt: int | None = Field(
        default=None,
        description=(
            "Ours: with workers apart from the API, while the action is queued or running,"
            " the attempts begun (docs/workers.md)."
        ),
    )
    last_error: str | None = Field(
        default=None,
        description="Ours: with workers apart, why the previous attempt ended.",
    )


class ActionListV1(BaseModel):
    """`GET /v1/actions`: the actions and Redis Software's `state-machines` (none here)."""

    actions: list[ActionObject]
    state_machines: list[dict[str, Any]] = Field(alias="state-machines")


class CancelledActionObject(ActionObject):
    """What `DELETE /v1/actions/{uid}` answers: the action after the cancel."""


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
    import_failure_reason: ImportFailureReasonValue | None
    import_failure_detail: str | None
    backup_status: BackupStatus
    backup_progress: int = Field(ge=0, le=100)
    backup_failure_reason: ExportFailureReason | None
    backup_failure_detail: str | None
    last_backup_time: datetime | None
    backup: bool
    backup_interval: int | None
    backup_interval_offset: int | None
    backup_location: dict[str, Any] | None = Field(
        description="A location object; its credentials masked."
    )
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
    import_failure_reason: ImportFailureReasonValue | None = None
    import_failure_detail: str | None = None
    backup_status: BackupStatus | None = None
    backup_progress: int | None = None
    backup_failure_reason: ExportFailureReason | None = None
    backup_failure_detail: str | None = None
    last_backup_time: datetime | None = None
    backup: bool | None = None
    backup_interval: int | None = None
    backup_interval_offset: int | None = None
    backup_location: dict[str, Any] | None = None
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


class WorkerObject(BaseModel):
    """A worker as it registered itself (docs/workers.md)."""

    id: str
    host: str
    pid: int
    concurrency: int
    heartbeat: str
    running: list[str]


class QueueObject(BaseModel):
    """The queue the workers share: depth by kind, running, counters since the start."""

    queued: dict[str, int]
    running: int
    counters: dict[str, int]


class WorkersObject(BaseModel):
    """`GET /v1/workers`: `queue` is null on a server that runs actions in-process."""

    workers: list[WorkerObject]
    queue: QueueObject | None


class ModuleObject(BaseModel):
    uid: str | None
    module_name: str
    semantic_version: str
    capabilities: list[str]


BDB_FIELDS: frozenset[str] = frozenset(BdbObject.model_fields)
