"""A `BdbRepository` in a dict, safe to share between threads."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BdbAlreadyExistsError


class InMemoryBdbRepository:
    """Bdbs by uid, plus a sorted list of uids for ordered, resumable listing and the
    set of uids whose periodic backups are on (`scheduled`).

    Reads take no lock (a dict lookup is atomic and bdbs are immutable); writes take
    one so the compare, the set and the schedule index are a single step.
    """

    def __init__(self, bdbs: Iterable[Bdb] = ()) -> None:
        self._by_uid: dict[int, Bdb] = {}
        self._uids: list[int] = []
        self._scheduled: set[int] = set()
        self._lock = threading.Lock()
        for bdb in bdbs:
            self.add(bdb)

    def get(self, uid: int) -> Bdb | None:
        return self._by_uid.get(uid)

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> Iterator[Bdb]:
        start = bisect.bisect_right(self._uids, after_uid)
        stop = len(self._uids) if limit is None else start + max(limit, 0)
        for uid in self._uids[start:stop]:
            bdb = self._by_uid.get(uid)
            if bdb is not None:
                yield bdb

    def add(self, bdb: Bdb) -> None:
        with self._lock:
            if bdb.uid in self._by_uid:
                raise BdbAlreadyExistsError(bdb.uid)
            self._by_uid[bdb.uid] = bdb
            bisect.insort(self._uids, bdb.uid)
            self._index_schedule(bdb)

    def add_many(self, bdbs: Iterable[Bdb]) -> int:
        """Bulk load (seeding, benchmarks); an existing uid fails it, the ones before it
        stay added. Returns how many were added."""
        added = 0
        for bdb in bdbs:
            self.add(bdb)
            added += 1
        return added

    def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        with self._lock:
            current = self._by_uid.get(bdb.uid)
            if current is None or current.revision != expected_revision:
                return False
            self._by_uid[bdb.uid] = bdb
            self._index_schedule(bdb)
            return True

    def scheduled(self) -> Iterator[Bdb]:
        for uid in sorted(self._scheduled.copy()):
            bdb = self._by_uid.get(uid)
            if bdb is not None and bdb.backup:
                yield bdb

    def _index_schedule(self, bdb: Bdb) -> None:
        if bdb.backup:
            self._scheduled.add(bdb.uid)
        else:
            self._scheduled.discard(bdb.uid)

    def __len__(self) -> int:
        return len(self._by_uid)
