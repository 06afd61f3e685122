"""How an accepted action reaches a worker when workers run apart: it is enqueued.

`QueueLauncher.submit` has the in-process runner's signature (`ActionRunner.submit`),
so the HTTP endpoints and the backup scheduler hand an action over the same way
whether it runs in this process or in a worker (docs/workers.md). The endpoints call
it on the event loop, so the enqueue (a store write) runs on a thread of its own, in
order; a store that refuses it is asked again with growing pauses for a while. An
action whose enqueue never lands stays started until its lease runs out, and is then
failed like one whose replica died.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from bdbexport.adapters.exporting.work_payload import Job, encode
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.work_queue import Work, WorkQueue

log = logging.getLogger("bdbexport.workers")

ENQUEUE_TRIES = 8
FIRST_PAUSE = 0.1


class QueueLauncher:
    def __init__(self, queue: WorkQueue) -> None:
        self.queue = queue
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="bdbexport-enqueue")

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
        work = encode(Job(kind, bdb.uid, bdb.action_uid, location, notify, flush))
        self._writer.submit(self._enqueue, work)

    def _enqueue(self, work: Work) -> None:
        pause = FIRST_PAUSE
        for attempt in range(1, ENQUEUE_TRIES + 1):
            try:
                self.queue.enqueue(work)
                return
            except (DomainError, OSError) as error:
                log.warning("enqueue of %s failed (try %d): %s", work.action_uid, attempt, error)
                time.sleep(pause)
                pause *= 2
        log.error("action %s was not queued; its lease will fail it", work.action_uid)

    def running(self) -> int:
        """Actions claimed by a worker and not yet ended, across all workers."""
        return self.queue.stats().running

    def close(self) -> None:
        """Let the enqueues already asked for land, then stop the writer thread."""
        self._writer.shutdown(wait=True)
