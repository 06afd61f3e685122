"""The `ActionLog` over Redis: each action a hash, two sorted sets indexing them.

Written once, asynchronous: `action_log.py`'s `RedisActionLog` is generated from this
module by `tools/async_to_sync.py`, so both views use the same keys and script.

Each action is a hash `<prefix>action:<uid>` (`doc`: the record's JSON, `done`: 1 once
finished) changed only by one Lua script that refuses to touch a finished record (so
"unless finished" is atomic on the server and touches one key: Redis Cluster safe).
Two sorted sets index the records by start time: `<prefix>actions` (all) and
`<prefix>actions:bdb:<uid>` (one bdb's); they are written before the hash, so a crash
between leaves an index entry without a record (skipped when listing), never a hidden
record. Pruning reads the index oldest first and removes finished records only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

from bdbexport.domain.action_records import ActionRecord

from .async_connection import AsyncRedisConnection
from .scripts import PUT_UNLESS_FINISHED


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _done(record: ActionRecord) -> str:
    return "1" if record.finished else "0"


def _removable(record: ActionRecord | None) -> bool:
    """A finished record, or an index entry whose record is gone."""
    return record is None or record.finished


class AsyncRedisActionLog:
    def __init__(self, connection: AsyncRedisConnection) -> None:
        self._redis = connection
        self._index = connection.key("actions")

    def _key(self, action_uid: str) -> str:
        return self._redis.key("action", action_uid)

    def _bdb_index(self, bdb_uid: int) -> str:
        return self._redis.key("actions", "bdb", bdb_uid)

    async def get(self, action_uid: str) -> ActionRecord | None:
        doc = await self._redis.call("HGET", self._key(action_uid), "doc")
        return None if doc is None else ActionRecord.model_validate_json(doc)

    async def put(self, record: ActionRecord) -> bool:
        score = record.start_time.timestamp()
        await self._redis.call("ZADD", self._index, score, record.action_uid)
        await self._redis.call("ZADD", self._bdb_index(record.bdb_uid), score, record.action_uid)
        stored = await self._redis.run_script(
            PUT_UNLESS_FINISHED,
            [self._key(record.action_uid)],
            [record.model_dump_json(), _done(record)],
        )
        return bool(stored)

    async def _records(self, uids: list[str]) -> list[ActionRecord | None]:
        """The records of these uids (None where an index entry has none), one round trip."""
        if not uids:
            return []
        async with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=False)
            for uid in uids:
                pipeline.hget(self._key(uid), "doc")
            docs = await pipeline.execute()
        return [None if doc is None else ActionRecord.model_validate_json(doc) for doc in docs]

    async def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> AsyncIterator[ActionRecord]:
        if limit is not None and limit <= 0:
            return
        index = self._index if bdb_uid is None else self._bdb_index(bdb_uid)
        stop = -1 if limit is None else limit - 1
        members = await self._redis.call("ZREVRANGE", index, 0, stop)
        for record in await self._records([_text(uid) for uid in cast("list[Any]", members)]):
            if record is not None:
                yield record

    async def prune(self, *, keep: int, older_than: datetime) -> int:
        """Remove the finished records started before `older_than` or beyond the newest
        `keep`; returns how many."""
        old = await self._redis.call(
            "ZRANGEBYSCORE", self._index, "-inf", f"({older_than.timestamp()}"
        )
        card = int(await self._redis.call("ZCARD", self._index))
        oldest = []
        if card > keep:
            oldest = await self._redis.call("ZRANGE", self._index, 0, card - keep - 1)
        # Started before the cutoff, or beyond the newest `keep`: whether they are
        # finished is checked on their records.
        candidates = list(dict.fromkeys(_text(uid) for uid in [*old, *oldest]))
        records = await self._records(candidates)
        removed = 0
        async with self._redis.available():
            pipeline = self._redis.client.pipeline(transaction=False)
            for uid, record in zip(candidates, records, strict=True):
                if not _removable(record):
                    continue
                pipeline.delete(self._key(uid))
                pipeline.zrem(self._index, uid)
                if record is not None:
                    removed += 1
                    pipeline.zrem(self._bdb_index(record.bdb_uid), uid)
            await pipeline.execute()
        return removed
