"""An `ActionLog` (and its async view) in a dict, safe to share between threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

from bdbexport.domain.action_records import ActionRecord
from bdbexport.domain.async_ports import AsyncActionLogOver


class InMemoryActionLog:
    """Records by action uid; writes take a lock so "unless finished" and the write
    are one step."""

    def __init__(self) -> None:
        self._records: dict[str, ActionRecord] = {}
        self._lock = threading.Lock()

    def get(self, action_uid: str) -> ActionRecord | None:
        return self._records.get(action_uid)

    def put(self, record: ActionRecord) -> bool:
        with self._lock:
            stored = self._records.get(record.action_uid)
            if stored is not None and stored.finished:
                return False
            self._records[record.action_uid] = record
            return True

    def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> Iterator[ActionRecord]:
        with self._lock:
            records = [r for r in self._records.values() if bdb_uid in (None, r.bdb_uid)]
        records.sort(key=lambda record: record.start_time, reverse=True)
        return iter(records if limit is None else records[: max(limit, 0)])

    def prune(self, *, keep: int, older_than: datetime) -> int:
        with self._lock:
            newest_first = sorted(
                self._records.values(), key=lambda record: record.start_time, reverse=True
            )
            doomed = [
                r
                for i, r in enumerate(newest_first)
                if r.finished and (i >= keep or r.start_time < older_than)
            ]
            for record in doomed:
                del self._records[record.action_uid]
            return len(doomed)


class AsyncInMemoryActionLog(AsyncActionLogOver[InMemoryActionLog]):
    """The async view of an `InMemoryActionLog` (a new one by default), run inline."""

    def __init__(self, shared: InMemoryActionLog | None = None) -> None:
        log = shared if shared is not None else InMemoryActionLog()
        super().__init__(log, reads=log)
