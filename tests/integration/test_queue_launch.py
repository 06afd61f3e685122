"""What `serve` hands to workers apart: a scheduled backup started by the scheduler goes
to the queue when the application's `launch` is the queue's launcher, with everything a
worker needs to run it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdbexport.adapters.exporting.work_payload import decode
from bdbexport.adapters.memory.work_queue import InMemoryWorkQueue
from bdbexport.composition.application import bootstrap
from bdbexport.composition.work_launch import QueueLauncher
from bdbexport.domain import ActionKind, Bdb, MountPointLocation
from bdbexport.domain.errors import ExportPathNotAllowedError


def test_a_scheduled_backup_is_queued_for_the_workers(tmp_path: Path) -> None:
    application = bootstrap("memory://", exporter="simulated", export_roots=[tmp_path])
    location = MountPointLocation(path=str(tmp_path / "backups"))
    application.store.bdbs.add(Bdb(uid=9, name="orders", backup_location=location))
    queue = InMemoryWorkQueue()
    launcher = QueueLauncher(queue)
    application.launch = launcher.submit
    try:
        started = application.start_scheduled_backup(9)
        launcher.close()
        assert queue.stats().queued == {"backup": 1}
        claim = queue.claim("w", application.service.lease_ttl, 10)
        assert claim is not None
        job = decode(claim.work)
        assert (job.kind, job.bdb_uid, job.action_uid, job.location) == (
            ActionKind.BACKUP,
            9,
            started.action_uid,
            location,
        )
        assert application.pool.running() == 0
    finally:
        application.close(grace=0)


def test_a_scheduled_backup_outside_the_roots_is_refused_before_it_is_recorded(
    tmp_path: Path,
) -> None:
    application = bootstrap("memory://", exporter="simulated", export_roots=[tmp_path])
    outside = MountPointLocation(path="/not-a-root/backups")
    application.store.bdbs.add(Bdb(uid=9, name="orders", backup_location=outside))
    queue = InMemoryWorkQueue()
    launcher = QueueLauncher(queue)
    application.launch = launcher.submit
    try:
        with pytest.raises(ExportPathNotAllowedError):
            application.start_scheduled_backup(9)
        launcher.close()
        assert queue.stats().queued == {}
        bdb = application.store.bdbs.get(9)
        assert bdb is not None
        assert bdb.action_uid is None
        assert bdb.backup_status == "idle"
    finally:
        application.close(grace=0)
