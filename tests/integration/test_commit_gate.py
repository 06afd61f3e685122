"""The runner's commit gate, step by step (issue 22, finding 6): an exporter that
stops just before and just after its `progress(100)` lets a cancel land on either
side of it, deterministically; the race itself, against a real server and exporter,
is tests/e2e/test_exact_cancel.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from bdbexport.adapters.exporting.worker_pool import ActionRunner
from bdbexport.adapters.memory import InMemoryBdbRepository, InMemoryModuleCatalog, SystemClock
from bdbexport.adapters.memory.action_log import InMemoryActionLog
from bdbexport.adapters.memory.ids import UuidIds
from bdbexport.domain import Bdb, DomainError, EventBus, ExportLocation, MountPointLocation
from bdbexport.domain.action_records import ActionStatus
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.service import ActionService
from tests.integration.test_action_runner import ADMIN, DEADLINE

LOCATION = MountPointLocation(path="/backups")


class SteppedExporter:
    """Writes nothing; publishes into `published` only when `progress(100)` returns.
    Waits for the test at `before` (ahead of the gate) and `after` (past it)."""

    def __init__(self) -> None:
        self.at_gate = threading.Event()
        self.past_gate = threading.Event()
        self.before = threading.Event()
        self.after = threading.Event()
        self.published: list[str] = []
        self.refused: list[BaseException] = []

    def export(
        self, bdb: Bdb, location: ExportLocation, progress: Callable[[int], None]
    ) -> int | None:
        progress(50)
        self.at_gate.set()
        assert self.before.wait(DEADLINE)
        try:
            progress(100)
        except BaseException as refused:
            self.refused.append(refused)
            raise
        self.past_gate.set()
        assert self.after.wait(DEADLINE)
        self.published.append(bdb.action_uid or "")
        return 1


@pytest.fixture(params=[0.05, 3600.0], ids=["watched", "unwatched"])
def world(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[ActionService, InMemoryActionLog, SteppedExporter, ActionRunner]]:
    """`watched`: the runner's watch may notice the cancel first (its local flag);
    `unwatched`: it never looks, so only the store's compare-and-set can refuse the
    claim — as for a cancel made on another replica a moment before."""
    records = InMemoryActionLog()
    service = ActionService(
        bdbs=InMemoryBdbRepository([Bdb(uid=1, name="one")]),
        modules=InMemoryModuleCatalog(),
        policy=RoleTablePolicy(),
        clock=SystemClock(),
        ids=UuidIds(),
        events=EventBus(),
        lease_ttl=timedelta(seconds=60),
        actions=records,
    )
    exporter = SteppedExporter()
    runner = ActionRunner(service, exporter, watch_every=request.param)
    yield service, records, exporter, runner
    exporter.before.set()
    exporter.after.set()
    runner.shutdown(grace=DEADLINE)


def _ended(records: InMemoryActionLog, action_uid: str) -> ActionStatus:
    deadline = time.monotonic() + DEADLINE
    while True:
        record = records.get(action_uid)
        assert record is not None
        if record.finished:
            return record.status
        assert time.monotonic() < deadline, record
        time.sleep(0.02)


def test_a_cancel_before_the_gate_is_acknowledged_and_nothing_is_published(
    world: tuple[ActionService, InMemoryActionLog, SteppedExporter, ActionRunner],
) -> None:
    service, records, exporter, runner = world
    started = service.start_export(ADMIN, 1, LOCATION)
    assert started.action_uid is not None
    runner.submit(started, LOCATION)
    assert exporter.at_gate.wait(DEADLINE)
    assert service.cancel(ADMIN, started.action_uid).status is ActionStatus.CANCELLED
    exporter.before.set()
    runner.shutdown(grace=DEADLINE)
    assert len(exporter.refused) == 1
    assert exporter.published == []
    assert _ended(records, started.action_uid) is ActionStatus.CANCELLED


def test_a_cancel_past_the_gate_is_refused_and_the_export_completes(
    world: tuple[ActionService, InMemoryActionLog, SteppedExporter, ActionRunner],
) -> None:
    service, records, exporter, runner = world
    started = service.start_export(ADMIN, 1, LOCATION)
    assert started.action_uid is not None
    runner.submit(started, LOCATION)
    exporter.before.set()
    assert exporter.past_gate.wait(DEADLINE)
    with pytest.raises(DomainError) as refused:
        service.cancel(ADMIN, started.action_uid)
    assert refused.value.code == "action_completed"
    exporter.after.set()
    assert _ended(records, started.action_uid) is ActionStatus.COMPLETED
    assert exporter.published == [started.action_uid]
    assert exporter.refused == []
