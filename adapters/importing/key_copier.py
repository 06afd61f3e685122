"""Moving keys from the scratch loader into the target with `DUMP`/`PTTL` and
`RESTORE ... REPLACE`, in pipelined batches, journaling what each write replaces.

The values cross as Redis's own serialization (the `DUMP` payload: the RDB encoding
of one value, with its version and checksum), so every type the loader read —
streams with their consumer groups included — arrives exactly as the file held it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.statuses import ImportFailureReason

from .resp import Arg, ConnectionLostError, RespConnection, RespError
from .undo_journal import Entry, UndoJournal

MAX_PIPELINE_BYTES = 8 * 1024 * 1024
"""A pipeline of RESTOREs is sent once it holds this many bytes of payload."""


def keyspace(connection: RespConnection) -> dict[int, int]:
    """Keys per database number, from `INFO keyspace`."""
    info = connection.call("INFO", "keyspace")
    counts: dict[int, int] = {}
    text = info.decode() if isinstance(info, bytes) else ""
    for line in text.splitlines():
        if line.startswith("db") and ":" in line:
            name, fields = line.split(":", 1)
            values = dict(field.split("=", 1) for field in fields.split(","))
            counts[int(name[2:])] = int(values.get("keys", "0"))
    return counts


class KeyCopier:
    def __init__(
        self,
        loader: RespConnection,
        target: RespConnection,
        journal: UndoJournal,
        *,
        batch: int,
        done: Callable[[int], None],
    ) -> None:
        self._loader = loader
        self._target = target
        self._journal = journal
        self._batch = batch
        self._done = done
        self._target_db = 0
        self._touched: dict[int, set[bytes]] = {}

    def copy_database(self, db: int) -> None:
        """Every key of the loader's database `db` into the target's, the file winning."""
        self._loader.call("SELECT", db)
        self._select_target(db)
        touched = self._touched.setdefault(db, set())
        cursor: bytes = b"0"
        while True:
            cursor, found = _scan(self._loader, cursor, self._batch)
            keys = [key for key in found if key not in touched]
            if keys:
                touched.update(keys)
                values = self._loader.pipeline(
                    [command for key in keys for command in (("PTTL", key), ("DUMP", key))]
                )
                self._journal_previous(db, keys)
                restores: list[Sequence[Arg]] = []
                for index, key in enumerate(keys):
                    pttl, dump = values[2 * index], values[2 * index + 1]
                    if isinstance(dump, bytes) and isinstance(pttl, int):
                        restores.append(("RESTORE", key, max(pttl, 0), dump, "REPLACE"))
                self._write(restores)
                self._done(len(found))
            if cursor == b"0":
                return

    def delete_missing(self, db: int) -> None:
        """Delete the target's keys of database `db` that the file does not hold."""
        self._loader.call("SELECT", db)
        self._select_target(db)
        touched = self._touched.setdefault(db, set())
        cursor: bytes = b"0"
        while True:
            cursor, found = _scan(self._target, cursor, self._batch)
            keys = [key for key in found if key not in touched]
            if keys:
                present = self._loader.pipeline([("EXISTS", key) for key in keys])
                stale = [key for key, there in zip(keys, present, strict=True) if there == 0]
                if stale:
                    touched.update(stale)
                    self._journal_previous(db, stale)
                    self._write([("DEL", key) for key in stale])
                self._done(len(found))
            if cursor == b"0":
                return

    def undo(self) -> None:
        """Put back every journaled key as it was before the import."""
        pending: list[Sequence[Arg]] = []
        for entry in self._journal.replay():
            if entry.db != self._target_db:
                self._write(pending)
                pending = []
                self._select_target(entry.db)
            if entry.dump is None:
                pending.append(("DEL", entry.key))
            else:
                pending.append(("RESTORE", entry.key, entry.pttl, entry.dump, "REPLACE"))
            if len(pending) >= self._batch:
                self._write(pending)
                pending = []
        self._write(pending)

    def _select_target(self, db: int) -> None:
        if db != self._target_db:
            self._target.call("SELECT", db)
            self._target_db = db

    def _journal_previous(self, db: int, keys: list[bytes]) -> None:
        previous = self._target.pipeline(
            [command for key in keys for command in (("PTTL", key), ("DUMP", key))]
        )
        for index, key in enumerate(keys):
            pttl, dump = previous[2 * index], previous[2 * index + 1]
            if isinstance(pttl, RespError):
                raise _refused(pttl)
            if isinstance(dump, RespError):
                raise _refused(dump)
            old = dump if isinstance(dump, bytes) else None
            self._journal.record(
                Entry(db, key, old, pttl if isinstance(pttl, int) and pttl > 0 else 0)
            )

    def _write(self, commands: Sequence[Sequence[Arg]]) -> None:
        start, size = 0, 0
        for index, command in enumerate(commands):
            size += sum(len(part) for part in command if isinstance(part, bytes))
            if size >= MAX_PIPELINE_BYTES or index == len(commands) - 1:
                for reply in self._target.pipeline(commands[start : index + 1]):
                    if isinstance(reply, RespError):
                        raise _refused(reply)
                start, size = index + 1, 0


def _scan(connection: RespConnection, cursor: bytes, count: int) -> tuple[bytes, list[bytes]]:
    reply = connection.call("SCAN", cursor, "COUNT", count)
    if not isinstance(reply, list) or len(reply) != 2:
        raise ConnectionLostError(f"SCAN answered {reply!r}")
    next_cursor, keys = reply
    if not isinstance(next_cursor, bytes) or not isinstance(keys, list):
        raise ConnectionLostError(f"SCAN answered {reply!r}")
    return next_cursor, [key for key in keys if isinstance(key, bytes)]


def _refused(error: RespError) -> ImportFailedError:
    if error.message.startswith("OOM"):
        return ImportFailedError(
            ImportFailureReason.OUT_OF_MEMORY, f"the target ran out of memory: {error.message}"
        )
    return ImportFailedError(
        ImportFailureReason.GENERAL_ERROR, f"the target refused a write: {error.message}"
    )
