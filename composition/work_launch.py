"""How an accepted action reaches a worker when workers run apart: it is enqueued.

`QueueLauncher.submit` has the in-process runner's signature (`ActionRunner.submit`),
so the HTTP endpoints and the backup scheduler hand an action over the same way
whether it runs in this process or in a worker (docs/workers.md).
"""

from __future__ import annotations

from bdbexport.adapters.exporting.work_payload import Job, encode
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.work_queue import WorkQueue


class QueueLauncher:
    def __init__(self, queue: WorkQueue) -> None:
        self.queue = queue

    def submit(
        self,
        bdb: Bdb,
        location: ExportLocation,
        notify: bool = False,
        *,
        kind: ActionKind = ActionKind.EXPORT,
        flush: bool = False,
    ) -> None:
        """Queue the action `bdb.action_uid` names; `bdb` is the one its start returned."""
        if bdb.action_uid is None:
            raise ValueError("submit takes the bdb its start returned")
        self.queue.enqueue(encode(Job(kind, bdb.uid, bdb.action_uid, location, notify, flush)))

    def running(self) -> int:
        """Actions claimed by a worker and not yet ended, across all workers."""
        return self.queue.stats().running
