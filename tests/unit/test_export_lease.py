"""Stale exports: a lease renewed by the worker's reports; an expired one is failed by
whoever reads the bdb next."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from pydantic import ValidationError

from bdbexport.adapters.memory import InMemoryBdbRepository, ManualClock, SequentialIds
from bdbexport.composition import build_service
from bdbexport.domain import (
    Action,
    ActionFailed,
    ActionLeaseRenewed,
    ActionRefused,
    Bdb,
    DomainError,
    ExportStatus,
    MountPointLocation,
)
from tests.support.world import ADMIN, World, make_world

LOCATION = MountPointLocation(path="/backups")


@pytest.fixture
def exporting(world: World) -> str:
    action = world.service.start_export(ADMIN, 1, LOCATION).action_uid
    assert action is not None
    return action


def test_start_grants_a_lease_of_the_configured_length(world: World, exporting: str) -> None:
    bdb = world.bdbs.get(1)
    assert bdb is not None
    assert bdb.action_lease_expires == world.clock.now() + world.service.lease_ttl


def test_progress_renews_the_lease(world: World, exporting: str) -> None:
    world.clock.advance(timedelta(seconds=50))
    bdb = world.service.record_export_progress(1, exporting, 30)
    assert bdb.action_lease_expires == world.clock.now() + timedelta(seconds=60)


def test_heartbeats_write_only_when_half_the_lease_is_gone(world: World, exporting: str) -> None:
    revision = world.bdbs.get(1).revision  # type: ignore[union-attr]
    world.clock.advance(timedelta(seconds=10))
    assert world.service.record_export_heartbeat(1, exporting).revision == revision
    world.clock.advance(timedelta(seconds=25))
    renewed = world.service.record_export_heartbeat(1, exporting)
    assert renewed.revision == revision + 1
    assert renewed.export_progress == 0
    event = world.events.events[-1]
    assert isinstance(event, ActionLeaseRenewed)
    assert event.until == world.clock.now() + timedelta(seconds=60)


def test_an_expired_lease_fails_the_export_on_the_next_read(world: World, exporting: str) -> None:
    world.clock.advance(timedelta(seconds=61))
    bdb = world.service.get_bdb(ADMIN, 1)
    assert bdb.export_status is ExportStatus.FAILED
    assert bdb.export_failure_reason == "general-error"
    assert bdb.action_uid is None
    assert bdb.action_lease_expires is None
    event = world.events.of_type(ActionFailed)[-1]
    assert isinstance(event, ActionFailed)
    assert event.actor == "lease-expiry"
    assert "lease expired" in event.detail
    assert world.bdbs.get(1) == bdb  # stored, not just shown


def test_a_reset_after_the_lease_expired_succeeds(world: World, exporting: str) -> None:
    with pytest.raises(DomainError) as refused:
        world.service.reset_export_status(ADMIN, 1)
    assert refused.value.code == "export_in_progress"
    world.clock.advance(timedelta(minutes=5))
    assert world.service.reset_export_status(ADMIN, 1).export_status is ExportStatus.IDLE


def test_the_dead_workers_late_report_is_refused(world: World, exporting: str) -> None:
    world.clock.advance(timedelta(seconds=61))
    with pytest.raises(DomainError) as refused:
        world.service.record_export_success(1, exporting)
    assert refused.value.code == "invalid_transition"
    assert world.bdbs.get(1).export_status is ExportStatus.FAILED  # type: ignore[union-attr]
    assert isinstance(world.events.events[-1], ActionRefused)


def test_evaluate_sees_the_expiry_without_storing_it(world: World, exporting: str) -> None:
    world.clock.advance(timedelta(seconds=61))
    before = world.bdbs.get(1)
    published = len(world.events)
    assert world.service.evaluate(ADMIN, Action.RESET, 1).allowed
    assert world.bdbs.get(1) == before
    assert len(world.events) == published


def test_a_lease_belongs_only_to_a_bdb_running_an_action() -> None:
    with pytest.raises(ValidationError, match="action lease"):
        Bdb(uid=1, name="db", action_lease_expires="2026-01-01T00:00:00Z")


def test_exports_without_a_lease_never_expire() -> None:
    world = make_world(
        [Bdb(uid=1, name="legacy", export_status=ExportStatus.EXPORTING, action_uid="old")]
    )
    world.clock.advance(timedelta(days=365))
    assert world.service.get_bdb(ADMIN, 1).export_status is ExportStatus.EXPORTING


def test_the_lease_length_must_be_positive() -> None:
    from bdbexport.composition import build_service
    from bdbexport.domain import ActionService

    service = build_service()
    with pytest.raises(ValueError, match="lease_ttl"):
        ActionService(
            bdbs=service._bdbs,
            modules=service._modules,
            policy=service.rules.policy,
            clock=service._clock,
            ids=service._ids,
            events=service._events,
            lease_ttl=timedelta(0),
        )


class ReportBetweenReadAndWrite(InMemoryBdbRepository):
    """A real in-memory repository in which the exporter's progress report lands right
    after a read, before the write that follows it: the moment a heartbeat that read
    the progress outside its compare-and-set loop would contradict the report."""

    def __init__(self, bdbs: list[Bdb]) -> None:
        super().__init__(bdbs)
        self.report: Callable[[], object] | None = None
        self.reported = 0

    def get(self, uid: int) -> Bdb | None:
        read = super().get(uid)
        report, self.report = self.report, None  # once
        if report is not None:
            report()
            self.reported += 1
        return read


def test_a_heartbeat_racing_a_progress_report_never_contradicts_it() -> None:
    """Fails on the code before the fix (a heartbeat that read the progress, then
    reported it as progress): the report moves progress to 60 between that read and
    the heartbeat's write, so the heartbeat reports 40 and is refused
    (`invalid_progress`), or would put the progress back."""
    repository = ReportBetweenReadAndWrite([Bdb(uid=1, name="db")])
    clock = ManualClock()
    service = build_service(bdbs=repository, clock=clock, ids=SequentialIds())
    action = service.start_export(ADMIN, 1, LOCATION).action_uid
    assert action is not None
    service.record_export_progress(1, action, 40)
    clock.advance(timedelta(seconds=35))  # past half the lease: the heartbeat writes
    repository.report = lambda: service.record_export_progress(1, action, 60)
    renewed = service.record_export_heartbeat(1, action)
    assert repository.reported == 1  # the report did land in between
    assert renewed.export_progress == 60
    assert renewed.action_lease_expires == clock.now() + timedelta(seconds=60)
    assert repository.get(1) == renewed
