"""What each trigger does to a bdb: pure functions from a bdb to its successor.

Each move asks its `Lifecycle` which status follows (the machine's table and its
named guards decide, and refuse), then sets the lifecycle's other fields. The
successor has `revision` one higher. Nothing is stored or published here, so a
refused move leaves nothing half-done: the use cases commit the returned bdb with a
compare-and-set, or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .action_kind import Trigger
from .bdb import MAX_DETAIL, Bdb
from .errors import ActionCompletedError, InvalidFailureReasonError
from .family import running_lifecycle
from .guards import Report
from .lifecycle import Lifecycle

NO_REPORT = Report()
"""What a trigger without guards carries: nothing (a principal's reset)."""


def _successor(bdb: Bdb, changes: dict[str, Any]) -> Bdb:
    changes["revision"] = bdb.revision + 1
    return bdb.model_copy(update=changes)


def start(lifecycle: Lifecycle, bdb: Bdb, action_uid: str, lease_until: datetime) -> Bdb:
    """Begin an action owned by `action_uid`: progress 0, no failure reason, and a
    lease its worker must renew before `lease_until`."""
    status = lifecycle.next_status(bdb, Trigger.START, Report(action_uid=action_uid))
    return _successor(
        bdb,
        {
            lifecycle.status_field: status,
            lifecycle.progress_field: 0,
            lifecycle.reason_field: None,
            lifecycle.detail_field: None,
            "action_uid": action_uid,
            "action_lease_expires": lease_until,
        },
    )


def report_progress(
    lifecycle: Lifecycle,
    bdb: Bdb,
    action_uid: str,
    progress: int | None,
    now: datetime,
    lease_ttl: timedelta,
) -> Bdb | None:
    """Progress of a running action (None: a heartbeat keeping the progress), which
    renews its lease.

    A report that changes neither progress nor status, while the lease still has more
    than half its time left, returns None: nothing to store, so heartbeats cost a write
    only every so often.
    """
    report = Report(action_uid=action_uid, progress=progress, now=now)
    status = lifecycle.next_status(bdb, Trigger.PROGRESS, report)
    current = lifecycle.progress_of(bdb)
    new_progress = current if progress is None else progress
    expires = bdb.action_lease_expires
    lease_is_fresh = expires is not None and expires >= now + lease_ttl / 2
    if new_progress == current and status is lifecycle.status_of(bdb) and lease_is_fresh:
        return None
    return _successor(
        bdb,
        {
            lifecycle.status_field: status,
            lifecycle.progress_field: new_progress,
            "action_lease_expires": now + lease_ttl,
        },
    )


def succeed(lifecycle: Lifecycle, bdb: Bdb, action_uid: str, finished_at: datetime) -> Bdb:
    """Finish the action: progress 100, time recorded (where the lifecycle keeps one),
    the action released."""
    status = lifecycle.next_status(bdb, Trigger.SUCCEED, Report(action_uid=action_uid))
    changes: dict[str, Any] = {
        lifecycle.status_field: status,
        lifecycle.progress_field: 100,
        "action_uid": None,
        "action_lease_expires": None,
    }
    if lifecycle.last_time_field is not None:
        changes[lifecycle.last_time_field] = finished_at
    return _successor(bdb, changes)


def fail(
    lifecycle: Lifecycle, bdb: Bdb, action_uid: str, reason: StrEnum | str, detail: str = ""
) -> Bdb:
    """End the action in failure: the reason and its detail kept, progress as it was,
    action released."""
    status = lifecycle.next_status(bdb, Trigger.FAIL, Report(action_uid=action_uid))
    try:
        known = (lifecycle.parse_reason or lifecycle.reasons)(reason)
    except ValueError:
        raise InvalidFailureReasonError(bdb.uid, str(reason), lifecycle.name) from None
    return _released_as_failed(lifecycle, bdb, status, known, detail)


PUBLISHING = 100
"""The progress a worker reports, once, just before it publishes (the port's
contract, domain/ports.py): the commit gate. Accepted only while the bdb still names
its action (a compare-and-set, so across replicas too); from then on a cancel is
refused."""

CANCELLED_REASON = "general-error"
"""The failure reason a cancelled action leaves on the bdb: every member's vocabulary
has it, and none has a word for "cancelled" (the detail says it: `cancelled by ...`)."""


def cancel(lifecycle: Lifecycle, bdb: Bdb, action_uid: str, actor: str) -> Bdb:
    """End the running action `action_uid` at a principal's request: the member's status
    `failed` with `general-error` and the detail `cancelled by <actor>`, the action
    released. Its worker learns it when its next report is refused, and stops.

    An action that claimed publication (`PUBLISHING`: its worker's last report, made
    just before the file is renamed to its final name or the import's data kept) is
    past the point of no return: the cancel is refused (`action_completed`), so a
    cancel is never acknowledged for a result that gets published."""
    if (
        bdb.action_uid == action_uid
        and lifecycle.is_running(bdb)
        and lifecycle.progress_of(bdb) >= PUBLISHING
    ):
        raise ActionCompletedError(action_uid)
    status = lifecycle.next_status(bdb, Trigger.CANCEL, Report(action_uid=action_uid))
    reason = lifecycle.reasons(CANCELLED_REASON)
    return _released_as_failed(lifecycle, bdb, status, reason, f"cancelled by {actor}")


def expire(bdb: Bdb, now: datetime) -> tuple[Lifecycle, Bdb] | None:
    """Fail the action whose lease ran out by `now` (its worker is gone: an action
    that stays running forever would block every reset), or None when none has."""
    lifecycle = running_lifecycle(bdb)
    if lifecycle is None:
        return None
    report = Report(now=now)
    if (bdb.action_lease_expires is None) or bdb.action_lease_expires > now:
        return None
    status = lifecycle.next_status(bdb, Trigger.EXPIRE, report)
    reason = lifecycle.reasons("general-error")
    assert bdb.action_lease_expires is not None
    detail = (
        f"{lifecycle.name} lease expired at {bdb.action_lease_expires.isoformat()}:"
        " its worker stopped reporting"
    )
    return lifecycle, _released_as_failed(lifecycle, bdb, status, reason, detail)


def _released_as_failed(
    lifecycle: Lifecycle, bdb: Bdb, status: StrEnum, reason: StrEnum | str, detail: str
) -> Bdb:
    return _successor(
        bdb,
        {
            lifecycle.status_field: status,
            lifecycle.reason_field: reason,
            lifecycle.detail_field: detail[:MAX_DETAIL] or None,
            "action_uid": None,
            "action_lease_expires": None,
        },
    )


def reset(lifecycle: Lifecycle, bdb: Bdb) -> Bdb | None:
    """Back to idle, reason cleared, last time kept; None when already idle.

    Progress returns to 0: idle means no action, so a lingering 100 would mislead.
    """
    status = lifecycle.next_status(bdb, Trigger.RESET, NO_REPORT)
    if status is lifecycle.status_of(bdb):
        return None
    return _successor(
        bdb,
        {
            lifecycle.status_field: status,
            lifecycle.progress_field: 0,
            lifecycle.reason_field: None,
            lifecycle.detail_field: None,
        },
    )
