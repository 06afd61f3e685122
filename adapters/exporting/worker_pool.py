"""Exports run in the background of the replica that accepted them.

A bounded pool of threads (exporters block on I/O) drives each export from its start,
already committed by the use case, to its end: progress reports go through the use
cases, so the state machine sees every step, and any way an export can end (success,
`ExportFailedError`, an unexpected error, shutdown) ends in `succeeded` or `failed`.
A ticker heartbeats every running export, so its lease stays valid while its worker
lives even when the exporter reports no progress for a while; if this process dies,
the heartbeats stop and the lease lets any replica fail the export. A report refused
for a reason that may pass (`store_unavailable`, `concurrent_update`) is retried with
growing pauses for half a lease; only a final refusal ends the worker's part.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.ports import Exporter
from bdbexport.domain.service import ActionService
from bdbexport.domain.statuses import ExportFailureReason

log = logging.getLogger("bdbexport.exports")

RETRY_FIRST_PAUSE = 0.05
RETRY_MAX_PAUSE = 2.0


class ExportWorkerPool:
    def __init__(
        self,
        service: ActionService,
        exporter: Exporter,
        *,
        max_concurrent: int = 4,
        stopping: threading.Event | None = None,
        heartbeat_every: float | None = None,
        retry_budget: float | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._service = service
        self._exporter = exporter
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="bdbexport-export")
        self._running: dict[str, tuple[int, Future[None]]] = {}
        self._lock = threading.Lock()
        self.stopping = stopping or threading.Event()
        self._closed = threading.Event()
        self._heartbeat_every = (
            heartbeat_every
            if heartbeat_every is not None
            else service.lease_ttl.total_seconds() / 3
        )
        self._ticker: threading.Thread | None = None
        self.retry_budget = (
            retry_budget if retry_budget is not None else service.lease_ttl.total_seconds() / 2
        )
        """Seconds a report is retried through retryable refusals: half the lease, so
        an export outlives a store blip and still fails by lease if the store stays away."""

    def submit(self, bdb: Bdb, location: ExportLocation, notify: bool = False) -> None:
        """Run the export `bdb.action_uid` names; `bdb` is the one `start_export` returned.
        With `notify`, its end is announced (by the notification handler)."""
        action_uid = bdb.action_uid
        if action_uid is None:
            raise ValueError("submit takes the bdb returned by start_export")
        future = self._executor.submit(self._run, bdb, action_uid, location, notify)
        with self._lock:
            self._running[action_uid] = (bdb.uid, future)
            if self._ticker is None:
                self._ticker = threading.Thread(
                    target=self._heartbeats, name="bdbexport-heartbeat", daemon=True
                )
                self._ticker.start()
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
            futures = [future for _, future in self._running.values()]
        _, pending = wait(futures, timeout=grace)
        if pending:
            self.stopping.set()
        self._executor.shutdown(wait=True)
        self._closed.set()

    def _heartbeats(self) -> None:
        while not self._closed.wait(self._heartbeat_every):
            with self._lock:
                running = list(self._running.items())
            for action_uid, (uid, _) in running:
                try:
                    self._service.record_export_heartbeat(uid, action_uid)
                except DomainError as refusal:
                    log.warning(
                        "heartbeat of export %s refused: %s", action_uid, refusal.description
                    )
                except Exception:
                    log.exception("heartbeat of export %s failed", action_uid)

    def _reliably(self, report: Callable[[], object]) -> None:
        """Make a report, retrying refusals that say "try again" (`store_unavailable`,
        `concurrent_update`) with growing pauses for up to `retry_budget` seconds, so a
        store blip does not end an export; the heartbeats keep its lease alive meanwhile.
        A final refusal, or one that outlasts the budget, is raised."""
        deadline = time.monotonic() + self.retry_budget
        pause = RETRY_FIRST_PAUSE
        while True:
            try:
                report()
                return
            except DomainError as refusal:
                if not refusal.retryable or time.monotonic() + pause > deadline:
                    raise
                log.warning("report retried in %.2fs: %s", pause, refusal.description)
            if self.stopping.wait(pause):
                raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, "server shutdown")
            pause = min(pause * 2, RETRY_MAX_PAUSE)

    def _forget(self, action_uid: str) -> None:
        with self._lock:
            self._running.pop(action_uid, None)

    def _run(self, bdb: Bdb, action_uid: str, location: ExportLocation, notify: bool) -> None:
        """Drive the export to its end. With `notify`, the end event asks the
        notification handler to announce it."""
        uid = bdb.uid

        def progress(percent: int) -> None:
            if self.stopping.is_set():
                raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, "server shutdown")
            self._reliably(lambda: self._service.record_progress(uid, action_uid, min(percent, 99)))

        try:
            self._exporter.export(bdb, location, progress)
        except ExportFailedError as failure:
            self._finish_failed(uid, action_uid, failure.reason, failure.detail, notify)
            return
        except DomainError as refusal:
            # The export is no longer the bdb's current action: nothing left to record.
            log.warning("export %s of bdb %s abandoned: %s", action_uid, uid, refusal.description)
            return
        except Exception as error:  # any other way an exporter can break
            log.exception("export %s of bdb %s crashed", action_uid, uid)
            self._finish_failed(
                uid, action_uid, ExportFailureReason.GENERAL_ERROR, repr(error), notify
            )
            return
        try:
            self._reliably(lambda: self._service.record_success(uid, action_uid, notify=notify))
        except DomainError as refusal:
            log.warning("success of export %s not recorded: %s", action_uid, refusal.description)

    def _finish_failed(
        self, uid: int, action_uid: str, reason: ExportFailureReason, detail: str, notify: bool
    ) -> None:
        try:
            self._reliably(
                lambda: self._service.record_failure(uid, action_uid, reason, detail, notify=notify)
            )
        except DomainError as refusal:
            log.warning("failure of export %s not recorded: %s", action_uid, refusal.description)
