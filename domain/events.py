"""Domain events: one for every change and every refusal, named in the past tense.

They are slotted dataclasses carrying who, which bdb, what and when; `to_record()` gives
the flat JSON-ready form audit logs write. No event carries a secret. They are values:
nobody changes one after it is published (not `frozen` only because a frozen
dataclass costs three times as much to build, on the path every request takes).

Events of the family's lifecycles are one class per kind of change with the
lifecycle's `kind` as a field; their `name` reads as before the family existed
(`ExportStarted`, `ImportFailed`, `BackupStatusReset`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from .action_kind import ActionKind

WORKER_ACTOR = "export-worker"
"""The actor recorded for reports that come from a worker, not a principal."""

LEASE_EXPIRY_ACTOR = "lease-expiry"
"""The actor recorded when an abandoned action is failed because its lease ran out."""


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
        record: dict[str, Any] = {"event": self.name, "outcome": self.outcome}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Enum):
                value = value.value
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
class LifecycleEvent(DomainEvent):
    """An event of one member of the family; `kind` says which."""

    suffix: ClassVar[str] = ""

    kind: ActionKind = ActionKind.EXPORT
    action_uid: str | None = None

    @property
    def name(self) -> str:
        # `kind` is a StrEnum member, so it is its string: no `.value` (a Python-level
        # descriptor on 3.11) on the path of every event.
        return self.kind.capitalize() + self.suffix


@dataclass(slots=True, kw_only=True)
class ActionStarted(LifecycleEvent):
    suffix: ClassVar[str] = "Started"

    previous_status: str
    location_type: str


@dataclass(slots=True, kw_only=True)
class ActionProgressed(LifecycleEvent):
    suffix: ClassVar[str] = "Progressed"

    progress: int


@dataclass(slots=True, kw_only=True)
class ActionLeaseRenewed(LifecycleEvent):
    """A running action's worker proved it is alive; the lease runs until `until`."""

    suffix: ClassVar[str] = "LeaseRenewed"

    until: datetime


@dataclass(slots=True, kw_only=True)
class ActionSucceeded(LifecycleEvent):
    suffix: ClassVar[str] = "Succeeded"

    email_notification: bool = False
    """The starter asked to be told how it ended (handlers send the message)."""
    size_bytes: int | None = None
    """Bytes the worker moved (written by an export or backup, read by an import), as
    its exporter or importer reported them; None when it could not tell. The metrics
    count it; nothing in the lifecycle depends on it."""


@dataclass(slots=True, kw_only=True)
class ActionFailed(LifecycleEvent):
    suffix: ClassVar[str] = "Failed"

    reason: str
    detail: str = ""
    email_notification: bool = False


@dataclass(slots=True, kw_only=True)
class ActionCancelled(LifecycleEvent):
    """A principal cancelled the running action; the member's status is `failed`
    (`reason`, with `cancelled by <actor>` as its detail)."""

    suffix: ClassVar[str] = "Cancelled"

    reason: str
    email_notification: bool = False


@dataclass(slots=True, kw_only=True)
class StatusReset(LifecycleEvent):
    """A reset was accepted; `changed` is False when the status was already idle."""

    suffix: ClassVar[str] = "StatusReset"

    previous_status: str
    cleared_reason: str | None
    changed: bool


@dataclass(slots=True, kw_only=True)
class NotificationSent(LifecycleEvent):
    """The end of an action was announced, as its `email_notification` asked."""

    suffix: ClassVar[str] = "NotificationSent"

    subject: str


@dataclass(slots=True, kw_only=True)
class NotificationNotSent(LifecycleEvent):
    """An announcement was asked for and could not be sent; `detail` says why."""

    outcome: ClassVar[str] = "failed"
    suffix: ClassVar[str] = "NotificationNotSent"

    detail: str


@dataclass(slots=True, kw_only=True)
class ActionRefused(DomainEvent):
    """A request was refused; `error_code` is the refusal's stable code."""

    outcome: ClassVar[str] = "refused"

    action: str
    error_code: str
    description: str
