"""Housekeeping: temporary files of exports that died.

A worker removes its `.partial` file whenever its export ends, but a process killed
mid-export (`kill -9`, a crash, a lost machine) cannot. Its file names the bdb and the
action (`.<name>-db<uid>-<action uid>.rdb.partial`), so a sweep of the export roots
can tell whose it is and ask the store about that action:

- it runs in our store (the bdb names it, its lease is alive): kept;
- our store knows the action (its record is in the action log) and it no longer runs:
  removed — its export died, on this replica or another one sharing our store;
- our store does not know the action: it may be another store's, written by a server
  that shares the export roots but not the store, and we cannot ask about it. It is
  kept while its file is fresh (modified within `STALE_AFTER`), removed once stale.
  A live export keeps its file fresh: every chunk it writes does, and while no bytes
  come (the source still preparing its snapshot, a stall) its worker touches the
  file every `KEEP_ALIVE_EVERY` (`keep_alive`, called by the action runner);
- the store cannot say: kept, always; a file is never removed on a guess.

Sweeps run when the server starts and, in the background, whenever a lease expiry
fails an export. docs/exports.md.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.events import LEASE_EXPIRY_ACTOR, ActionFailed
from bdbexport.domain.locations import ExportLocation, MountPointLocation
from bdbexport.domain.ports import ActionLog

from .export_roots import ExportRoots
from .sinks import PARTIAL_NAME

log = logging.getLogger("bdbexport.exports")

MAX_ENTRIES = 100_000
"""Directory entries a sweep looks at, at most: a huge tree under a root (a NAS full of
old backups) bounds the sweep's cost instead of stalling it."""
RECHECK_WITHIN = timedelta(minutes=5)
"""A lease-expiry sweep looks again for a lease that runs out this soon (`on_failed`)."""
RECHECK_MARGIN = 0.1
"""Seconds after that lease runs out."""
KEEP_ALIVE_EVERY = 60.0
"""Seconds between two touches of a running export's temporary file by its worker."""
STALE_AFTER = timedelta(minutes=10)
"""A temporary file of an action our store does not know is another store's export's
while it was modified this recently: ten touches, and room for clocks that disagree a
little (a file system shared between machines). A fixed time, not our lease, because
the other server's lease may be longer than ours."""


class PartialSweeper:
    def __init__(
        self,
        roots: ExportRoots,
        lookup: Callable[[int], Bdb | None],
        *,
        actions: ActionLog | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.roots = roots
        self._lookup = lookup
        self._actions = actions
        self._now = now
        self._stale_after = stale_after
        self._lock = threading.Lock()
        self._next_expiry: datetime | None = None
        """The earliest lease among the files the last sweep kept because their action
        ran in our store: a lease-expiry sweep looks again once it has run out."""
        self._kept_alive: dict[str, str] = {}
        """Action uid to the path of its temporary file, found by `keep_alive` (which
        alone uses it, from the runner's one ticker thread)."""

    def still_running(self, uid: int, action_uid: str) -> bool | None:
        """Whether the action may still be writing its file: True, False, or None
        when our store does not know the action (another store's, perhaps). When the
        store cannot say, the answer is True: a file is never removed on a guess."""
        try:
            bdb = self._lookup(uid)
            if bdb is not None and bdb.action_uid == action_uid:
                expires = bdb.action_lease_expires
                if expires is None:
                    return True
                if expires > self._now():
                    if self._next_expiry is None or expires < self._next_expiry:
                        self._next_expiry = expires
                    return True
                return False
            if self._actions is not None and self._actions.get(action_uid) is not None:
                return False
        except Exception:
            return True
        return None

    def _fresh(self, path: str) -> bool:
        """Modified within `stale_after` (or gone, or unreadable: nothing to remove)."""
        try:
            modified = datetime.fromtimestamp(os.stat(path, follow_symlinks=False).st_mtime, UTC)
        except OSError:
            return True
        return self._now() - modified < self._stale_after

    def sweep(self) -> list[str]:
        """Remove the temporary files of exports that no longer run; returns their paths."""
        removed: list[str] = []
        with self._lock:
            self._next_expiry = None
            seen = 0
            for root in self.roots.roots:
                for directory, _, files in os.walk(root, followlinks=False):
                    seen += 1 + len(files)
                    for name in files:
                        match = PARTIAL_NAME.match(name)
                        if match is None:
                            continue
                        path = os.path.join(directory, name)
                        running = self.still_running(int(match["uid"]), match["action"])
                        if running or (running is None and self._fresh(path)):
                            continue
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

    def keep_alive(self, running: Iterable[tuple[int, str, ExportLocation]]) -> None:
        """Touch the temporary files of the exports and backups running on this
        replica (bdb uid, action uid, destination), so a sweep by a server on another
        store sees them fresh. Called by the action runner every `KEEP_ALIVE_EVERY`
        seconds; each file is looked for once, then remembered while its action runs."""
        remembered, self._kept_alive = self._kept_alive, {}
        for uid, action_uid, location in running:
            if not isinstance(location, MountPointLocation):
                continue  # an FTP destination's file is not in our roots
            path = remembered.get(action_uid)
            if path is not None and _touch(path):
                self._kept_alive[action_uid] = path
                continue
            path = self._find(uid, action_uid, location)
            if path is not None and _touch(path):
                self._kept_alive[action_uid] = path

    def remove_partials(self, uid: int, action_uid: str, location: ExportLocation) -> list[str]:
        """Remove the temporary files an earlier attempt of this action left in its
        destination (a worker killed mid-export); returns their paths. A queue worker
        calls it before running an action again (docs/workers.md)."""
        if not isinstance(location, MountPointLocation):
            return []
        removed: list[str] = []
        while (path := self._find(uid, action_uid, location)) is not None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError:
                log.warning("cannot remove %s, left by an earlier attempt", path)
                break
            removed.append(path)
        return removed

    def _find(self, uid: int, action_uid: str, location: MountPointLocation) -> str | None:
        try:
            directory = self.roots.resolve(location.path)
            with os.scandir(directory) as entries:
                for entry in entries:
                    match = PARTIAL_NAME.match(entry.name)
                    if match and int(match["uid"]) == uid and match["action"] == action_uid:
                        return entry.path
        except Exception:  # outside the roots now, unreadable, gone: nothing to touch
            return None
        return None

    def on_failed(self, event: ActionFailed) -> None:
        """An event handler: a lease expiry means a worker died; sweep in the
        background (never on the caller's thread, which may be the event loop)."""
        if event.actor == LEASE_EXPIRY_ACTOR:
            threading.Thread(target=self._sweep_twice, name="bdbexport-sweep", daemon=True).start()

    def _sweep_twice(self) -> None:
        """Sweep, and once more when the earliest lease still running then has run out
        (within `RECHECK_WITHIN`): exports that died together (a killed process) have
        leases that run out a moment apart, and nothing else may fail the later ones."""
        self.sweep()
        expiry = self._next_expiry
        if expiry is None:
            return
        wait = (expiry - self._now()).total_seconds() + RECHECK_MARGIN
        if 0 < wait <= RECHECK_WITHIN.total_seconds():
            time.sleep(wait)
            self.sweep()


def _touch(path: str) -> bool:
    try:
        os.utime(path, follow_symlinks=False)
    except OSError:
        return False
    return True
