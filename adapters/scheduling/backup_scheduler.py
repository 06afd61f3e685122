"""Periodic backups: each bdb's `backup_interval`/`backup_interval_offset` turned into
backups started when due, exactly once across the replicas sharing a store.

Every `tick` seconds each replica computes each scheduled bdb's latest due moment
(`domain/backup_schedule.py`) and, for a moment it has not handled yet, tries to claim
it in the store (`Claims`). The schedules come from the store's index of the bdbs
whose periodic backups are on (`BdbRepository.scheduled`, kept in the same write as
each bdb), so a listing costs in proportion to those bdbs, not to the store: a million
bdbs of which ten back up cost a listing of ten. The loop still re-reads them only once
the time since the last listing is `1 / RESCAN_SHARE` times what that listing took (at
every look for a few scheduled bdbs, less often for many), so schedules never cost more
than that share of a core; a changed setting is seen at the next listing. The one
replica that wins calls `start_backup(uid)` — the composition root's "start a backup as
the scheduler and hand it to this replica's runner"; the others move on. The backup
itself runs like any other: the same use cases, statuses and exporter.

- A moment is considered while it is the latest one, so a replica that comes up (or a
  schedule that is switched on) within an interval whose backup nobody took, takes it
  then, late; earlier missed moments are not caught up.
- A refused start (the bdb is busy with another action, it has no location any more,
  the store is away) is logged and that moment is skipped: the next one comes. The
  same refusal of the same bdb is logged once, not at every due moment: a one-second
  schedule behind a backup that runs (or waits queued, or lapsed) for minutes, on a
  thousand bdbs, wrote a thousand lines a second. A different refusal is logged
  again, and the next start says how many moments were skipped meanwhile.
- One bdb whose schedule cannot be computed (settings out of range in a record written
  before they were validated) is skipped and logged once, until its settings change;
  the other bdbs' backups go on. A pass that fails as a whole (the list cannot be read)
  is logged once until a pass succeeds again, not on every tick.
- Exactly once holds as long as the claim outlives the moment (`claim_ttl`) and
  replicas' clocks agree within an interval and a minute; if the winner dies between
  its claim and the start, that moment's backup is lost (at most once). docs/backups.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bdbexport.domain.backup_schedule import BackupSchedule, claim_name
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.ports import BdbRepository, Claims, Clock

log = logging.getLogger("bdbexport.backups")

DEFAULT_TICK = 0.5
"""Longest pause between two looks at the schedules. The scheduler also wakes at each
next due moment it knows of, so backups start on time and replicas race for a moment
as it falls due; the tick bounds how late a changed schedule is noticed."""
WAKE_AFTER_DUE = timedelta(milliseconds=5)
"""Wake this long after a due moment, so the clock surely reads it as passed."""
RESCAN_SHARE = 0.05
"""At most this share of the time goes to listing the scheduled bdbs."""


class BackupScheduler:
    def __init__(
        self,
        bdbs: BdbRepository,
        claims: Claims,
        start_backup: Callable[[int], object],
        *,
        holder: str,
        clock: Clock,
        tick: float = DEFAULT_TICK,
    ) -> None:
        if tick <= 0:
            raise ValueError("the scheduler's tick must be positive")
        self._bdbs = bdbs
        self._claims = claims
        self._start_backup = start_backup
        self.holder = holder
        self._clock = clock
        self._tick = tick
        self._handled: dict[int, datetime] = {}
        self._unschedulable: dict[int, tuple[int | None, int | None]] = {}
        """Bdbs skipped because their schedule cannot be computed, with the settings
        that were logged: the same settings are not logged again."""
        self._refused: dict[int, tuple[str, int]] = {}
        """Per bdb, the refusal last logged and how many due moments it has skipped
        since: the same refusal is not logged again."""
        self._last_failure: str | None = None
        self._next_due: datetime | None = None
        self._schedules: dict[int, BackupSchedule] | None = None
        self._rescan_at = 0.0
        """`time.monotonic()` after which the loop lists the bdbs again."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self, *, rescan: bool = True) -> list[int]:
        """One look at every schedule: start the backups due now whose claim this
        replica wins; returns their bdb uids (what this replica started). With
        `rescan=False` (the loop) the schedules last listed are used unless a new
        listing is due (`RESCAN_SHARE`)."""
        if rescan or self._schedules is None or time.monotonic() >= self._rescan_at:
            self._rescan()
        assert self._schedules is not None
        now = self._clock.now()
        started: list[int] = []
        next_due: datetime | None = None
        for uid, schedule in self._schedules.items():
            due = schedule.latest_due(now)
            coming = due + schedule.interval
            next_due = coming if next_due is None else min(next_due, coming)
            if self._handled.get(uid) == due:
                continue
            self._handled[uid] = due
            if not self._claims.claim(claim_name(uid, due), self.holder, schedule.claim_ttl()):
                continue
            try:
                self._start_backup(uid)
            except DomainError as refusal:
                self._log_refusal(uid, due, refusal)
                continue
            except Exception:  # one bdb's unexpected failure never stops the others'
                log.exception(
                    "scheduled backup of bdb %s due %s failed to start", uid, due.isoformat()
                )
                continue
            skipped = self._refused.pop(uid, ("", 0))[1]
            if skipped:
                log.warning(
                    "scheduled backup of bdb %s due %s started; %s earlier due moments skipped",
                    uid,
                    due.isoformat(),
                    skipped,
                )
            else:
                log.info("scheduled backup of bdb %s due %s started", uid, due.isoformat())
            started.append(uid)
        self._next_due = next_due
        return started

    def _log_refusal(self, uid: int, due: datetime, refusal: DomainError) -> None:
        said = f"{refusal.code}: {refusal.description}"
        last, skipped = self._refused.get(uid, ("", 0))
        self._refused[uid] = (said, skipped + 1)
        if said == last:
            return  # said already, for this bdb: counted, told when a backup starts
        log.warning(
            "scheduled backup of bdb %s due %s not started: %s (said once until it changes)",
            uid,
            due.isoformat(),
            refusal.description,
        )

    def _rescan(self) -> None:
        """List the bdbs with periodic backups on (the store's index) and keep their
        schedules."""
        began = time.monotonic()
        now = self._clock.now()
        schedules: dict[int, BackupSchedule] = {}
        for bdb in self._bdbs.scheduled():
            try:
                schedule = BackupSchedule.of(bdb)
                if schedule is None:
                    continue
                schedule.latest_due(now)  # computable now, or skipped with one log line
            except (ValueError, ArithmeticError) as problem:
                self._skip_unschedulable(bdb, problem)
                continue
            self._unschedulable.pop(bdb.uid, None)
            schedules[bdb.uid] = schedule
        for uid in set(self._handled) - set(schedules):
            del self._handled[uid]
        for uid in set(self._refused) - set(schedules):
            del self._refused[uid]
        self._schedules = schedules
        finished = time.monotonic()
        self._rescan_at = finished + (finished - began) / RESCAN_SHARE

    def _skip_unschedulable(self, bdb: Bdb, problem: Exception) -> None:
        settings = (bdb.backup_interval, bdb.backup_interval_offset)
        if self._unschedulable.get(bdb.uid) == settings:
            return
        self._unschedulable[bdb.uid] = settings
        log.error(
            "periodic backups of bdb %s skipped: its schedule cannot be computed (%s);"
            " set valid backup settings (bdbexport db set %s --backup-interval ...)",
            bdb.uid,
            problem,
            bdb.uid,
        )

    def pause(self) -> float:
        """Seconds to wait before the next look: until just after the next due moment,
        at most `tick`."""
        if self._next_due is None:
            return self._tick
        until = (self._next_due + WAKE_AFTER_DUE - self._clock.now()).total_seconds()
        return min(max(until, 0.0), self._tick)

    def start(self) -> None:
        """Look at the schedules every `tick` seconds in a background thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="bdbexport-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.pause()):
            self.run_pass()

    def run_pass(self) -> None:
        """`run_due` as the loop runs it: a failed pass is logged once until a pass
        succeeds again (the same failure on every tick would flood the log)."""
        try:
            self.run_due(rescan=False)
        except DomainError as refusal:  # the store is away: try again next tick
            self._failed(f"backup schedules not read: {refusal.description}", trace=False)
        except Exception as error:
            self._failed(f"backup scheduler pass failed: {type(error).__name__}: {error}")
        else:
            self._last_failure = None

    def _failed(self, message: str, *, trace: bool = True) -> None:
        if message == self._last_failure:
            return
        self._last_failure = message
        if trace:
            log.exception("%s", message)
        else:
            log.warning("%s", message)
