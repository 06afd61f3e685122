"""Exports, imports and backups run in the background of the replica that accepted them.

One bounded pool of threads (exporters and importers block on I/O) drives each action
from its start, already committed by the use case, to its end. Reports go through the
use cases of the action's own lifecycle (`kind`), so its state machine sees every step,
and any way an action can end (success, `ExportFailedError` / `ImportFailedError`, an
unexpected error, shutdown) ends in `succeeded` or `failed` — or it was cancelled, which
the cancel use case has already recorded.

Queued actions hold no lease they are not using: the ticker heartbeats only actions a
worker is running. A queued action's lease may lapse while it waits (a long queue);
any request then fails it (`general-error`, "lease expired"), and when a worker takes
it the first report — a heartbeat, made before any work — is refused, so it is skipped
without touching the data. The same first report turns its record from `queued` into
`running`.

Cancellation: every `watch_every` seconds the ticker reads the bdb of each running
action; when the bdb no longer names that action (cancelled, or failed by another
replica), the action's flag is set and its next `progress` call raises, which makes
the exporter or importer stop and clean up (their port's contract). A report refused
for a reason that may pass (`store_unavailable`, `concurrent_update`) is retried with
growing pauses for half a lease; only a final refusal ends the worker's part.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.export_outcome import ExportFailedError, ImportFailedError
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.ports import Exporter, Importer
from bdbexport.domain.service import ActionService

log = logging.getLogger("bdbexport.exports")

RETRY_FIRST_PAUSE = 0.05
RETRY_MAX_PAUSE = 2.0
WATCH_EVERY = 0.5
"""Seconds between checks that a running action is still its bdb's (a cancel)."""

GENERAL_ERROR = "general-error"
"""Every member's vocabulary has it: a crash or a shutdown."""


class ActionStoppedError(Exception):
    """Raised into an exporter or importer through `progress`: its action was
    cancelled or failed elsewhere; it must stop and clean up."""


class NoImporterError(Exception):
    """An import was submitted to a runner built without an importer."""


@dataclass
class _Running:
    uid: int
    kind: ActionKind
    future: Future[None] | None = None
    active: bool = False
    """A worker runs it (False while it waits in the queue)."""
    stopped: threading.Event = field(default_factory=threading.Event)
    location: ExportLocation | None = None
    """Where an export or backup writes (None for an import): for `keep_alive`."""


