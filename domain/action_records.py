"""Action records: what the Actions API answers about every export, import and backup.

A bdb carries only the action running on it now; clients that started one follow it by
its `action_uid` (`GET /v1/actions/{uid}`) until it ends, and may look after it has.
So each action also has a record, kept in the store (the `ActionLog` port) so every
replica answers the same. Records are derived from the lifecycle events the shells
commit — started, progressed, lease renewed, succeeded, failed (by the worker or by
lease expiry), cancelled — by `updated_record`, a pure function; the shells write the
result. A finished record never changes again (stores refuse to overwrite one), so a
late report can never turn `cancelled` back into `running`.

Status words are Redis Software's action vocabulary: `queued` from the start until its
worker picks it up, `starting` while the worker waits for its source (an export: for
Redis to start the snapshot, which may take its `repl-diskless-sync-delay`; an import:
for the file), `running` from the first percent, then `completed`, `failed` or
`cancelled`. (`cancelling` exists in the vocabulary; this server never needs it: a
cancel is decided at once.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .events import (
    ActionCancelled,
    ActionFailed,
    ActionLeaseRenewed,
    ActionProgressed,
    ActionStarted,
    ActionSucceeded,
    DomainEvent,
    LifecycleEvent,
)


class ActionStatus(StrEnum):
    """An action's status, in Redis Software's words."""

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED: Final = frozenset({ActionStatus.COMPLETED, ActionStatus.FAILED, ActionStatus.CANCELLED})
"""The terminal statuses: clients stop polling at these, stores never change them."""

_NOT_YET_RUNNING: Final = frozenset({ActionStatus.QUEUED, ActionStatus.STARTING})

DEFAULT_KEEP_COUNT: Final = 1000
"""Finished records kept at most (the oldest finished ones go first)."""
DEFAULT_KEEP_AGE: Final = timedelta(days=7)
"""Finished records older than this (by start time) are removed."""


class ActionRecord(BaseModel):
    """One action of the family, as the store keeps it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action_uid: str = Field(min_length=1)
    name: str
    """The member: `export`, `import` or `backup`."""
    bdb_uid: int = Field(ge=1)
    status: ActionStatus
    progress: int = Field(default=0, ge=0, le=100)
    start_time: AwareDatetime
    end_time: AwareDatetime | None = None
    error: str | None = None
    """On failure (or cancel): the reason, and what the worker said, e.g.
    `general-error: cancelled by admin@example.com`."""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def object_name(self) -> str:
        return f"bdb:{self.bdb_uid}"

    def to_wire(self) -> dict[str, Any]:
        """The action object Redis Software clients read. `progress` is a string, as the
        real server sends it (one widely used client decodes nothing else)."""
        wire: dict[str, Any] = {
            "action_uid": self.action_uid,
            "name": self.name,
            "status": self.status.value,
            "progress": str(self.progress),
            "object_name": self.object_name,
            "start_time": _wire_time(self.start_time),
        }
        if self.end_time is not None:
            wire["end_time"] = _wire_time(self.end_time)
        if self.error is not None:
            wire["error"] = self.error
        return wire


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _error_text(reason: str, detail: str) -> str:
    return f"{reason}: {detail}" if detail else reason


def updated_record(previous: ActionRecord | None, event: DomainEvent) -> ActionRecord | None:
    """The record after `event`, or None when the event changes no record (it is not
    about an action, the record has finished, or nothing it shows changed)."""
    if not isinstance(event, LifecycleEvent) or event.action_uid is None or event.uid is None:
        return None
    if previous is not None and previous.finished:
        return None
    changes: dict[str, Any]
    if isinstance(event, ActionStarted):
        changes = {"status": ActionStatus.QUEUED, "progress": 0}
    elif isinstance(event, ActionProgressed | ActionLeaseRenewed):
        # A worker alive but with no percent yet is still starting: for an export,
        # waiting for Redis to start the snapshot; for an import, fetching the file.
        waiting = previous is None or previous.status in _NOT_YET_RUNNING
        progress = event.progress if isinstance(event, ActionProgressed) else 0
        status = ActionStatus.STARTING if waiting and not progress else ActionStatus.RUNNING
        changes = {"status": status}
        if isinstance(event, ActionProgressed):
            changes["progress"] = event.progress
    elif isinstance(event, ActionSucceeded):
        changes = {"status": ActionStatus.COMPLETED, "progress": 100, "end_time": event.at}
    elif isinstance(event, ActionCancelled):
        changes = {
            "status": ActionStatus.CANCELLED,
            "end_time": event.at,
            "error": _error_text(event.reason, f"cancelled by {event.actor}"),
        }
    elif isinstance(event, ActionFailed):
        changes = {
            "status": ActionStatus.FAILED,
            "end_time": event.at,
            "error": _error_text(event.reason, event.detail),
        }
    else:
        return None
    if previous is None:
        return ActionRecord(
            action_uid=event.action_uid,
            name=event.kind.value,
            bdb_uid=event.uid,
            start_time=event.at,
            **changes,
        )
    if all(getattr(previous, name) == value for name, value in changes.items()):
        return None
    return previous.model_copy(update=changes)
