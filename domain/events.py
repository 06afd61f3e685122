"""Domain events: one for every change and every refusal, named in the past tense.

They are slotted dataclasses carrying who, which bdb, what and when; `to_record()` gives
the flat JSON-ready form audit logs write. No event carries a secret. They are values:
nobody changes one after it is published. They are not `frozen` because a frozen
dataclass costs three times as much to build, on the path every request takes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from .statuses import ExportFailureReason, ExportStatus

WORKER_ACTOR = "export-worker"
"""The actor recorded for reports that come from an export worker, not a principal."""


@dataclass(slots=True, kw_only=True)
class DomainEvent:
    """Something that happened to one bdb, or was refused for it."""

    outcome: ClassVar[str] = "accepted"

    actor: str
    uid: int | None
    at: datetime
    revision: int | None = None
    """For a change, the bdb's revision it produced (None when nothing was stored); for a
    refusal, the revision of the bdb it was decided on (None when there was none)."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"event": type(self).__name__, "outcome": self.outcome}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Enum):
                value = value._value_
            record[name] = value
        return record


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type[DomainEvent]) -> tuple[str, ...]:
    # Computed once per event class: an audit log serialises one event per request.
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(field.name for field in fields(kind))
    return names


@dataclass(slots=True, kw_only=True)
class ExportStarted(DomainEvent):
    action_uid: str
    previous_status: ExportStatus
    location_type: str


@dataclass(slots=True, kw_only=True)
class ExportProgressed(DomainEvent):
    action_uid: str
    progress: int


@dataclass(slots=True, kw_only=True)
class ExportLeaseRenewed(DomainEvent):
    """A running export's worker proved it is alive; the lease runs until `until`."""

    action_uid: str
    until: datetime


@dataclass(slots=True, kw_only=True)
class ExportSucceeded(DomainEvent):
    action_uid: str


@dataclass(slots=True, kw_only=True)
class ExportFailed(DomainEvent):
    action_uid: str
    reason: ExportFailureReason
    detail: str = ""


@dataclass(slots=True, kw_only=True)
class ExportNotificationSent(DomainEvent):
    """The end of an export was announced, as its `email_notification` asked."""

    action_uid: str
    subject: str


@dataclass(slots=True, kw_only=True)
class ExportNotificationNotSent(DomainEvent):
    """An announcement was asked for and could not be sent; `detail` says why."""

    outcome: ClassVar[str] = "failed"

    action_uid: str
    detail: str


@dataclass(slots=True, kw_only=True)
class ExportStatusReset(DomainEvent):
    """A reset was accepted; `changed` is False when the export was already idle."""

    previous_status: ExportStatus
    cleared_reason: ExportFailureReason | None
    changed: bool


@dataclass(slots=True, kw_only=True)
class ActionRefused(DomainEvent):
    """A request was refused; `error_code` is the refusal's stable code."""

    outcome: ClassVar[str] = "refused"

    action: str
    error_code: str
    description: str