class ActionRunner:
    """The worker pool of one replica, for every member of the family."""

    def __init__(
        self,
        service: ActionService,
        exporter: Exporter,
        importer: Importer | None = None,
        *,
        max_concurrent: int = 4,
        stopping: threading.Event | None = None,
        heartbeat_every: float | None = None,
        retry_budget: float | None = None,
        watch_every: float = WATCH_EVERY,
        keep_alive: Callable[[list[tuple[int, str, ExportLocation]]], None] | None = None,
        keep_alive_every: float = 60.0,
    ) -> None:
        """`keep_alive`, when given, is called from the ticker every `keep_alive_every`
        seconds with the exports and backups a worker runs (bdb uid, action uid,
        destination): the partial-file sweeper touches their temporary files."""
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._service = service
        self._exporter = exporter
        self._importer = importer
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="bdbexport-action")
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self.stopping = stopping or threading.Event()
        self._closed = threading.Event()
        self._heartbeat_every = (
            heartbeat_every
            if heartbeat_every is not None
            else service.lease_ttl.total_seconds() / 3
        )
        self._watch_every = min(watch_every, self._heartbeat_every)
        self._keep_alive = keep_alive
        self._keep_alive_every = keep_alive_every
        self._ticker: threading.Thread | None = None
        self.retry_budget = (
            retry_budget if retry_budget is not None else service.lease_ttl.total_seconds() / 2
        )
        """Seconds a report is retried through retryable refusals: half the lease, so
        an action outlives a store blip and still fails by lease if the store stays away."""

    @property
    def imports_supported(self) -> bool:
        return self._importer is not None

    def submit(
        self,
        bdb: Bdb,
        location: ExportLocation,
        notify: bool = False,
        *,
        kind: ActionKind = ActionKind.EXPORT,
        flush: bool = False,
    ) -> None:
        """Run the action `bdb.action_uid` names; `bdb` is the one its start returned.
        `location` is where an export or backup goes, where an import comes from; with
        `notify`, its end is announced; `flush` (imports) replaces the data."""
        action_uid = bdb.action_uid
        if action_uid is None:
            raise ValueError("submit takes the bdb its start returned")
        if kind is ActionKind.IMPORT and self._importer is None:
            raise NoImporterError("this server was built without an importer")
        entry = _Running(bdb.uid, kind, location=None if kind is ActionKind.IMPORT else location)
        with self._lock:
            self._running[action_uid] = entry
            if self._ticker is None:
                self._ticker = threading.Thread(
                    target=self._tick, name="bdbexport-heartbeat", daemon=True
                )
                self._ticker.start()
        future = self._executor.submit(self._run, bdb, action_uid, entry, location, notify, flush)
        entry.future = future
        future.add_done_callback(lambda _: self._forget(action_uid))

    def running(self) -> int:
        """Actions submitted and not yet ended (queued or running)."""
        with self._lock:
            return len(self._running)

    def shutdown(self, grace: float = 10.0) -> None:
        """Let running actions finish for `grace` seconds, then stop the rest as failed.

        Queued actions are not cancelled (their bdbs would stay running): they start,
        see the stop signal at once and are recorded as failed.
        """
        with self._lock:
            futures = [entry.future for entry in self._running.values() if entry.future]
        _, pending = wait(futures, timeout=grace)
        if pending:
            self.stopping.set()
        self._executor.shutdown(wait=True)
        self._closed.set()

    # --- the ticker: heartbeats and the watch for cancels ------------------------------

    def _tick(self) -> None:
        next_heartbeat = time.monotonic() + self._heartbeat_every
        next_keep_alive = time.monotonic() + self._keep_alive_every
        while not self._closed.wait(self._watch_every):
            with self._lock:
                active = [(uid, e) for uid, e in self._running.items() if e.active]
            heartbeat = time.monotonic() >= next_heartbeat
            if heartbeat:
                next_heartbeat = time.monotonic() + self._heartbeat_every
            if self._keep_alive is not None and time.monotonic() >= next_keep_alive:
                next_keep_alive = time.monotonic() + self._keep_alive_every
                writing = [(e.uid, uid, e.location) for uid, e in active if e.location]
                try:
                    self._keep_alive(writing)
                except Exception:
                    log.exception("keeping temporary files fresh failed")
            for action_uid, entry in active:
                try:
                    self._check(action_uid, entry, heartbeat)
                except Exception:
                    log.exception("watch of action %s failed", action_uid)

    def _check(self, action_uid: str, entry: _Running, heartbeat: bool) -> None:
        if heartbeat:
            try:
                self._service.record_progress(entry.uid, action_uid, None, entry.kind)
                return
            except DomainError as refusal:
                log.warning("heartbeat of %s refused: %s", action_uid, refusal.description)
                if refusal.retryable:
                    return
        try:
            current = self._service.peek(entry.uid)
        except DomainError:
            return  # the store is away: the heartbeats' retries and the lease decide
        if current is None or current.action_uid != action_uid:
            entry.stopped.set()

    # --- one action, from the queue to its end ----------------------------------------

    def _reliably(self, report: Callable[[], object]) -> None:
        """Make a report, retrying refusals that say "try again" (`store_unavailable`,
        `concurrent_update`) with growing pauses for up to `retry_budget` seconds, so a
        store blip does not end an action; the heartbeats keep its lease alive meanwhile.
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
                raise _ShutdownError()
            pause = min(pause * 2, RETRY_MAX_PAUSE)

    def _forget(self, action_uid: str) -> None:
        with self._lock:
            self._running.pop(action_uid, None)

    def _run(
        self,
        bdb: Bdb,
        action_uid: str,
        entry: _Running,
        location: ExportLocation,
        notify: bool,
        flush: bool,
    ) -> None:
        """Drive the action to its end. With `notify`, the end event asks the
        notification handler to announce it."""
        uid, kind, service = bdb.uid, entry.kind, self._service
        try:
            # The first report, before any work: a queued action whose lease lapsed (or
            # that was cancelled while it waited) is refused here, and skipped.
            self._reliably(lambda: service.record_progress(uid, action_uid, None, kind))
        except (DomainError, _ShutdownError) as refusal:
            log.warning("%s %s of bdb %s skipped: %s", kind, action_uid, uid, refusal)
            return
        entry.active = True
        if self.stopping.is_set():
            self._finish_failed(uid, action_uid, kind, GENERAL_ERROR, "server shutdown", notify)
            return

        def progress(percent: int) -> None:
            if self.stopping.is_set():
                raise _ShutdownError()
            if entry.stopped.is_set():
                raise ActionStoppedError(f"{kind} {action_uid} was cancelled")
            self._reliably(lambda: service.record_progress(uid, action_uid, min(percent, 99), kind))

        try:
            size_bytes = self._work(bdb, kind, location, flush, progress)
        except (ExportFailedError, ImportFailedError) as failure:
            self._finish_failed(uid, action_uid, kind, failure.reason, failure.detail, notify)
            return
        except _ShutdownError:
            self._finish_failed(uid, action_uid, kind, GENERAL_ERROR, "server shutdown", notify)
            return
        except (DomainError, ActionStoppedError) as stopped:
            # No longer the bdb's current action (cancelled, or failed elsewhere):
            # whoever ended it recorded how; nothing is left to record here.
            log.warning("%s %s of bdb %s stopped: %s", kind, action_uid, uid, stopped)
            return
        except Exception as error:  # any other way an exporter or importer can break
            log.exception("%s %s of bdb %s crashed", kind, action_uid, uid)
            self._finish_failed(uid, action_uid, kind, GENERAL_ERROR, repr(error), notify)
            return
        try:
            self._reliably(
                lambda: service.record_success(
                    uid, action_uid, kind, notify=notify, size_bytes=size_bytes
                )
            )
        except (DomainError, _ShutdownError) as refusal:
            log.warning("success of %s %s not recorded: %s", kind, action_uid, refusal)

    def _work(
        self,
        bdb: Bdb,
        kind: ActionKind,
        location: ExportLocation,
        flush: bool,
        progress: Callable[[int], None],
    ) -> int | None:
        """The bytes the exporter or importer moved, when it can tell (for the metrics)."""
        if kind is ActionKind.IMPORT:
            assert self._importer is not None  # checked by submit
            return self._importer.import_rdb(bdb, location, flush=flush, progress=progress)
        # A backup is an export to the bdb's backup location.
        return self._exporter.export(bdb, location, progress)

    def _finish_failed(
        self,
        uid: int,
        action_uid: str,
        kind: ActionKind,
        reason: str,
        detail: str,
        notify: bool,
    ) -> None:
        try:
            self._reliably(
                lambda: self._service.record_failure(
                    uid, action_uid, reason, detail, kind, notify=notify
                )
            )
        except (DomainError, _ShutdownError) as refusal:
            log.warning("failure of %s %s not recorded: %s", kind, action_uid, refusal)


class _ShutdownError(Exception):
    """The server is stopping: the action ends failed (`server shutdown`)."""

    def __str__(self) -> str:
        return "server shutdown"
