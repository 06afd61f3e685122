"""Each move's effect on the bdb, and the guards that refuse it, for every member of
the family."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bdbexport.domain import (
    BACKUP,
    EXPORT,
    IMPORT,
    LIFECYCLES,
    ActionMismatchError,
    Bdb,
    ExportFailureReason,
    ExportStatus,
    ImportFailureReason,
    ImportStatus,
    InvalidFailureReasonError,
    InvalidProgressError,
    InvalidTransitionError,
    Lifecycle,
    moves,
)

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)
FAMILY = list(LIFECYCLES.values())


def running(lifecycle: Lifecycle = EXPORT, progress: int = 10, **extra: Any) -> Bdb:
    status = next(iter(sorted(lifecycle.running, key=str)))
    if lifecycle is IMPORT:
        status = ImportStatus.IMPORTING
    return Bdb.model_validate(
        {
            "uid": 1,
            "name": "db",
            lifecycle.status_field: status,
            lifecycle.progress_field: progress,
            "action_uid": "a-1",
            "revision": 4,
            **extra,
        }
    )


def failed(lifecycle: Lifecycle, **extra: Any) -> Bdb:
    return Bdb.model_validate(
        {
            "uid": 1,
            "name": "db",
            lifecycle.status_field: lifecycle.failed,
            lifecycle.reason_field: "general-error",
            lifecycle.progress_field: 30,
            **extra,
        }
    )


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_start_claims_the_bdb_and_clears_the_last_failure(lifecycle: Lifecycle) -> None:
    before = failed(lifecycle)
    started = moves.start(lifecycle, before, "a-1", NOON + TTL)
    assert lifecycle.is_running(started)
    assert lifecycle.progress_of(started) == 0
    assert lifecycle.reason_of(started) is None
    assert started.action_uid == "a-1"
    assert started.action_lease_expires == NOON + TTL
    assert started.revision == before.revision + 1


def test_an_import_starts_initializing_and_imports_once_progress_is_reported() -> None:
    started = moves.start(IMPORT, Bdb(uid=1, name="db"), "a-1", NOON + TTL)
    assert started.import_status is ImportStatus.INITIALIZING
    beat = moves.report_progress(IMPORT, started, "a-1", None, NOON + TTL / 2 + TTL, TTL)
    assert beat is not None
    assert beat.import_status is ImportStatus.INITIALIZING
    loading = moves.report_progress(IMPORT, started, "a-1", 5, NOON, TTL)
    assert loading is not None
    assert loading.import_status is ImportStatus.IMPORTING


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_start_while_running_is_an_invalid_transition(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransitionError):
        moves.start(lifecycle, running(lifecycle), "a-2", NOON)


def test_progress_moves_forward_only_and_renews_the_lease() -> None:
    advanced = moves.report_progress(EXPORT, running(progress=10), "a-1", 55, NOON, TTL)
    assert advanced is not None
    assert advanced.export_progress == 55
    assert advanced.revision == 5
    assert advanced.action_lease_expires == NOON + TTL
    with pytest.raises(InvalidProgressError):
        moves.report_progress(EXPORT, running(progress=10), "a-1", 9, NOON, TTL)
    with pytest.raises(InvalidProgressError):
        moves.report_progress(EXPORT, running(progress=10), "a-1", 101, NOON, TTL)


def test_repeating_the_same_progress_on_a_fresh_lease_changes_nothing() -> None:
    fresh = running(progress=10, action_lease_expires=NOON + TTL)
    assert moves.report_progress(EXPORT, fresh, "a-1", 10, NOON, TTL) is None
    assert moves.report_progress(EXPORT, fresh, "a-1", None, NOON, TTL) is None


def test_a_heartbeat_on_an_old_lease_renews_it_and_keeps_the_progress() -> None:
    old = running(progress=10, action_lease_expires=NOON + TTL / 4)
    renewed = moves.report_progress(EXPORT, old, "a-1", None, NOON, TTL)
    assert renewed is not None
    assert (renewed.export_progress, renewed.action_lease_expires) == (10, NOON + TTL)


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_reports_from_another_action_are_refused(lifecycle: Lifecycle) -> None:
    with pytest.raises(ActionMismatchError):
        moves.report_progress(lifecycle, running(lifecycle), "stale", 50, NOON, TTL)
    with pytest.raises(ActionMismatchError):
        moves.succeed(lifecycle, running(lifecycle), "stale", NOON)
    with pytest.raises(ActionMismatchError):
        moves.fail(lifecycle, running(lifecycle), "stale", "general-error")


@pytest.mark.parametrize("lifecycle", [EXPORT, BACKUP], ids=str)
def test_succeed_records_time_and_releases_the_action(lifecycle: Lifecycle) -> None:
    done = moves.succeed(lifecycle, running(lifecycle), "a-1", NOON)
    assert done.model_dump()[lifecycle.status_field] == lifecycle.succeeded
    assert lifecycle.progress_of(done) == 100
    assert lifecycle.last_time_field is not None
    assert getattr(done, lifecycle.last_time_field) == NOON
    assert done.action_uid is None
    assert done.action_lease_expires is None


def test_fail_records_the_reason_and_keeps_progress() -> None:
    ended = moves.fail(EXPORT, running(progress=70), "a-1", ExportFailureReason.NO_PERMISSION)
    assert ended.export_status is ExportStatus.FAILED
    assert ended.export_failure_reason is ExportFailureReason.NO_PERMISSION
    assert ended.export_progress == 70
    assert ended.action_uid is None


def test_a_failure_reason_must_be_in_the_lifecycles_vocabulary() -> None:
    ended = moves.fail(IMPORT, running(IMPORT), "a-1", "file-corrupted")
    assert ended.import_failure_reason is ImportFailureReason.FILE_CORRUPTED
    with pytest.raises(InvalidFailureReasonError):
        moves.fail(EXPORT, running(EXPORT), "a-1", "file-corrupted")


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_worker_reports_need_a_running_action(lifecycle: Lifecycle) -> None:
    idle = Bdb(uid=1, name="db")
    with pytest.raises(InvalidTransitionError):
        moves.report_progress(lifecycle, idle, "a-1", 5, NOON, TTL)
    with pytest.raises(InvalidTransitionError):
        moves.succeed(lifecycle, idle, "a-1", NOON)
    with pytest.raises(InvalidTransitionError):
        moves.fail(lifecycle, idle, "a-1", "general-error")


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_expiry_fails_only_a_lapsed_lease(lifecycle: Lifecycle) -> None:
    leased = running(lifecycle, action_lease_expires=NOON)
    assert moves.expire(leased, NOON - timedelta(seconds=1)) is None
    expired = moves.expire(leased, NOON)
    assert expired is not None
    which, after = expired
    assert which is lifecycle
    assert lifecycle.status_of(after) is lifecycle.failed
    assert str(lifecycle.reason_of(after)) == "general-error"
    assert (after.action_uid, after.action_lease_expires) == (None, None)
    assert moves.expire(Bdb(uid=1, name="db"), NOON) is None


def test_reset_clears_the_reason_but_keeps_the_last_export_time() -> None:
    before = failed(EXPORT, last_export_time=NOON)
    idle = moves.reset(EXPORT, before)
    assert idle is not None
    assert idle.export_status is ExportStatus.IDLE
    assert idle.export_failure_reason is None
    assert idle.export_progress == 0
    assert idle.last_export_time == NOON
    assert idle.revision == before.revision + 1


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_reset_of_an_idle_status_is_a_no_op(lifecycle: Lifecycle) -> None:
    assert moves.reset(lifecycle, Bdb(uid=1, name="db")) is None


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_reset_while_running_is_an_invalid_transition(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransitionError):
        moves.reset(lifecycle, running(lifecycle))


def test_a_reset_touches_only_its_own_lifecycle() -> None:
    both = Bdb.model_validate(
        {
            "uid": 1,
            "name": "db",
            "export_status": "failed",
            "export_failure_reason": "general-error",
            "import_status": "failed",
            "import_failure_reason": "download-error",
        }
    )
    idle = moves.reset(IMPORT, both)
    assert idle is not None
    assert idle.import_status is ImportStatus.IDLE
    assert idle.export_status is ExportStatus.FAILED


def test_a_failure_keeps_its_detail_until_the_next_start_or_reset() -> None:
    ended = moves.fail(EXPORT, running(), "a-1", "general-error", "no data endpoint")
    assert ended.export_failure_detail == "no data endpoint"
    assert moves.fail(EXPORT, running(), "a-1", "general-error").export_failure_detail is None
    long = moves.fail(EXPORT, running(), "a-1", "general-error", "x" * 5000)
    assert len(long.export_failure_detail or "") == 1000
    restarted = moves.start(EXPORT, ended, "a-2", NOON + TTL)
    assert restarted.export_failure_detail is None
    reset = moves.reset(EXPORT, ended)
    assert reset is not None
    assert reset.export_failure_detail is None


def test_an_expired_lease_says_when_it_ran_out() -> None:
    expired = moves.expire(running(action_lease_expires=NOON), NOON)
    assert expired is not None
    assert expired[1].export_failure_detail == (
        "export lease expired at 2026-06-01T12:00:00+00:00: its worker stopped reporting"
    )
