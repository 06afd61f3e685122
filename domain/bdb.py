"""The bdb aggregate: the export-related slice of a Redis Software database object.

Instances are immutable. A change is a new instance with `revision` one higher, so a
repository can store it with a compare-and-set on the revision it was derived from and
no concurrent update is ever lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
    model_validator,
)

from .statuses import BdbStatus, ExportFailureReason, ExportStatus

MAX_UID = 2**63 - 1
"""Uids are 64-bit signed integers on the wire; anything larger cannot name a database."""


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


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
    """A database as far as its export lifecycle is concerned.

    The validator holds the invariants every stored bdb obeys, so a record that breaks
    them cannot be built from outside data (a bootstrap file, a corrupted store). The
    lifecycle itself derives new states with `model_copy`, which skips validation: its
    transitions preserve the invariants by construction and the hot path stays cheap.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: int = Field(ge=1, le=MAX_UID)
    name: str = Field(min_length=1, max_length=256)
    status: BdbStatus = BdbStatus.ACTIVE
    module_list: tuple[ModuleRef, ...] = ()
    export_status: ExportStatus = ExportStatus.IDLE
    export_progress: int = Field(default=0, ge=0, le=100)
    export_failure_reason: ExportFailureReason | None = None
    last_export_time: UtcDatetime | None = None
    action_uid: str | None = Field(default=None, min_length=1)
    export_lease_expires: UtcDatetime | None = None
    """While exporting: when the export counts as abandoned unless its worker renews it."""
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

    @model_validator(mode="after")
    def _export_fields_agree(self) -> Self:
        failed = self.export_status is ExportStatus.FAILED
        if failed != (self.export_failure_reason is not None):
            raise ValueError(
                "export_failure_reason must be set exactly when export_status is failed"
            )
        if self.export_status is ExportStatus.EXPORTING and self.action_uid is None:
            raise ValueError("an exporting database must carry the export's action_uid")
        if (
            self.export_lease_expires is not None
            and self.export_status is not ExportStatus.EXPORTING
        ):
            raise ValueError("only an exporting database holds an export lease")
        return self

    def evolve(self, **changes: Any) -> Bdb:
        """A copy with `changes`, skipping validation: for the lifecycle's moves, which
        keep every invariant by construction. Same result as `model_copy(update=...)`
        at about half the cost, on the path every request takes."""
        state = self.__dict__.copy()
        state.update(changes)
        successor = object.__new__(Bdb)
        object.__setattr__(successor, "__dict__", state)
        object.__setattr__(
            successor, "__pydantic_fields_set__", self.__pydantic_fields_set__ | changes.keys()
        )
        object.__setattr__(successor, "__pydantic_extra__", None)
        object.__setattr__(successor, "__pydantic_private__", None)
        return successor

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(module.module_name for module in self.module_list)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Redis Software clients read: no revision or lease (they are
        ours) and no data password (Redis Software never returns it either)."""
        return self.model_dump(mode="json", exclude=_NOT_ON_THE_WIRE)

    def to_wire_json(self) -> bytes:
        """`to_wire()` encoded, in one step: what a JSON API sends."""
        return self.__pydantic_serializer__.to_json(self, exclude=_NOT_ON_THE_WIRE)

    def to_storage_json(self) -> str:
        """Everything, secrets included: only for stores."""
        return self.model_dump_json(context=_REVEAL)


_NOT_ON_THE_WIRE: set[str] = {"revision", "authentication_redis_pass", "export_lease_expires"}
_REVEAL = {"reveal_secrets": True}
