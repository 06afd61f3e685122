"""The store's own faults, told apart from a request's, and said once.

A read-only file or directory, a full disk, an I/O error, a file that cannot be opened:
none of these is the request's fault, and retrying later may work, so each becomes
`StoreUnavailableError` (503, CLI exit 7), never a 500. A store file deleted or replaced
under a running process is one more: SQLite would go on writing into the unlinked
inode, answering 200 for changes nobody will ever read again, so every write first
checks that the path still names the file that was opened (device and inode) and
refuses otherwise. Reads go on from the open file where they can.

Each outage is logged once, in one line naming the file (the log is the operator's; the
error a client sees never names it), and its end once too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

from bdbexport.domain.errors import StoreUnavailableError

log = logging.getLogger("bdbexport.store")

UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_CORRUPT,
    }
)
"""Failures of the file or the disk rather than of the request: retrying later may work."""

REMOVED = "the store file was removed or replaced while in use"

_outages: dict[str, str] = {}
_outages_lock = threading.Lock()


def primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


class FileWatch:
    """One store file, as a process opened it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._opened = None if path == ":memory:" else _identity(path)

    def check(self) -> None:
        """Before a write: the path must still name the file that was opened."""
        if self._opened is None:
            return
        if _identity(self.path) != self._opened:
            raise self.down(REMOVED)

    def translate(self, error: sqlite3.Error) -> StoreUnavailableError | None:
        """The outage `error` is, if it is one (then logged once), else None."""
        if primary_code(error) not in UNAVAILABLE_CODES:
            return None
        # SQLite's own message ("disk I/O error", "attempt to write a readonly
        # database", "database or disk is full") never contains the path.
        return self.down(f"the SQLite store could not be read or written ({error})")

    def down(self, what: str) -> StoreUnavailableError:
        with _outages_lock:
            first = _outages.get(self.path) != what
            _outages[self.path] = what
        if first:
            log.error("store %s unavailable: %s; writes answer 503", self.path, what)
        return StoreUnavailableError(what)

    def up(self) -> None:
        """A write went through: an outage logged before is over."""
        if not _outages:
            return
        with _outages_lock:
            was = _outages.pop(self.path, None)
        if was is not None:
            log.warning("store %s available again", self.path)
