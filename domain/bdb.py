"""The bdb aggregate: the action-status slice of a Redis Software database object.

Instances are immutable. A change is a new instance with `revision` one higher, so a
repository can store it with a compare-and-set on the revision it was derived from and
no concurrent update is ever lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    TypeAdapter,
    field_serializer,
    field_validator,
    model_validator,
)

from .family import LIFECYCLES
from .locations import ExportLocation, for_storage
from .statuses import (
    BackupStatus,
    BdbStatus,
    ExportFailureReason,
    ExportStatus,
    ImportFailureReasonValue,
    ImportStatus,
)

MAX_UID = 2**63 - 1
"""Uids are 64-bit signed integers on the wire; anything larger cannot name a database."""


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

MAX_DETAIL = 1000
"""A failure detail is a line for people; longer ones are cut (`moves.fail`)."""
FailureDetail = Annotated[str, Field(max_length=MAX_DETAIL)]

MAX_BACKUP_INTERVAL = 366 * 86400
"""The longest `backup_interval`, in seconds: a year (366 days). Redis Software offers
intervals from an hour to a day; ours go from 1 s (tests, demos) to this bound, beyond
which a schedule's arithmetic on dates would overflow (docs/backups.md)."""


class ModuleRef(BaseModel):
    """A module loaded in a database, as it appears in the bdb's `module_list`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module_name: str = Field(min_length=1)
    module_id: str | None = None
    semantic_version: str | None = None
    module_args: str | None = None


class Endpoint(BaseModel):
    """Where a database's data is served, as in Redis Software's `endpoints` list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    addr: tuple[str, ...] = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    dns_name: str | None = None


