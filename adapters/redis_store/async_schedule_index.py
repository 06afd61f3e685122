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

Written once, asynchronous (`AsyncScheduleIndexBuilder`); `schedule_index.py`'s
`ScheduleIndexBuilder` is generated from it by `tools/async_to_sync.py`.
"""

from __future__ import annotations

from typing import cast

from bdbexport.domain.bdb import Bdb

from .async_connection import AsyncRedisConnection
from .scripts import INDEX_SCHEDULES, SCHEDULE_CANDIDATES, schedule_flag

PAGE = 500


class AsyncScheduleIndexBuilder:
    def __init__(self, connection: AsyncRedisConnection, *, listing: str, index: str) -> None:
        self._redis = connection
        self._listing = listing
        self._index = index
        self._built = connection.key("bdbs", "scheduled", "built")
        self._known_built = False

    async def ensure_built(self) -> None:
        """Build the index unless this keyspace has it (one `EXISTS`, then nothing)."""
        if self._known_built:
            return
        if not await self._redis.call("EXISTS", self._built):
            await self._build()
            await self._redis.call("SET", self._built, 1)
        self._known_built = True

    async def _build(self) -> None:
        cursor = 0
        while True:
            members = await self._redis.call(
                "ZRANGEBYSCORE", self._listing, f"({cursor}", "+inf", "LIMIT", 0, PAGE
            )
            uids = [int(member) for member in cast("list[bytes]", members)]
            if uids:
                cursor = uids[-1]
                keys = [self._index, *(self._redis.key("bdb", uid) for uid in uids)]
                found = await self._redis.run_script(SCHEDULE_CANDIDATES, keys, [*uids])
                await self._index_candidates(cast("list[bytes]", found))
            if len(uids) < PAGE:
                return

    async def _index_candidates(self, found: list[bytes]) -> None:
        """`found` is (uid, revision, document) after one another."""
        keys: list[str] = [self._index]
        args: list[int | bytes | str] = []
        for at in range(0, len(found), 3):
            uid, revision, doc = int(found[at]), found[at + 1], found[at + 2]
            keys.append(self._redis.key("bdb", uid))
            args += [uid, revision, schedule_flag(Bdb.model_validate_json(doc).backup)]
        if args:
            await self._redis.run_script(INDEX_SCHEDULES, keys, [*args])
