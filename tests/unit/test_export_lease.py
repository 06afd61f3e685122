"""Stale exports: a lease renewed by the worker's reports; an expired one is failed by
whoever reads the bdb next."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from bdbexport.domain import (
    Action,
    ActionRefused,
    Bdb,
    DomainError,
    ExportFailed,
    ExportLeaseRenewed,
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
    assert isinstance(event, ExportLeaseRenewed)
    assert event.until == world.clock.now() + timedelta(seconds=60)


def test_an_expired_lease_fails_the_export_on_the_next_read(world: World, exporting: str) -> None:
    world.clock.advance(timedelta(seconds=61))
    bdb = world.service.get_bdb(ADMIN, 1)
    assert bdb.export_status is ExportStatus.FAILED
    assert bdb.export_failure_reason == "general-error"
    assert bdb.action_uid is None
    assert bdb.action_lease_expires is None
    event = world.events.of_type(ExportFailed)[-1]
    assert isinstance(event, ExportFailed)
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
    from bdbexport.domain import ExportService

    service = build_service()
    with pytest.raises(ValueError, match="lease_ttl"):
        ExportService(
            bdbs=service._bdbs,
            modules=service._modules,
            policy=service.rules.policy,
            clock=service._clock,
            ids=service._ids,
            events=service._events,
            lease_ttl=timedelta(0),
        )


def test_a_heartbeat_never_contradicts_progress_reported_meanwhile(
    world: World, exporting: str
) -> None:
    world.service.record_export_progress(1, exporting, 40)
    world.clock.advance(timedelta(seconds=35))
    renewed = world.service.record_export_heartbeat(1, exporting)
    assert renewed.export_progress == 40
    assert renewed.action_lease_expires == world.clock.now() + timedelta(seconds=60)
