"""A worker: claims queued actions from the store's `WorkQueue` and runs them.

The API records an action and enqueues it; any worker sharing the store claims it
with a lease, runs the exporter or importer, and reports through the use cases of the
action's lifecycle (`kind`) as the in-replica runner does. What the queue adds:

- a claim whose worker stops heart-beating returns to the queue, and the next worker
  runs the action again from the start (attempt + 1); an attempt that breaks in a
  way worth retrying (`general-error`, a crash, a store outage) goes back with a
  back-off; only the last of `max_attempts` fails the action, with its reason;
- `drain()` (SIGTERM): claim nothing more, let running transfers finish within the
  drain timeout, then stop the rest (through `progress`, so partials are cleaned and
  an import's scratch server stopped) and hand them back uncounted (`release`).

One JSON line per claim, retry, release and end goes to `log_line` (docs/workers.md).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.errors import DomainError
from bdbexport.domain.export_outcome import ExportFailedError, ImportFailedError
from bdbexport.domain.family import LIFECYCLES
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.ports import Exporter, Importer
from bdbexport.domain.service import ActionService
from bdbexport.domain.statuses import ImportFailureReason
from bdbexport.domain.work_queue import Claim, WorkerInfo, WorkQueue, backoff

from .work_payload import Job, decode

GENERAL_ERROR = "general-error"


@dataclass(frozen=True)
class WorkerSettings:
    """How one worker behaves; docs/workers.md gives the defaults' reasons."""

    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    concurrency: int = 4
    max_running: int = 1_000_000
    """The cluster-wide cap on running transfers, decided in each claim."""
    max_attempts: int = 3
    lease: timedelta = timedelta(seconds=15)
    drain_timeout: float = 60.0
    backoff_first: timedelta = timedelta(seconds=2)
    backoff_cap: timedelta = timedelta(seconds=60)
    watch_every: float = 0.5
    """Seconds between checks that a running action was not cancelled meanwhile."""
    idle_wait: float = 1.0
    """Seconds an idle worker waits for a wake before claiming again (leases and
    back-offs run out without anyone pushing a wake)."""


class _StopError(Exception):
    """Raised into an exporter or importer through `progress`: stop and clean up."""


@dataclass
class _Running:
    claim: Claim
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    why: str = ""
    """Why `stop` was set: `lost` (lease lapsed), `cancelled`, `drain`."""


