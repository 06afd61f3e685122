"""Action records (the Actions API) and cancel, through both shells: records follow
the committed events, finished records never change, only a starter may cancel."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bdbexport.adapters.memory import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    InMemoryBdbRepository,
    InMemoryEventLog,
    InMemoryModuleCatalog,
    ManualClock,
    SequentialIds,
)
from bdbexport.adapters.memory.action_log import AsyncInMemoryActionLog, InMemoryActionLog
from bdbexport.domain import (
    ActionKind,
    AsyncActionService,
    Bdb,
    DomainError,
    MountPointLocation,
    Principal,
    RoleTablePolicy,
)
from bdbexport.domain.action_records import (
    ActionRecord,
    ActionStatus,
    updated_record,
)
from bdbexport.domain.events import (
    ActionCancelled,
    ActionFailed,
    ActionLeaseRenewed,
    ActionProgressed,
    ActionStarted,
    ActionSucceeded,
    StatusReset,
)
from bdbexport.domain.service import ActionService

LOCATION = MountPointLocation(path="/backups")
ADMIN = Principal("admin@example.com", "admin")
MEMBER = Principal("member@example.com", "db_member")
VIEWER = Principal("viewer@example.com", "db_viewer")
NOBODY = Principal("nobody@example.com", "none")
T0 = datetime(2026, 11, 29, tzinfo=UTC)


class Services:
    """A sync and an async service over the same bdbs, clock and action records."""

    def __init__(self, *, keep: int = 1000, keep_for: timedelta = timedelta(days=7)) -> None:
        self.bdbs = InMemoryBdbRepository([Bdb(uid=1, name="one"), Bdb(uid=2, name="two")])
        self.records = InMemoryActionLog()
        self.events = InMemoryEventLog()
        self.clock = ManualClock(T0)
        ids = SequentialIds()
        common: dict[str, Any] = {
            "policy": RoleTablePolicy(),
            "clock": self.clock,
            "ids": ids,
            "events": self.events,
            "keep_actions": keep,
            "keep_actions_for": keep_for,
        }
        catalog = InMemoryModuleCatalog()
        self.sync = ActionService(bdbs=self.bdbs, modules=catalog, actions=self.records, **common)
        self.async_ = AsyncActionService(
            bdbs=AsyncInMemoryBdbRepository(self.bdbs),
            modules=AsyncInMemoryModuleCatalog(catalog),
            actions=AsyncInMemoryActionLog(self.records),
            **common,
        )


Call = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def shell(request: pytest.FixtureRequest) -> Callable[[Services, str], Call]:
    def pick(services: Services, name: str) -> Call:
        if request.param == "sync":
            return getattr(services.sync, name)  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            result = getattr(services.async_, name)(*args, **kwargs)
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
            if hasattr(result, "__aiter__"):
                return asyncio.run(_collected(result))
            return result

        return call

    return pick


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


async def _collected(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


def test_a_record_follows_an_export_from_queued_to_completed(
    shell: Callable[[Services, str], Call],
) -> None:
    services = Services()
    started = shell(services, "start_export")(ADMIN, 1, LOCATION)
    action_uid = started.action_uid
    record = shell(services, "get_action")(VIEWER, action_uid)
    assert (record.status, record.progress, record.name) == (ActionStatus.QUEUED, 0, "export")
    assert record.to_wire() == {
        "action_uid": action_uid,
        "name": "export",
        "status": "queued",
        "progress": "0",
        "object_name": "bdb:1",
        "start_time": "2026-11-29T00:00:00Z",
    }
    services.clock.advance(timedelta(seconds=1))
    shell(services, "record_progress")(1, action_uid, 40)
    assert services.records.get(action_uid) == record.model_copy(
        update={"status": ActionStatus.RUNNING, "progress": 40}
    )
    services.clock.advance(timedelta(seconds=1))
    shell(services, "record_success")(1, action_uid)
    done = shell(services, "get_action")(VIEWER, action_uid)
    assert done.to_wire()["status"] == "completed"
    assert done.to_wire()["progress"] == "100"
    assert done.to_wire()["end_time"] == "2026-11-29T00:00:02Z"
    assert [r.action_uid for r in list(shell(services, "list_actions")(VIEWER, bdb_uid=1))] == [
        action_uid
    ]
    assert list(shell(services, "list_actions")(VIEWER, bdb_uid=2)) == []


def test_a_worker_waiting_for_its_source_is_starting_until_its_first_percent(
    shell: Callable[[Services, str], Call],
) -> None:
    """Issue 27, 1: an export whose worker is alive but waits for Redis to start the
    snapshot says `starting` (with 0 %), not `running`; the first percent (which the
    exporter reports when the snapshot starts) turns it `running`, and heartbeats
    after that keep it so."""
    services = Services()
    action_uid = shell(services, "start_export")(ADMIN, 1, LOCATION).action_uid
    shell(services, "record_progress")(1, action_uid, None)
    waiting = shell(services, "get_action")(VIEWER, action_uid)
    assert (waiting.status, waiting.progress) == (ActionStatus.STARTING, 0)
    services.clock.advance(timedelta(seconds=1))
    shell(services, "record_progress")(1, action_uid, 0)  # a poke, still waiting
    assert shell(services, "get_action")(VIEWER, action_uid).status is ActionStatus.STARTING
    shell(services, "record_progress")(1, action_uid, 1)
    assert shell(services, "get_action")(VIEWER, action_uid).status is ActionStatus.RUNNING
    services.clock.advance(timedelta(seconds=1))
    shell(services, "record_progress")(1, action_uid, None)
    assert shell(services, "get_action")(VIEWER, action_uid).status is ActionStatus.RUNNING


def test_cancel_ends_the_action_cancelled_and_the_bdb_failed_with_the_documented_reason(
    shell: Callable[[Services, str], Call],
) -> None:
    services = Services()
    started = shell(services, "start_action")(MEMBER, 2, LOCATION, ActionKind.IMPORT)
    record = shell(services, "cancel")(MEMBER, started.action_uid)
    assert record.status is ActionStatus.CANCELLED
    assert record.error == "general-error: cancelled by member@example.com"
    bdb = services.bdbs.get(2)
    assert bdb is not None
    assert (bdb.import_status, bdb.import_failure_reason) == ("failed", "general-error")
    assert bdb.import_failure_detail == "cancelled by member@example.com"
    assert bdb.action_uid is None
    assert bdb.action_lease_expires is None
    assert [e.name for e in services.events.events][-1] == "ImportCancelled"
    # The worker's next report is refused: that is how it learns to stop.
    with pytest.raises(DomainError) as refused:
        shell(services, "record_progress")(2, started.action_uid, 50, ActionKind.IMPORT)
    assert refused.value.code == "invalid_transition"  # failed: no progress move
    # A finished record never changes; a second cancel is an illegal move.
    with pytest.raises(DomainError) as again:
        shell(services, "cancel")(MEMBER, started.action_uid)
    assert again.value.code == "invalid_transition"
    assert services.records.get(started.action_uid) == record


def test_cancelling_a_completed_action_while_a_newer_one_runs_is_refused_as_completed(
    shell: Callable[[Services, str], Call],
) -> None:
    """Not `action_mismatch` (a workers' code): the old action has completed, so its
    cancel is `action_completed` (issue 22: a cancel that comes too late says so), and
    the newer action keeps running."""
    services = Services()
    old = shell(services, "start_export")(MEMBER, 1, LOCATION)
    shell(services, "record_success")(1, old.action_uid)
    newer = shell(services, "start_export")(MEMBER, 1, LOCATION)
    with pytest.raises(DomainError) as refused:
        shell(services, "cancel")(MEMBER, old.action_uid)
    assert refused.value.code == "action_completed"
    assert old.action_uid in refused.value.description
    current = services.bdbs.get(1)
    assert current is not None
    assert (current.export_status, current.action_uid) == ("exporting", newer.action_uid)
    assert services.records.get(newer.action_uid).status is ActionStatus.QUEUED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("principal", "code"),
    [(None, "unauthenticated"), (NOBODY, "forbidden"), (VIEWER, "forbidden")],
)
def test_only_a_principal_allowed_to_start_may_cancel(
    shell: Callable[[Services, str], Call], principal: Principal | None, code: str
) -> None:
    services = Services()
    started = shell(services, "start_backup")(ADMIN, 1, LOCATION)
    with pytest.raises(DomainError) as refused:
        shell(services, "cancel")(principal, started.action_uid)
    assert refused.value.code == code
    current = services.bdbs.get(1)
    assert current is not None
    assert current.backup_status == "exporting"


def test_unknown_actions_and_bdbs_are_named_as_such(
    shell: Callable[[Services, str], Call],
) -> None:
    services = Services()
    for name in ("get_action", "cancel"):
        with pytest.raises(DomainError) as missing:
            shell(services, name)(ADMIN, "no-such-action")
        assert missing.value.code == "action_not_exist"
    with pytest.raises(DomainError) as no_bdb:
        shell(services, "list_actions")(ADMIN, bdb_uid=99)
    assert no_bdb.value.code == "db_not_exist"
    with pytest.raises(DomainError) as anonymous:
        shell(services, "get_action")(None, "no-such-action")
    assert anonymous.value.code == "unauthenticated"


def test_a_lapsed_lease_fails_the_record_too(shell: Callable[[Services, str], Call]) -> None:
    services = Services()
    started = shell(services, "start_export")(ADMIN, 1, LOCATION)
    services.clock.advance(timedelta(minutes=2))
    shell(services, "peek")(1)
    record = services.records.get(started.action_uid)
    assert record is not None
    assert record.status is ActionStatus.FAILED
    assert record.error is not None
    assert record.error.startswith("general-error: export lease")


def test_finished_records_beyond_the_retention_are_pruned() -> None:
    services = Services(keep=2, keep_for=timedelta(hours=1))
    uids: list[str] = []
    for _ in range(4):
        started = services.sync.start_export(ADMIN, 1, LOCATION)
        assert started.action_uid is not None
        services.sync.record_success(1, started.action_uid)
        uids.append(started.action_uid)
        services.clock.advance(timedelta(minutes=1))
    assert [r.action_uid for r in services.records.list()] == uids[:1:-1]
    services.clock.advance(timedelta(hours=2))
    running = services.sync.start_export(ADMIN, 2, LOCATION)
    assert running.action_uid is not None
    services.sync.cancel(ADMIN, running.action_uid)
    assert [r.action_uid for r in services.records.list()] == [running.action_uid]


_EVENT_AT = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@st.composite
def lifecycle_events(draw: st.DrawFn) -> Any:
    at = draw(_EVENT_AT)
    common: dict[str, Any] = {
        "actor": "a",
        "uid": 1,
        "at": at,
        "action_uid": "x",
        "kind": ActionKind.EXPORT,
    }
    return draw(
        st.sampled_from(
            [
                ActionStarted(previous_status="idle", location_type="s3", **common),
                ActionProgressed(progress=draw(st.integers(0, 100)), **common),
                ActionLeaseRenewed(until=at, **common),
                ActionSucceeded(**common),
                ActionFailed(reason="general-error", detail="d", **common),
                ActionCancelled(reason="general-error", **common),
                StatusReset(previous_status="idle", cleared_reason=None, changed=False, **common),
            ]
        )
    )


@given(st.lists(lifecycle_events(), min_size=1, max_size=12))
def test_once_finished_a_record_never_changes(events: list[Any]) -> None:
    record: ActionRecord | None = None
    finished: ActionRecord | None = None
    for event in events:
        after = updated_record(record, event)
        if after is not None:
            record = after
        if finished is not None:
            assert record == finished
        elif record is not None and record.finished:
            finished = record
            assert record.end_time == event.at
    if record is not None:
        assert record.object_name == "bdb:1"
        assert record.to_wire()["progress"] == str(record.progress)


def test_a_service_without_an_action_log_keeps_no_records(
    shell: Callable[[Services, str], Call],
) -> None:
    services = Services()
    services.sync = ActionService(
        bdbs=services.bdbs,
        modules=InMemoryModuleCatalog(),
        policy=RoleTablePolicy(),
        clock=services.clock,
        ids=SequentialIds("bare"),
        events=services.events,
    )
    services.async_ = AsyncActionService(
        bdbs=AsyncInMemoryBdbRepository(services.bdbs),
        modules=AsyncInMemoryModuleCatalog(),
        policy=RoleTablePolicy(),
        clock=services.clock,
        ids=SequentialIds("bare-async"),
        events=services.events,
    )
    started = shell(services, "start_import")(ADMIN, 1, LOCATION)
    assert started.import_status == "initializing"
    assert list(shell(services, "list_actions")(ADMIN)) == []
    with pytest.raises(DomainError) as missing:
        shell(services, "get_action")(ADMIN, started.action_uid)
    assert missing.value.code == "action_not_exist"
    assert services.records.get(started.action_uid) is None


def test_reports_that_change_nothing_shown_write_nothing(
    shell: Callable[[Services, str], Call],
) -> None:
    services = Services()
    started = shell(services, "start_backup")(ADMIN, 2, LOCATION)
    shell(services, "record_progress")(2, started.action_uid, None, ActionKind.BACKUP)
    running = services.records.get(started.action_uid)
    assert running is not None
    assert running.status is ActionStatus.STARTING  # alive, no percent yet
    services.clock.advance(timedelta(seconds=1))
    shell(services, "record_progress")(2, started.action_uid, None, ActionKind.BACKUP)
    assert services.records.get(started.action_uid) == running  # the same record, as it was
    assert (
        updated_record(
            running,
            StatusReset(
                actor="a",
                uid=2,
                at=T0,
                kind=ActionKind.BACKUP,
                previous_status="idle",
                cleared_reason=None,
                changed=False,
            ),
        )
        is None
    )
