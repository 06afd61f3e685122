"""The bdb aggregate: the export-related slice of a Redis Software database object.

Instances are immutable. A change is a new instance with `revision` one higher, so a
repository can store it with a compare-and-set on the revision it was derived from and
no concurrent update is ever lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

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
    revision: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _export_fields_agree(self) -> Self:
        failed = self.export_status is ExportStatus.FAILED
        if failed != (self.export_failure_reason is not None):
            raise ValueError(
                "export_failure_reason must be set exactly when export_status is failed"
            )
        if self.export_status is ExportStatus.EXPORTING and self.action_uid is None:
            raise ValueError("an exporting database must carry the export's action_uid")
        return self

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(module.module_name for module in self.module_list)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Redis Software clients read (no revision: it is ours)."""
        return self.model_dump(mode="json", exclude={"revision"})