class QueueWorker:
    def __init__(
        self,
        queue: WorkQueue,
        service: ActionService,
        exporter: Exporter,
        importer: Importer | None,
        settings: WorkerSettings,
        *,
        log_line: Callable[[dict[str, object]], None] = lambda line: None,
        before_retry: Callable[[Job], list[str]] | None = None,
        keep_alive: Callable[[list[tuple[int, str, ExportLocation]]], None] | None = None,
    ) -> None:
        """`before_retry` removes what an earlier attempt of a job left behind (its
        temporary files: `PartialSweeper.remove_partials`); `keep_alive` is given the
        exports and backups running here on every tick (`PartialSweeper.keep_alive`)."""
        if settings.concurrency < 1 or settings.max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        self._queue = queue
        self._service = service
        self._exporter = exporter
        self._importer = importer
        self.settings = settings
        self._log = log_line
        self._before_retry = before_retry
        self._keep_alive = keep_alive
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._slot_freed = threading.Event()
        self._draining = threading.Event()
        self._done = threading.Event()

    # --- the loop -------------------------------------------------------------------

    def run(self) -> None:
        """Claim and run until `drain()`; then drain and return."""
        ticker = threading.Thread(target=self._tick, name="bdbexport-worker-tick", daemon=True)
        self._register()
        ticker.start()
        try:
            while not self._draining.is_set():
                if self._free_slots() > 0:
                    claim = self._queue.claim(
                        self.settings.name, self.settings.lease, self.settings.max_running
                    )
                    if claim is not None:
                        self._start(claim)
                        continue
                    self._queue.wait(self.settings.idle_wait)
                else:
                    self._slot_freed.wait(self.settings.idle_wait)
                    self._slot_freed.clear()
            self._drain()
        finally:
            self._done.set()
            ticker.join(5)
            self._queue.forget(self.settings.name)

    def drain(self) -> None:
        """Stop claiming; `run` lets running transfers finish, then hands the rest back."""
        self._draining.set()
        self._slot_freed.set()

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def _free_slots(self) -> int:
        with self._lock:
            return self.settings.concurrency - len(self._running)

    def _drain(self) -> None:
        deadline = time.monotonic() + self.settings.drain_timeout
        self._log({"event": "drain", "worker": self.settings.name, "running": self.running()})
        while self.running() and time.monotonic() < deadline:
            self._slot_freed.wait(0.1)
            self._slot_freed.clear()
        with self._lock:
            left = list(self._running.values())
        for entry in left:
            entry.why = entry.why or "drain"
            entry.stop.set()
        for entry in left:
            if entry.thread is not None:
                entry.thread.join(30)

    def _start(self, claim: Claim) -> None:
        entry = _Running(claim)
        with self._lock:
            self._running[claim.work.action_uid] = entry
        entry.thread = threading.Thread(
            target=self._run_one, args=(entry,), name=f"bdbexport-{claim.work.action_uid}"
        )
        entry.thread.start()

    # --- heartbeats: the queue's lease, the bdb's lease, the watch for cancels --------

    def _tick(self) -> None:
        """Every `watch_every` seconds: has a running action been cancelled (one read of
        its bdb)? Every lease/3: the heartbeats, the registration, the partials' touch."""
        every = self.settings.lease.total_seconds() / 3
        next_beat = time.monotonic() + every
        while not self._done.wait(min(self.settings.watch_every, every)):
            beat = time.monotonic() >= next_beat
            if beat:
                next_beat = time.monotonic() + every
                self._register()
            with self._lock:
                entries = list(self._running.values())
            if beat:
                self._keep_fresh(entries)
            for entry in entries:
                try:
                    self._watch(entry, beat)
                except Exception as error:  # a store blip: the lease decides
                    self._log(
                        {"event": "heartbeat-failed", "action": _uid(entry), "error": repr(error)}
                    )

    def _keep_fresh(self, entries: list[_Running]) -> None:
        if self._keep_alive is None:
            return
        writing = []
        for entry in entries:
            if entry.claim.work.kind != ActionKind.IMPORT.value:
                job = decode(entry.claim.work)
                writing.append((job.bdb_uid, job.action_uid, job.location))
        try:
            self._keep_alive(writing)
        except Exception as error:
            self._log({"event": "keep-alive-failed", "error": repr(error)})

    def _watch(self, entry: _Running, beat: bool) -> None:
        claim = entry.claim
        if beat and not self._queue.heartbeat(claim, self.settings.lease):
            entry.why = entry.why or "lost"
            entry.stop.set()
            return
        current = self._service.peek(claim.work.bdb_uid)
        if current is None or current.action_uid != claim.work.action_uid:
            entry.why = entry.why or "cancelled"
            entry.stop.set()
            return
        if beat:
            kind = ActionKind(claim.work.kind)
            self._service.record_progress(claim.work.bdb_uid, claim.work.action_uid, None, kind)

    def _register(self) -> None:
        self._queue.register(
            WorkerInfo(
                self.settings.name,
                socket.gethostname(),
                os.getpid(),
                self.settings.concurrency,
                datetime.now(UTC),
            )
        )

    # --- one attempt -----------------------------------------------------------------

    def _run_one(self, entry: _Running) -> None:
        claim = entry.claim
        try:
            self._attempt(entry)
        except Exception as error:  # never let a worker thread die silently
            self._log({"event": "crash", "action": _uid(entry), "error": repr(error)})
            self._queue.retry(claim, f"{GENERAL_ERROR}: {error!r}", self._backoff(claim))
        finally:
            with self._lock:
                self._running.pop(claim.work.action_uid, None)
            self._slot_freed.set()

    def _backoff(self, claim: Claim) -> timedelta:
        s = self.settings
        return backoff(claim.attempt, first=s.backoff_first, cap=s.backoff_cap)

    def _end(self, entry: _Running, outcome: str, **more: object) -> None:
        self._queue.complete(entry.claim)
        self._log({"event": "end", "action": _uid(entry), "outcome": outcome, **more})

    def _attempt(self, entry: _Running) -> None:
        claim, service = entry.claim, self._service
        job = decode(claim.work)
        uid, action_uid, kind = job.bdb_uid, job.action_uid, job.kind
        self._log(
            {
                "event": "claim",
                "worker": self.settings.name,
                "action": action_uid,
                "kind": kind.value,
                "bdb": uid,
                "attempt": claim.attempt,
                "last_error": claim.last_error,
            }
        )
        current = service.peek(uid)
        if current is None or current.action_uid != action_uid:
            self._end(entry, "gone")  # cancelled, or failed by lease expiry meanwhile
            return
        if claim.attempt > self.settings.max_attempts:
            detail = f"gave up after {claim.attempt - 1} attempts; last: {claim.last_error}"
            service.record_failure(uid, action_uid, GENERAL_ERROR, detail, kind, notify=job.notify)
            self._end(entry, "failed", reason=GENERAL_ERROR, detail=detail)
            return
        service.record_progress(uid, action_uid, None, kind)  # queued -> running
        if claim.attempt > 1 and self._before_retry is not None and kind is not ActionKind.IMPORT:
            removed = self._before_retry(job)
            if removed:
                self._log({"event": "cleaned", "action": action_uid, "removed": removed})
        floor = getattr(service.peek(uid) or current, LIFECYCLES[kind].progress_field)

        def progress(percent: int) -> None:
            nonlocal floor
            if entry.stop.is_set():
                raise _StopError(entry.why)
            if min(percent, 99) > floor:
                floor = min(percent, 99)
                service.record_progress(uid, action_uid, floor, kind)

        try:
            size = self._work(job, progress)
        except (_StopError, DomainError) as stopped:
            self._stopped(entry, stopped)
            return
        except (ExportFailedError, ImportFailedError) as failure:
            if entry.stop.is_set():
                self._stopped(entry, failure)
                return
            self._failed(entry, job, str(failure.reason), failure.detail)
            return
        except Exception as error:
            self._failed(entry, job, GENERAL_ERROR, repr(error))
            return
        service.record_success(uid, action_uid, kind, notify=job.notify, size_bytes=size)
        self._end(entry, "succeeded", attempt=claim.attempt)

    def _work(self, job: Job, progress: Callable[[int], None]) -> int | None:
        bdb = self._service.peek(job.bdb_uid)
        if bdb is None:
            raise _StopError("the database is gone")
        if job.kind is ActionKind.IMPORT:
            if self._importer is None:  # another worker may have one: retried
                raise ImportFailedError(ImportFailureReason.GENERAL_ERROR, "no importer here")
            return self._importer.import_rdb(bdb, job.location, flush=job.flush, progress=progress)
        return self._exporter.export(bdb, job.location, progress)

    def _stopped(self, entry: _Running, why: Exception) -> None:
        claim = entry.claim
        if entry.why == "drain":
            self._queue.release(claim)
            self._log({"event": "release", "action": _uid(entry), "attempt": claim.attempt})
        elif entry.why == "lost":
            self._log({"event": "lost", "action": _uid(entry), "attempt": claim.attempt})
        elif isinstance(why, DomainError) and why.retryable:
            self._queue.retry(claim, f"{GENERAL_ERROR}: {why.description}", self._backoff(claim))
            self._log({"event": "retry", "action": _uid(entry), "error": why.description})
        else:
            self._end(entry, "stopped", why=entry.why or str(why))

    def _failed(self, entry: _Running, job: Job, reason: str, detail: str) -> None:
        claim = entry.claim
        if reason == GENERAL_ERROR and claim.attempt < self.settings.max_attempts:
            error = f"{reason}: {detail}"
            self._queue.retry(claim, error, self._backoff(claim))
            self._log(
                {
                    "event": "retry",
                    "action": job.action_uid,
                    "attempt": claim.attempt,
                    "error": error,
                }
            )
            return
        self._service.record_failure(
            job.bdb_uid, job.action_uid, reason, detail, job.kind, notify=job.notify
        )
        self._end(entry, "failed", reason=reason, detail=detail, attempt=claim.attempt)


def _uid(entry: _Running) -> str:
    return entry.claim.work.action_uid
