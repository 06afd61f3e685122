"""What each lifecycle trigger does to a bdb: pure functions from a bdb to its successor.

Each move asks `lifecycle` whether the status may change that way, checks the
guards that depend on the request, and returns a new bdb with `revision` one higher.
Nothing is stored or published here, so a refused move leaves nothing half-done:
the use cases commit the returned bdb with a compare-and-set, or not at all.
"""

from __future__ import annotations

from datetime import datetime

from .bdb import Bdb
from .errors import ActionMismatchError, InvalidProgressError, InvalidTransitionError
from .lifecycle import Trigger, next_status
from .statuses import ExportFailureReason, ExportStatus

# Enum members as module constants: in Python 3.11 `Enum.MEMBER` is a Python-level
# lookup (about 0.2 µs), paid on every request where these are used.
_T_START = Trigger.START
_T_PROGRESS = Trigger.PROGRESS
_T_FAIL = Trigger.FAIL
_T_SUCCEED = Trigger.SUCCEED
_T_RESET = Trigger.RESET
_EXPORTING = ExportStatus.EXPORTING
_GENERAL_ERROR = ExportFailureReason.GENERAL_ERROR


def _advance(bdb: Bdb, trigger: Trigger) -> ExportStatus:
    status = next_status(bdb.export_status, trigger)
    if status is None:
        raise InvalidTransitionError(bdb.uid, trigger.value, bdb.export_status.value)
    return status


def _require_current_action(bdb: Bdb, action_uid: str) -> None:
    if bdb.action_uid != action_uid:
        raise ActionMismatchError(bdb.uid, action_uid, bdb.action_uid)


def start(bdb: Bdb, action_uid: str, lease_until: datetime | None = None) -> Bdb:
    """Begin an export owned by `action_uid`: progress 0, no failure reason, and a
    lease its worker must renew before `lease_until`."""
    status = _advance(bdb, _T_START)
    return bdb.evolve(
        export_status=status,
        export_progress=0,
        export_failure_reason=None,
        action_uid=action_uid,
        export_lease_expires=lease_until,
        revision=bdb.revision + 1,
    )


def record_progress(
    bdb: Bdb,
    action_uid: str,
    progress: int | None,
    lease_until: datetime | None = None,
    renew_before: datetime | None = None,
) -> Bdb | None:
    """Move progress forward and renew the lease to `lease_until`; `progress` None is a
    heartbeat, which keeps the progress as stored at the moment of the write.

    A report that changes nothing (same progress, and a lease still valid past
    `renew_before`) returns None: there is nothing to store, so heartbeats cost a write
    only every so often.
    """
    _advance(bdb, _T_PROGRESS)
    _require_current_action(bdb, action_uid)
    if progress is None:
        progress = bdb.export_progress
    if not bdb.export_progress <= progress <= 100:
        raise InvalidProgressError(bdb.uid, progress, bdb.export_progress)
    lease_is_fresh = (
        lease_until is None
        or renew_before is None
        or (bdb.export_lease_expires is not None and bdb.export_lease_expires >= renew_before)
    )
    if progress == bdb.export_progress and lease_is_fresh:
        return None
    update: dict[str, object] = {"export_progress": progress, "revision": bdb.revision + 1}
    if lease_until is not None:
        update["export_lease_expires"] = lease_until
    return bdb.evolve(**update)


def lease_expired(bdb: Bdb, now: datetime) -> bool:
    """Whether a running export's worker has stopped renewing its lease in time."""
    return (
        bdb.export_status is _EXPORTING
        and bdb.export_lease_expires is not None
        and bdb.export_lease_expires <= now
    )


def expire(bdb: Bdb) -> Bdb:
    """Fail an export whose lease expired: its worker is gone, and an export that stays
    `exporting` forever would block every reset."""
    status = _advance(bdb, _T_FAIL)
    return bdb.evolve(
        export_status=status,
        export_failure_reason=_GENERAL_ERROR,
        action_uid=None,
        export_lease_expires=None,
        revision=bdb.revision + 1,
    )


def succeed(bdb: Bdb, action_uid: str, finished_at: datetime) -> Bdb:
    """Finish the export: progress 100, time recorded, the action released."""
    status = _advance(bdb, _T_SUCCEED)
    _require_current_action(bdb, action_uid)
    return bdb.evolve(
        export_status=status,
        export_progress=100,
        last_export_time=finished_at,
        action_uid=None,
        export_lease_expires=None,
        revision=bdb.revision + 1,
    )


def fail(bdb: Bdb, action_uid: str, reason: ExportFailureReason) -> Bdb:
    """End the export in failure: the reason kept, progress as it was, action released."""
    status = _advance(bdb, _T_FAIL)
    _require_current_action(bdb, action_uid)
    return bdb.evolve(
        export_status=status,
        export_failure_reason=reason,
        action_uid=None,
        export_lease_expires=None,
        revision=bdb.revision + 1,
    )


def reset(bdb: Bdb) -> Bdb | None:
    """Back to idle, reason cleared, `last_export_time` kept; None when already idle.

    Progress returns to 0: idle means no export, so a lingering 100 would mislead.
    """
    status = _advance(bdb, _T_RESET)
    if status is bdb.export_status:
        return None
    return bdb.evolve(
        export_status=status,
        export_progress=0,
        export_failure_reason=None,
        revision=bdb.revision + 1,
    )
