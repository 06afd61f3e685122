"""The one runner of a replica: exports, imports and backups through their own
lifecycles, records that follow them, cancel noticed within a second or two, and
queued actions that hold no lease they do not use."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bdbexport.adapters.exporting import SimulatedExporter
from bdbexport.adapters.exporting.worker_pool import ActionRunner
from bdbexport.adapters.memory import InMemoryBdbRepository, InMemoryModuleCatalog, SystemClock
from bdbexport.adapters.memory.action_log import InMemoryActionLog
from bdbexport.adapters.memory.ids import UuidIds
from bdbexport.adapters.memory.importer import InMemoryImporter
from bdbexport.domain import ActionKind, Bdb, EventBus, MountPointLocation, Principal
from bdbexport.domain.action_records import ActionStatus
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.service import ActionService

ADMIN = Principal("admin@example.com", "admin")
DEADLINE = 20.0


class Replica:
    def __init__(
        self, *, exporter_seconds: float, import_seconds: float, lease: float = 60.0
    ) -> None:
        self.bdbs = InMemoryBdbRepository([Bdb(uid=uid, name=f"db{uid}") for uid in (1, 2, 3)])
        self.records = InMemoryActionLog()
        self.service = ActionService(
            bdbs=self.bdbs,
            modules=InMemoryModuleCatalog(),
            policy=RoleTablePolicy(),
            clock=SystemClock(),
            ids=UuidIds(),
            events=EventBus(),
            lease_ttl=timedelta(seconds=lease),
            actions=self.records,
        )
        self.importer = InMemoryImporter(
            duration=import_seconds, steps=max(20, int(import_seconds * 10))
        )
        self.stop = threading.Event()
        self.runner = ActionRunner(
            self.service,
            SimulatedExporter(duration=exporter_seconds, steps=20, stop=self.stop),
            self.importer,
            max_concurrent=1,
            stopping=self.stop,
        )

    def status(self, action_uid: str) -> ActionStatus:
        record = self.records.get(action_uid)
        assert record is not None
        return record.status

    def wait_for(self, done: Callable[[], bool]) -> float:
        started = time.monotonic()
        while not done():
            assert time.monotonic() - started < DEADLINE, "not in time"
            time.sleep(0.02)
        return time.monotonic() - started


def _has_status(replica: Replica, action_uid: str, status: ActionStatus) -> bool:
    return replica.status(action_uid) is status


@pytest.fixture
def rdb_file(tmp_path: Path) -> Path:
    path = tmp_path / "dump.rdb"
    path.write_bytes(b"REDIS0011" + b"\x00" * 32)
    return path


@pytest.fixture
def replica() -> Iterator[Replica]:
    made = Replica(exporter_seconds=0.2, import_seconds=0.2)
    yield made
    made.runner.shutdown(grace=0)


def test_each_member_runs_through_its_own_lifecycle(replica: Replica, rdb_file: Path) -> None:
    location = MountPointLocation(path=str(rdb_file.parent))
    export = replica.service.start_export(ADMIN, 1, location)
    replica.runner.submit(export, location)
    backup = replica.service.start_backup(ADMIN, 2, location)
    replica.runner.submit(backup, location, kind=ActionKind.BACKUP)
    source = MountPointLocation(path=str(rdb_file))
    imported = replica.service.start_import(ADMIN, 3, source)
    replica.runner.submit(imported, source, kind=ActionKind.IMPORT, flush=True)
    for started in (export, backup, imported):
        assert started.action_uid is not None
        uid = started.action_uid
        replica.wait_for(partial(_has_status, replica, uid, ActionStatus.COMPLETED))
    after_export = replica.bdbs.get(1)
    assert after_export is not None
    assert after_export.export_status == "succeeded"
    after_backup = replica.bdbs.get(2)
    assert after_backup is not None
    assert after_backup.backup_status == "succeeded"
    assert after_backup.last_backup_time is not None
    assert after_backup.export_status == "idle"
    after_import = replica.bdbs.get(3)
    assert after_import is not None
    assert after_import.import_status == "succeeded"
    assert replica.importer.datasets[3] == [rdb_file.read_bytes()]


def test_a_cancelled_import_stops_promptly_and_leaves_the_dataset_as_it_was(
    rdb_file: Path,
) -> None:
    replica = Replica(exporter_seconds=0.2, import_seconds=30)
    try:
        replica.importer.datasets[1] = [b"what was there"]
        source = MountPointLocation(path=str(rdb_file))
        started = replica.service.start_import(ADMIN, 1, source)
        assert started.action_uid is not None
        uid = started.action_uid
        replica.runner.submit(started, source, kind=ActionKind.IMPORT, flush=True)
        replica.wait_for(lambda: replica.status(uid) is ActionStatus.RUNNING)
        replica.service.cancel(ADMIN, uid)
        took = replica.wait_for(lambda: replica.runner.running() == 0)
        # The issue asks for "promptly": the watch reads the store every 0.5 s and the
        # importer reports every 0.1 s; 5 s leaves room for a loaded CI machine.
        print(f"worker stopped {took:.2f}s after the cancel")
        assert took < 5, f"the worker went on for {took:.1f}s after the cancel"
        assert replica.status(uid) is ActionStatus.CANCELLED
        assert replica.importer.datasets[1] == [b"what was there"]
        bdb = replica.bdbs.get(1)
        assert bdb is not None
        assert bdb.import_status == "failed"
        assert bdb.import_failure_detail == "cancelled by admin@example.com"
    finally:
        replica.runner.shutdown(grace=0)


def test_a_queued_action_whose_lease_lapsed_is_skipped_untouched(rdb_file: Path) -> None:
    # One worker, a 1 s lease: the second export waits behind a 3 s one, unheartbeaten.
    replica = Replica(exporter_seconds=3.0, import_seconds=0.1, lease=1.0)
    try:
        location = MountPointLocation(path=str(rdb_file.parent))
        first = replica.service.start_export(ADMIN, 1, location)
        replica.runner.submit(first, location)
        queued = replica.service.start_export(ADMIN, 2, location)
        replica.runner.submit(queued, location)
        assert queued.action_uid is not None
        assert first.action_uid is not None
        assert replica.status(queued.action_uid) is ActionStatus.QUEUED
        replica.wait_for(lambda: replica.runner.running() == 0)
        assert replica.status(first.action_uid) is ActionStatus.COMPLETED
        skipped = replica.records.get(queued.action_uid)
        assert skipped is not None
        assert skipped.status is ActionStatus.FAILED
        assert skipped.error is not None
        assert "lease expired" in skipped.error
        assert skipped.progress == 0  # never started: no work, no progress
    finally:
        replica.runner.shutdown(grace=0)


def test_running_exports_and_backups_are_kept_alive_with_their_destination(
    rdb_file: Path,
) -> None:
    """The ticker hands the partial-file sweeper what runs here, every
    `keep_alive_every`: exports and backups with where they write, never imports."""
    replica = Replica(exporter_seconds=3.0, import_seconds=3.0)
    seen: list[list[tuple[int, str, object]]] = []
    runner = ActionRunner(
        replica.service,
        SimulatedExporter(duration=3.0, steps=30, stop=replica.stop),
        replica.importer,
        max_concurrent=3,
        stopping=replica.stop,
        keep_alive=lambda running: seen.append(list(running)),
        keep_alive_every=0.1,
        watch_every=0.05,
    )
    try:
        location = MountPointLocation(path=str(rdb_file.parent))
        export = replica.service.start_export(ADMIN, 1, location)
        runner.submit(export, location)
        backup = replica.service.start_backup(ADMIN, 2, location)
        runner.submit(backup, location, kind=ActionKind.BACKUP)
        source = MountPointLocation(path=str(rdb_file))
        imported = replica.service.start_import(ADMIN, 3, source)
        runner.submit(imported, source, kind=ActionKind.IMPORT)
        expected = {(1, export.action_uid, location), (2, backup.action_uid, location)}
        replica.wait_for(lambda: any(set(call) == expected for call in seen))
        calls = len(seen)
        replica.wait_for(lambda: len(seen) >= calls + 2)  # again and again, while they run
    finally:
        runner.shutdown(grace=0)
        replica.runner.shutdown(grace=0)
