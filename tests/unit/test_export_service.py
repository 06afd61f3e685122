"""The use cases, through the in-memory adapters: effects, events, refusals, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bdbexport.adapters.memory import InMemoryBdbRepository
from bdbexport.composition import build_service
from bdbexport.domain import (
    ActionFailed,
    ActionProgressed,
    ActionRefused,
    ActionStarted,
    ActionSucceeded,
    Bdb,
    BdbNotFoundError,
    ConcurrentUpdateError,
    DomainError,
    ExportFailureReason,
    ExportInProgressError,
    ExportStatus,
    ForbiddenError,
    MountPointLocation,
    StatusReset,
    UnauthenticatedError,
)
from tests.support.world import ADMIN, MEMBER, VIEWER, World, make_world

LOCATION = MountPointLocation(path="/var/backups")


def test_reset_of_a_failed_export_clears_the_reason_and_publishes_it(world: World) -> None:
    bdb = world.service.reset_export_status(ADMIN, 2)
    assert bdb.export_status is ExportStatus.IDLE
    assert bdb.export_failure_reason is None
    assert world.bdbs.get(2) == bdb
    (event,) = world.events.events
    assert isinstance(event, StatusReset)
    assert event.actor == ADMIN.name
    assert event.uid == 2
    assert event.previous_status is ExportStatus.FAILED
    assert event.cleared_reason is ExportFailureReason.WRONG_FILE_PATH
    assert event.changed
    assert event.at == world.clock.now()


def test_reset_of_an_idle_export_is_accepted_without_a_write(world: World) -> None:
    before = world.bdbs.get(1)
    assert world.service.reset_export_status(MEMBER, 1) == before
    assert world.bdbs.get(1) is before
    (event,) = world.events.events
    assert isinstance(event, StatusReset)
    assert not event.changed


@pytest.mark.parametrize(
    ("principal", "uid", "error"),
    [
        (None, 2, UnauthenticatedError),
        (VIEWER, 2, ForbiddenError),
        (ADMIN, 999, BdbNotFoundError),
        (ADMIN, 4, ExportInProgressError),
    ],
)
def test_refused_resets_change_nothing_and_publish_the_refusal(
    world: World, principal: object, uid: int, error: type[DomainError]
) -> None:
    before = list(world.bdbs.list())
    with pytest.raises(error):
        world.service.reset_export_status(principal, uid)  # type: ignore[arg-type]
    assert list(world.bdbs.list()) == before
    (event,) = world.events.events
    assert isinstance(event, ActionRefused)
    assert event.action == "reset"
    assert event.error_code == error.code
    assert event.outcome == "refused"


def test_a_full_export_story(world: World) -> None:
    started = world.service.start_export(MEMBER, 1, LOCATION)
    assert started.export_status is ExportStatus.EXPORTING
    action = started.action_uid
    assert action == "action-1"
    world.service.record_export_progress(1, action, 50)
    world.service.record_export_progress(1, action, 50)  # a repeated heartbeat
    world.clock.advance(timedelta(seconds=45))  # within the 60 s lease
    done = world.service.record_export_success(1, action)
    assert done.export_status is ExportStatus.SUCCEEDED
    assert done.export_progress == 100
    assert done.last_export_time == world.clock.now()
    assert done.action_uid is None
    idle = world.service.reset_export_status(MEMBER, 1)
    assert idle.export_status is ExportStatus.IDLE
    assert idle.last_export_time == done.last_export_time
    kinds = [type(event) for event in world.events]
    assert kinds == [
        ActionStarted,
        ActionProgressed,
        ActionProgressed,
        ActionSucceeded,
        StatusReset,
    ]
    started_event = world.events.events[0]
    assert isinstance(started_event, ActionStarted)
    assert started_event.location_type == "mount_point"


def test_a_failed_export_records_its_reason_and_detail(world: World) -> None:
    action = world.service.start_export(ADMIN, 3, LOCATION).action_uid
    assert action is not None
    failed = world.service.record_export_failure(
        3, action, ExportFailureReason.NO_PERMISSION, detail="EACCES on /var/backups"
    )
    assert failed.export_failure_reason is ExportFailureReason.NO_PERMISSION
    event = world.events.events[-1]
    assert isinstance(event, ActionFailed)
    assert event.detail == "EACCES on /var/backups"
    assert event.to_record()["reason"] == "no-permission"


def test_starting_on_a_busy_database_is_refused(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        world.service.start_export(ADMIN, 6, LOCATION)
    assert refused.value.code == "busy"
    with pytest.raises(DomainError) as refused:
        world.service.start_export(ADMIN, 4, LOCATION)
    assert refused.value.code == "busy"


def test_worker_reports_for_a_missing_database_or_stale_action_are_refused(world: World) -> None:
    with pytest.raises(BdbNotFoundError):
        world.service.record_export_progress(999, "x", 1)
    with pytest.raises(DomainError) as stale:
        world.service.record_export_success(4, "not-the-current-one")
    assert stale.value.code == "action_mismatch"
    refusals = world.events.of_type(ActionRefused)
    assert [event.actor for event in refusals] == ["export-worker", "export-worker"]


def test_reads_follow_the_same_rules(world: World) -> None:
    assert world.service.get_bdb(VIEWER, 1).name == "idle-db"
    with pytest.raises(BdbNotFoundError):
        world.service.get_bdb(VIEWER, 999)
    with pytest.raises(UnauthenticatedError):
        world.service.get_bdb(None, 1)
    assert [bdb.uid for bdb in world.service.list_bdbs(VIEWER)] == [1, 2, 3, 4, 5, 6]
    assert [bdb.uid for bdb in world.service.list_bdbs(VIEWER, after_uid=2, limit=2)] == [3, 4]
    assert [m.module_name for m in world.service.list_modules(VIEWER)] == [
        "ReJSON",
        "graph",
        "search",
    ]
    with pytest.raises(ForbiddenError):
        list(world.service.list_bdbs(__import__("bdbexport.domain").domain.Principal("x", "none")))


class RacingRepository(InMemoryBdbRepository):
    """A real repository in which another writer commits just before each of our saves."""

    def __init__(self, bdbs: list[Bdb], races: int) -> None:
        super().__init__(bdbs)
        self.races = races

    def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        if self.races > 0:
            self.races -= 1
            current = self.get(bdb.uid)
            assert current is not None
            rival = current.model_copy(update={"revision": current.revision + 1})
            assert super().save(rival, expected_revision=current.revision)
        return super().save(bdb, expected_revision=expected_revision)


def failed_bdb() -> Bdb:
    return Bdb(
        uid=1,
        name="db",
        export_status=ExportStatus.FAILED,
        export_failure_reason=ExportFailureReason.GENERAL_ERROR,
    )


def test_a_lost_compare_and_set_is_retried_on_fresh_state() -> None:
    repository = RacingRepository([failed_bdb()], races=3)
    service = build_service(bdbs=repository, max_attempts=5)
    bdb = service.reset_export_status(ADMIN, 1)
    assert bdb.export_status is ExportStatus.IDLE
    assert bdb.revision == 4  # three rival writes, then ours
    assert repository.get(1) == bdb


def test_retries_are_bounded_and_end_in_a_retryable_conflict() -> None:
    world = make_world()
    repository = RacingRepository([failed_bdb()], races=10)
    service = build_service(bdbs=repository, events=world.events, max_attempts=3)
    with pytest.raises(ConcurrentUpdateError) as conflict:
        service.reset_export_status(ADMIN, 1)
    assert conflict.value.retryable
    assert repository.get(1).export_status is ExportStatus.FAILED  # type: ignore[union-attr]
    (event,) = world.events.events
    assert isinstance(event, ActionRefused)
    assert event.error_code == "concurrent_update"


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        build_service(max_attempts=0)
