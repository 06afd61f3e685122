"""The schedule index on stores written before it existed: built once when the store
is opened (SQLite: schema 4) or first read (Redis: until `bdbs:scheduled:built`
exists), and what a writer that knows nothing of it (an older replica) does to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import redis

from bdbexport.adapters.redis_store import RedisBdbRepository, RedisConnection
from bdbexport.adapters.redis_store.scripts import INDEX_SCHEDULES
from bdbexport.adapters.sqlite import SqliteBdbRepository, SqliteDatabase
from bdbexport.adapters.sqlite.database import SCHEMA_VERSION
from bdbexport.domain import Bdb, MountPointLocation


def backing_up(uid: int, *, backup: bool = True, revision: int = 0) -> Bdb:
    return Bdb(
        uid=uid,
        name=f"db{uid}",
        backup=backup,
        backup_interval=3600,
        backup_location=MountPointLocation(path="/backups"),
        revision=revision,
    )


def schema_3_file(path: Path, *bdbs: Bdb) -> None:
    """A file as bdbexport with schema 3 left it: the tables, no schedule index."""
    SqliteDatabase(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("DROP INDEX bdbs_scheduled")
        raw.execute("PRAGMA user_version = 3")
        raw.executemany(
            "INSERT INTO bdbs (uid, revision, doc) VALUES (?, ?, ?)",
            [(bdb.uid, bdb.revision, bdb.to_storage_json()) for bdb in bdbs],
        )
    raw.close()


def test_a_schema_3_file_gets_the_schedule_index_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    schema_3_file(path, backing_up(1), backing_up(2, backup=False), backing_up(3))
    database = SqliteDatabase(path)
    try:
        assert database.schema_version == SCHEMA_VERSION == 4
        assert [bdb.uid for bdb in SqliteBdbRepository(database).scheduled()] == [1, 3]
        plan = database.read_all(
            "EXPLAIN QUERY PLAN SELECT uid, doc FROM bdbs"
            " WHERE json_extract(doc, '$.backup') = 1 AND uid > ? ORDER BY uid LIMIT ?",
            (0, 500),
        )
        assert "bdbs_scheduled" in " ".join(str(step[-1]) for step in plan)
    finally:
        database.close()


def test_sqlite_keeps_the_index_whoever_writes_the_row(tmp_path: Path) -> None:
    """An older replica writes the row without knowing the index: SQLite updates it
    all the same, in the writer's own statement."""
    path = tmp_path / "store.sqlite3"
    database = SqliteDatabase(path)
    bdbs = SqliteBdbRepository(database)
    try:
        bdbs.add(backing_up(1, backup=False))
        with sqlite3.connect(path) as older:
            older.execute(
                "UPDATE bdbs SET revision = 1, doc = ? WHERE uid = 1 AND revision = 0",
                (backing_up(1, revision=1).to_storage_json(),),
            )
        older.close()
        assert [bdb.uid for bdb in bdbs.scheduled()] == [1]
    finally:
        database.close()


def older_replica_writes(client: redis.Redis, prefix: str, bdb: Bdb) -> None:
    """What a replica from before the schedule index writes: the listing index and the
    bdb's hash, nothing else."""
    client.zadd(f"{prefix}bdbs", {str(bdb.uid): bdb.uid})
    client.hset(
        f"{prefix}bdb:{bdb.uid}", mapping={"rev": bdb.revision, "doc": bdb.to_storage_json()}
    )


def test_a_redis_keyspace_without_the_index_gets_it_built_once(redis_url: str) -> None:
    connection = RedisConnection(redis_url)
    prefix = connection.prefix
    try:
        tricky = backing_up(4, backup=False).model_copy(update={"name": '"backup":true'})
        for bdb in (backing_up(1), backing_up(2, backup=False), backing_up(3), tricky):
            older_replica_writes(connection.client, prefix, bdb)
        assert not connection.client.exists(f"{prefix}bdbs:scheduled:built")
        bdbs = RedisBdbRepository(connection)
        assert [bdb.uid for bdb in bdbs.scheduled()] == [1, 3]
        assert connection.client.exists(f"{prefix}bdbs:scheduled:built")
        assert connection.client.zrange(f"{prefix}bdbs:scheduled", 0, -1) == [b"1", b"3"]

        # Built once: what an older replica switches on afterwards is not indexed...
        older_replica_writes(connection.client, prefix, backing_up(5))
        assert [bdb.uid for bdb in RedisBdbRepository(connection).scheduled()] == [1, 3]
        # ... until the marker is deleted, which makes the next reader build it again,
        # taking out what was switched off meanwhile as well.
        older_replica_writes(connection.client, prefix, backing_up(1, backup=False, revision=1))
        connection.client.delete(f"{prefix}bdbs:scheduled:built")
        assert [bdb.uid for bdb in RedisBdbRepository(connection).scheduled()] == [3, 5]
        assert connection.client.zrange(f"{prefix}bdbs:scheduled", 0, -1) == [b"3", b"5"]
    finally:
        connection.close()


def test_the_redis_build_pages_through_the_keyspace(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bdbexport.adapters.redis_store.schedule_index.PAGE", 2)
    connection = RedisConnection(redis_url)
    try:
        for uid in range(1, 10):
            older_replica_writes(
                connection.client, connection.prefix, backing_up(uid, backup=uid % 3 == 0)
            )
        assert [bdb.uid for bdb in RedisBdbRepository(connection).scheduled()] == [3, 6, 9]
    finally:
        connection.close()


def test_building_leaves_alone_a_bdb_written_since_it_was_read(redis_url: str) -> None:
    """The builder reads a page, then indexes each bdb only if its revision has not
    moved: a bdb saved in between was indexed by its own save."""
    connection = RedisConnection(redis_url)
    prefix = connection.prefix
    try:
        bdbs = RedisBdbRepository(connection)
        bdbs.add(backing_up(1, backup=False))
        bdbs.add(backing_up(2))
        index = connection.client.register_script(INDEX_SCHEDULES)
        stale: list[int | str] = [1, 0, "1", 2, 0, "0"]  # read at revision 0: 1 on, 2 off
        assert bdbs.save(backing_up(1, backup=False, revision=1), expected_revision=0)
        assert bdbs.save(backing_up(2, revision=1), expected_revision=0)
        index(keys=[f"{prefix}bdbs:scheduled", f"{prefix}bdb:1", f"{prefix}bdb:2"], args=stale)
        assert connection.client.zrange(f"{prefix}bdbs:scheduled", 0, -1) == [b"2"]
        fresh: list[int | str] = [1, 1, "0", 2, 1, "1"]  # read at the current revisions: applied
        connection.client.delete(f"{prefix}bdbs:scheduled")
        index(keys=[f"{prefix}bdbs:scheduled", f"{prefix}bdb:1", f"{prefix}bdb:2"], args=fresh)
        assert connection.client.zrange(f"{prefix}bdbs:scheduled", 0, -1) == [b"2"]
    finally:
        connection.close()


def test_a_bulk_load_leaves_the_index_complete(redis_url: str) -> None:
    connection = RedisConnection(redis_url)
    prefix = connection.prefix
    try:
        older_replica_writes(connection.client, prefix, backing_up(1))
        bdbs = RedisBdbRepository(connection)
        assert bdbs.add_many([backing_up(2, backup=False), backing_up(3), backing_up(1)]) == 2
        assert connection.client.exists(f"{prefix}bdbs:scheduled:built")
        assert [bdb.uid for bdb in bdbs.scheduled()] == [1, 3]
    finally:
        connection.close()
