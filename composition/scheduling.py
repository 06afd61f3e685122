"""The backup scheduler of one replica, wired: part of the composition root.

It reads the store's bdbs, claims due moments in the store's `Claims` (a connection of
its own) and starts each won backup through `Application.start_scheduled_backup` (the
use case as the `backup-scheduler` principal, then this replica's runner).
docs/backups.md.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bdbexport.adapters.memory import SystemClock
from bdbexport.adapters.scheduling import BackupScheduler
from bdbexport.adapters.scheduling.backup_scheduler import DEFAULT_TICK
from bdbexport.domain.ports import Clock

from .application import Application
from .claims import open_claims


def replica_name() -> str:
    """Who holds a claim: this host and process, and a random part for restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RunningScheduler:
    scheduler: BackupScheduler
    _close_claims: Callable[[], None]

    def stop(self) -> None:
        """Stop looking at schedules (backups already started run on) and close."""
        self.scheduler.stop()
        self._close_claims()


def start_backup_scheduler(
    application: Application, clock: Clock | None = None, *, tick: float = DEFAULT_TICK
) -> RunningScheduler:
    """Start `application`'s backup scheduler in a background thread (on the system
    clock unless given one)."""
    clock = clock if clock is not None else SystemClock()
    claims, close = open_claims(application.store.url, clock)
    scheduler = BackupScheduler(
        application.store.bdbs,
        claims,
        application.start_scheduled_backup,
        holder=replica_name(),
        clock=clock,
        tick=tick,
    )
    scheduler.start()
    return RunningScheduler(scheduler, close)
