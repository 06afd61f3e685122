"""Housekeeping: temporary files of exports that died.

A worker removes its `.partial` file whenever its export ends, but a process killed
mid-export (`kill -9`, a crash, a lost machine) cannot. Its file names the bdb and the
action (`.<name>-db<uid>-<action uid>.rdb.partial`), so a sweep of the export roots
can tell whose it is and ask the store whether that action still runs: if it does not
(another action, no action, an expired lease), the file is removed. A file whose
export may still be running somewhere (another replica sharing the roots) is kept, and
so is every file when the store cannot say.

Sweeps run when the server starts and, in the background, whenever a lease expiry
fails an export.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.events import LEASE_EXPIRY_ACTOR, ActionFailed

from .export_roots import ExportRoots
from .sinks import PARTIAL_NAME

log = logging.getLogger("bdbexport.exports")

MAX_ENTRIES = 100_000
"""Directory entries a sweep looks at, at most: a huge tree under a root (a NAS full of
old backups) bounds the sweep's cost instead of stalling it."""


class PartialSweeper:
    def __init__(
        self,
        roots: ExportRoots,
        lookup: Callable[[int], Bdb | None],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.roots = roots
        self._lookup = lookup
        self._now = now
        self._lock = threading.Lock()

    def still_running(self, uid: int, action_uid: str) -> bool:
        """Whether the action may still be writing its file. When the store cannot
        say, the answer is yes: a file is never removed on a guess."""
        try:
            bdb = self._lookup(uid)
        except Exception:
            return True
        if bdb is None or bdb.action_uid != action_uid:
            return False
        expires = bdb.action_lease_expires
        return expires is None or expires > self._now()

    def sweep(self) -> list[str]:
        """Remove the temporary files of exports that no longer run; returns their paths."""
        removed: list[str] = []
        with self._lock:
            seen = 0
            for root in self.roots.roots:
                for directory, _, files in os.walk(root, followlinks=False):
                    seen += 1 + len(files)
                    for name in files:
                        match = PARTIAL_NAME.match(name)
                        if match is None:
                            continue
                        if self.still_running(int(match["uid"]), match["action"]):
                            continue
                        path = os.path.join(directory, name)
                        try:
                            os.unlink(path)
                        except OSError:
                            continue
                        removed.append(path)
                    if seen > MAX_ENTRIES:
                        log.warning(
                            "partial-file sweep stopped after %d entries under the export roots",
                            MAX_ENTRIES,
                        )
                        return removed
        if removed:
            log.warning("removed %d partial file(s) of exports that died", len(removed))
        return removed

    def on_failed(self, event: ActionFailed) -> None:
        """An event handler: a lease expiry means a worker died; sweep in the
        background (never on the caller's thread, which may be the event loop)."""
        if event.actor == LEASE_EXPIRY_ACTOR:
            threading.Thread(target=self.sweep, name="bdbexport-sweep", daemon=True).start()
