"""Building the schedule index (`<prefix>bdbs:scheduled`) of a keyspace written before
it existed, once per keyspace.

New writes keep the index in their own scripts (`scripts.py`); this indexes what was
there before. It runs at most once per keyspace: `<prefix>bdbs:scheduled:built`
records that the index covers every bdb, and a replica that finds the marker never
builds again (deleting the marker makes the next reader rebuild, e.g. after older
replicas, which write bdbs without the index, are gone: docs/storage.md).

Page by page (500 uids of the listing index): one script finds, on the server, the
bdbs whose document contains `"backup":true` (documents are compact JSON, so every
bdb with `backup` on does) and returns only those, with their revisions; the few
returned are parsed to be sure (the text is a search, not a reading of the JSON) and a
second script indexes each one whose revision has not moved since (a bdb written
meanwhile was indexed by its own write). So a million bdbs of which few back up cost
a million short string searches in Redis, not a million documents over the wire.
"""

from __future__ import annotations

from typing import cast

from bdbexport.domain.bdb import Bdb

from .connection import RedisConnection
from .scripts import INDEX_SCHEDULES, SCHEDULE_CANDIDATES, schedule_flag

PAGE = 500


class ScheduleIndexBuilder:
    def __init__(self, connection: RedisConnection, *, listing: str, index: str) -> None:
        self._redis = connection
        self._listing = listing
        self._index = index
        self._built = connection.key("bdbs", "scheduled", "built")
        self._candidates = connection.client.register_script(SCHEDULE_CANDIDATES)
        self._apply = connection.client.register_script(INDEX_SCHEDULES)
        self._known_built = False

    def ensure_built(self) -> None:
        """Build the index unless this keyspace has it (one `EXISTS`, then nothing)."""
        if self._known_built:
            return
        with self._redis.available():
            if not self._redis.client.exists(self._built):
                self._build()
                self._redis.client.set(self._built, 1)
        self._known_built = True

    def _build(self) -> None:
        cursor = 0
        while True:
            members = self._redis.client.zrangebyscore(
                self._listing, f"({cursor}", "+inf", start=0, num=PAGE
            )
            uids = [int(member) for member in cast("list[bytes]", members)]
            if uids:
                cursor = uids[-1]
                keys = [self._index, *(self._redis.key("bdb", uid) for uid in uids)]
                found = cast("list[bytes]", self._candidates(keys=keys, args=uids))
                self._index_candidates(found)
            if len(uids) < PAGE:
                return

    def _index_candidates(self, found: list[bytes]) -> None:
        """`found` is (uid, revision, document) after one another."""
        keys: list[str] = [self._index]
        args: list[int | bytes | str] = []
        for at in range(0, len(found), 3):
            uid, revision, doc = int(found[at]), found[at + 1], found[at + 2]
            keys.append(self._redis.key("bdb", uid))
            args += [uid, revision, schedule_flag(Bdb.model_validate_json(doc).backup)]
        if args:
            self._apply(keys=keys, args=args)
