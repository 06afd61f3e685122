"""Each move's effect on the bdb, and the guards that refuse it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bdbexport.domain import (
    ActionMismatchError,
    Bdb,
    ExportFailureReason,
    ExportStatus,
    InvalidProgressError,
    InvalidTransitionError,
)
from bdbexport.domain import export_moves as moves

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def exporting(progress: int = 10) -> Bdb:
    return Bdb(
        uid=1,
        name="db",
        export_status=ExportStatus.EXPORTING,
        export_progress=progress,
        action_uid="a-1",
        revision=4,
    )


def test_start_claims_the_bdb_and_clears_the_last_failure() -> None:
    failed = Bdb(
        uid=1,
        name="db",
        export_status=ExportStatus.FAILED,
        export_failure_reason=ExportFailureReason.GENERAL_ERROR,
        export_progress=30,
    )
    started = moves.start(failed, "a-1")
    assert started.export_status is ExportStatus.EXPORTING
    assert started.export_progress == 0
    assert started.export_failure_reason is None
    assert started.action_uid == "a-1"
    assert started.revision == failed.revision + 1


def test_start_while_exporting_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransitionError):
        moves.start(exporting(), "a-2")


def test_progress_moves_forward_only() -> None:
    assert moves.record_progress(exporting(10), "a-1", 55) == exporting(10).model_copy(
        update={"export_progress": 55, "revision": 5}
    )
    with pytest.raises(InvalidProgressError):
        moves.record_progress(exporting(10), "a-1", 9)
    with pytest.raises(InvalidProgressError):
        moves.record_progress(exporting(10), "a-1", 101)


def test_repeating_the_same_progress_changes_nothing() -> None:
    assert moves.record_progress(exporting(10), "a-1", 10) is None


def test_reports_from_another_action_are_refused() -> None:
    with pytest.raises(ActionMismatchError):
        moves.record_progress(exporting(), "stale", 50)
    with pytest.raises(ActionMismatchError):
        moves.succeed(exporting(), "stale", NOON)
    with pytest.raises(ActionMismatchError):
        moves.fail(exporting(), "stale", ExportFailureReason.GENERAL_ERROR)


def test_succeed_records_time_and_releases_the_action() -> None:
    done = moves.succeed(exporting(), "a-1", NOON)
    assert done.export_status is ExportStatus.SUCCEEDED
    assert done.export_progress == 100
    assert done.last_export_time == NOON
    assert done.action_uid is None


def test_fail_records_the_reason_and_keeps_progress() -> None:
    failed = moves.fail(exporting(70), "a-1", ExportFailureReason.NO_PERMISSION)
    assert failed.export_status is ExportStatus.FAILED
    assert failed.export_failure_reason is ExportFailureReason.NO_PERMISSION
    assert failed.export_progress == 70
    assert failed.action_uid is None


@pytest.mark.parametrize(
    "move",
    [
        lambda bdb: moves.record_progress(bdb, "a-1", 5),
        lambda bdb: moves.succeed(bdb, "a-1", NOON),
        lambda bdb: moves.fail(bdb, "a-1", ExportFailureReason.GENERAL_ERROR),
    ],
)
def test_worker_reports_need_a_running_export(move: object) -> None:
    with pytest.raises(InvalidTransitionError):
        move(Bdb(uid=1, name="db"))  # type: ignore[operator]


def test_reset_clears_the_reason_but_keeps_the_last_export_time() -> None:
    failed = Bdb(
        uid=1,
        name="db",
        export_status=ExportStatus.FAILED,
        export_failure_reason=ExportFailureReason.WRONG_FILE_PATH,
        export_progress=20,
        last_export_time=NOON,
    )
    idle = moves.reset(failed)
    assert idle is not None
    assert idle.export_status is ExportStatus.IDLE
    assert idle.export_failure_reason is None
    assert idle.export_progress == 0
    assert idle.last_export_time == NOON
    assert idle.revision == failed.revision + 1


def test_reset_of_an_idle_export_is_a_no_op() -> None:
    assert moves.reset(Bdb(uid=1, name="db")) is None


def test_reset_while_exporting_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransitionError):
        moves.reset(exporting())