class Bdb(BaseModel):
    """A database as far as its export, import and backup lifecycles are concerned.

    The validator holds the invariants every stored bdb obeys, so a record that breaks
    them cannot be built from outside data (a bootstrap file, a corrupted store). The
    lifecycle moves derive new states with `model_copy`, which skips validation: their
    transitions preserve the invariants by construction.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: int = Field(ge=1, le=MAX_UID)
    name: str = Field(min_length=1, max_length=256)
    status: BdbStatus = BdbStatus.ACTIVE
    module_list: tuple[ModuleRef, ...] = ()
    export_status: ExportStatus = ExportStatus.IDLE
    export_progress: int = Field(default=0, ge=0, le=100)
    export_failure_reason: ExportFailureReason | None = None
    export_failure_detail: FailureDetail | None = None
    """Ours, not Redis Software's: what the worker said about the last failure (e.g. "no
    data endpoint"), so people see why, not just the enum. Cleared by start and reset."""
    last_export_time: UtcDatetime | None = None
    import_status: ImportStatus = ImportStatus.IDLE
    import_progress: int = Field(default=0, ge=0, le=100)
    import_failure_reason: ImportFailureReasonValue | None = None
    import_failure_detail: FailureDetail | None = None
    backup_status: BackupStatus = BackupStatus.IDLE
    backup_progress: int = Field(default=0, ge=0, le=100)
    backup_failure_reason: ExportFailureReason | None = None
    backup_failure_detail: FailureDetail | None = None
    last_backup_time: UtcDatetime | None = None
    backup: bool = False
    """Periodic backups are enabled (Redis Software's `backup`); the scheduler reads
    `backup_interval`, `backup_interval_offset` and `backup_location`."""
    backup_interval: int | None = Field(default=None, ge=1, le=MAX_BACKUP_INTERVAL)
    """Seconds between periodic backups."""
    backup_interval_offset: int | None = Field(default=None, ge=0, lt=MAX_BACKUP_INTERVAL)
    """Seconds after each interval's start at which its backup is due: below the
    interval (checked with it, in `_backup_settings_agree`)."""
    backup_location: ExportLocation | None = None
    """Where backups go, periodic and on demand; its credentials stay in the store
    (masked on the wire, as every `SecretStr`)."""
    action_uid: str | None = Field(default=None, min_length=1)
    # The mypy plugin cannot type a constructor keyword of a field with alias choices;
    # both names validate at run time, and code passes the field's own name.
    action_lease_expires: UtcDatetime | None = Field(  # type: ignore[pydantic-alias]
        default=None,
        # Stores written before the family existed call it `export_lease_expires`.
        validation_alias=AliasChoices("action_lease_expires", "export_lease_expires"),
    )
    """While an action runs: when it counts as abandoned unless its worker renews it."""
    endpoints: tuple[Endpoint, ...] = ()
    authentication_redis_pass: SecretStr | None = None
    revision: int = Field(default=0, ge=0)

    @field_serializer("authentication_redis_pass", when_used="always")
    def _reveal_only_to_stores(
        self, value: SecretStr | None, info: SerializationInfo
    ) -> str | None:
        # Stores pass context={"reveal_secrets": True} to keep the real password;
        # every other dump sees it masked.
        if value is None:
            return None
        if isinstance(info.context, dict) and info.context.get("reveal_secrets"):
            return value.get_secret_value()
        return "**********"

    @field_validator("backup_location")
    @classmethod
    def _no_customer_key_kept(cls, value: ExportLocation | None) -> ExportLocation | None:
        for_storage(value)
        return value

    @field_serializer("backup_location", when_used="always")
    def _location_secrets_only_to_stores(
        self, value: BaseModel | None, info: SerializationInfo
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        if isinstance(info.context, dict) and info.context.get("reveal_secrets"):
            return {
                name: item.get_secret_value() if isinstance(item, SecretStr) else item
                for name, item in value
            }
        dumped: dict[str, Any] = value.model_dump(mode="json")
        return dumped

    @model_validator(mode="after")
    def _status_fields_agree(self) -> Self:
        # Runs on every load from a store: plain attribute reads over a table compiled
        # from the lifecycles once (`_STATUS_FIELDS`).
        running = []
        for kind, status_field, reason_field, failed, running_statuses in _STATUS_FIELDS:
            status = getattr(self, status_field)
            if (status is failed) != (getattr(self, reason_field) is not None):
                raise ValueError(
                    f"{kind}_failure_reason must be set exactly when {kind}_status is failed"
                )
            if status in running_statuses:
                running.append(kind)
        if len(running) > 1:
            raise ValueError(f"only one action runs at a time, not {' and '.join(running)}")
        if running and self.action_uid is None:
            raise ValueError(f"a database running an {running[0]} must carry its action_uid")
        if self.action_lease_expires is not None and not running:
            raise ValueError("only a database running an action holds an action lease")
        return self

    @model_validator(mode="after")
    def _backup_settings_agree(self) -> Self:
        # Redis Software asks for an offset below the interval; a larger one would name
        # the same moments, but refusing it keeps what is stored what is meant.
        interval, offset = self.backup_interval, self.backup_interval_offset
        if interval is not None and offset is not None and offset >= interval:
            raise ValueError(
                f"backup_interval_offset ({offset}) must be below backup_interval ({interval})"
            )
        return self

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(module.module_name for module in self.module_list)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Redis Software clients read: no revision or lease (they are
        ours) and no data password (Redis Software never returns it either)."""
        return self.model_dump(mode="json", exclude=_NOT_ON_THE_WIRE)

    def to_wire_json(self) -> bytes:
        """`to_wire()` encoded, in one step: what a JSON API sends."""
        return _WIRE_JSON.dump_json(self, exclude=_NOT_ON_THE_WIRE)

    def to_storage_json(self) -> str:
        """Everything, secrets included: only for stores."""
        return self.model_dump_json(context=_REVEAL)


_STATUS_FIELDS = tuple(
    (lc.name, lc.status_field, lc.reason_field, lc.failed, lc.running) for lc in LIFECYCLES.values()
)
"""Each lifecycle's name, wire fields, failed status and running statuses."""

_NOT_ON_THE_WIRE: set[str] = {"revision", "authentication_redis_pass", "action_lease_expires"}
_REVEAL = {"reveal_secrets": True}
_WIRE_JSON: TypeAdapter[Bdb] = TypeAdapter(Bdb)
"""Encodes a bdb straight to JSON bytes (`to_wire_json`), as fast as the model's own
serializer and through pydantic's public API."""
