"""Exports run in the background of the replica that accepted them.

A bounded pool of threads (exporters block on I/O) drives each export from its start,
already committed by the use case, to its end: progress reports go through the use
cases, so the state machine sees every step, and any way an export can end (success,
`ExportFailedError`, an unexpected error, shutdown) ends in `succeeded` or `failed`.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.export_service import ExportService
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.ports import Exporter
from bdbexport.domain.statuses import ExportFailureReason

log = logging.getLogger("bdbexport.exports")


class ExportWorkerPool:
    def __init__(
        self,
        service: ExportService,
        exporter: Exporter,
        *,
        max_concurrent: int = 4,
        stopping: threading.Event | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._service = service
        self._exporter = exporter
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="bdbexport-export")
        self._running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self.stopping = stopping or threading.Event()

    def submit(self, bdb: Bdb, location: ExportLocation) -> None:
        """Run the export `bdb.action_uid` names; `bdb` is the one `start_export` returned."""
        action_uid = bdb.action_uid
        if action_uid is None:
            raise ValueError("submit takes the bdb returned by start_export")
        future = self._executor.submit(self._run, bdb, action_uid, location)
        with self._lock:
            self._running[action_uid] = future
        future.add_done_callback(lambda _: self._forget(action_uid))

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def shutdown(self, grace: float = 10.0) -> None:
        """Let running exports finish for `grace` seconds, then stop the rest as failed.

        Queued exports are not cancelled (their bdbs would stay `exporting`): they
        start, see the stop signal at once and are recorded as failed.
        """
        with self._lock:
            futures = list(self._running.values())
        _, pending = wait(futures, timeout=grace)
        if pending:
            self.stopping.set()
        self._executor.shutdown(wait=True)

    def _forget(self, action_uid: str) -> None:
        with self._lock:
            self._running.pop(action_uid, None)

    def _run(self, bdb: Bdb, action_uid: str, location: ExportLocation) -> None:
        uid = bdb.uid

        def progress(percent: int) -> None:
            if self.stopping.is_set():
                raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, "server shutdown")
            self._service.record_export_progress(uid, action_uid, min(percent, 99))

        try:
            self._exporter.export(bdb, location, progress)
        except ExportFailedError as failure:
            self._finish_failed(uid, action_uid, failure.reason, failure.detail)
        except DomainError as refusal:
            # The export is no longer the bdb's current action: nothing left to record.
            log.warning("export %s of bdb %s abandoned: %s", action_uid, uid, refusal.description)
        except Exception as error:  # any other way an exporter can break
            log.exception("export %s of bdb %s crashed", action_uid, uid)
            self._finish_failed(uid, action_uid, ExportFailureReason.GENERAL_ERROR, repr(error))
        else:
            self._service.record_export_success(uid, action_uid)

    def _finish_failed(
        self, uid: int, action_uid: str, reason: ExportFailureReason, detail: str
    ) -> None:
        try:
            self._service.record_export_failure(uid, action_uid, reason, detail)
        except DomainError as refusal:
            log.warning("failure of export %s not recorded: %s", action_uid, refusal.description)
