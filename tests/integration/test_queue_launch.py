"""What `serve` hands to workers apart: a scheduled backup started by the scheduler goes
to the queue when the application's `launch` is the queue's launcher, with everything a
worker needs to run it."""

from __future__ import annotations

from bdbexport.adapters.exporting.work_payload import decode
from bdbexport.adapters.memory.work_queue import InMemoryWorkQueue
from bdbexport.composition.application import bootstrap
from bdbexport.composition.work_launch import QueueLauncher
from bdbexport.domain import ActionKind, Bdb, MountPointLocation


def test_a_scheduled_backup_is_queued_for_the_workers() -> None:
    application = bootstrap("memory://", exporter="simulated")
    location = MountPointLocation(path="/backups")
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
