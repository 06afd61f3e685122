"""What the import changed in the target, so a cancelled or failed import can put it
back exactly: for every key it is about to overwrite or delete, the key's previous
value (Redis's `DUMP` of it) and time to live, or the fact that it did not exist.

Kept in a file in the import's work directory, not in memory: a flush over a large
database may journal much of it. Each key is journaled once (the first time it is
touched), so replaying the entries restores the state before the import.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

_ENTRY = struct.Struct(">IIBqI")  # db, key length, existed, pttl, dump length


class Entry(NamedTuple):
    db: int
    key: bytes
    dump: bytes | None
    """None when the key did not exist before the import."""
    pttl: int
    """Milliseconds left when journaled; 0 for a key without expiry."""


class UndoJournal:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: BinaryIO = path.open("xb+")
        self.entries = 0

    def __enter__(self) -> UndoJournal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._file.close()

    def record(self, entry: Entry) -> None:
        dump = entry.dump or b""
        self._file.write(
            _ENTRY.pack(entry.db, len(entry.key), entry.dump is not None, entry.pttl, len(dump))
        )
        self._file.write(entry.key)
        self._file.write(dump)
        self.entries += 1

    def replay(self) -> Iterator[Entry]:
        """Every entry, in the order recorded."""
        self._file.flush()
        self._file.seek(0)
        while header := self._file.read(_ENTRY.size):
            db, key_length, existed, pttl, dump_length = _ENTRY.unpack(header)
            key = self._file.read(key_length)
            dump = self._file.read(dump_length)
            yield Entry(db, key, dump if existed else None, pttl)
