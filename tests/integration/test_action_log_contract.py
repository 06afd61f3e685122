"""The `ActionLog` contract against every store: in memory, a real SQLite file and a
real redis-server; each with its sync port and its async view of the same data (a
server writes records from worker threads and reads them on its event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bdbexport.composition.action_logs import ActionLogs, open_action_logs
from bdbexport.domain.action_records import ActionRecord, ActionStatus
from bdbexport.domain.ports import ActionLog, AsyncActionLog

T0 = datetime(2026, 11, 29, tzinfo=UTC)


@dataclass
class Logs:
    sync: ActionLog
    view: AsyncActionLog
    loop: asyncio.AbstractEventLoop

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, 10))

    def listed(self, **options: Any) -> list[str]:
        async def collect() -> list[str]:
            return [record.action_uid async for record in self.view.list(**options)]

        return list(self.run(collect()))


@pytest.fixture(params=["memory", "sqlite", "redis"])
def logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Logs]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'store.sqlite3'}"
        from bdbexport.adapters.sqlite import SqliteDatabase

        SqliteDatabase(url[len("sqlite://") :]).close()  # the schema, as a server makes it
    else:
        url = request.getfixturevalue("redis_url")
    opened: ActionLogs = open_action_logs(url)
    loop = asyncio.new_event_loop()
    view, close_view = opened.open_async()
    try:
        yield Logs(opened.sync, view, loop)
    finally:
        loop.run_until_complete(close_view())
        loop.close()
        opened.close()


def record(uid: str, *, bdb: int = 1, minutes: int = 0, status: str = "queued") -> ActionRecord:
    return ActionRecord(
        action_uid=uid,
        name="export",
        bdb_uid=bdb,
        status=ActionStatus(status),
        start_time=T0 + timedelta(minutes=minutes),
    )


def test_what_one_view_writes_the_other_reads(logs: Logs) -> None:
    queued = record("a")
    assert logs.sync.get("a") is None
    assert logs.sync.put(queued)
    assert logs.run(logs.view.get("a")) == queued
    running = queued.model_copy(update={"status": ActionStatus.RUNNING, "progress": 30})
    assert logs.run(logs.view.put(running))
    assert logs.sync.get("a") == running


def test_a_finished_record_never_changes(logs: Logs) -> None:
    done = record("a", status="cancelled").model_copy(update={"end_time": T0, "error": "x"})
    assert logs.sync.put(done)
    assert not logs.sync.put(record("a", status="running"))
    assert not logs.run(logs.view.put(record("a", status="completed")))
    assert logs.sync.get("a") == done


def test_listing_is_newest_first_per_bdb_and_bounded(logs: Logs) -> None:
    for minutes, (uid, bdb) in enumerate([("a", 1), ("b", 2), ("c", 1), ("d", 1)]):
        logs.sync.put(record(uid, bdb=bdb, minutes=minutes))
    assert [r.action_uid for r in logs.sync.list()] == ["d", "c", "b", "a"]
    assert [r.action_uid for r in logs.sync.list(bdb_uid=1, limit=2)] == ["d", "c"]
    assert [r.action_uid for r in logs.sync.list(limit=0)] == []
    assert logs.listed(bdb_uid=2) == ["b"]
    assert logs.listed(limit=3) == ["d", "c", "b"]
    assert logs.listed(bdb_uid=9) == []


def test_pruning_keeps_running_records_and_the_newest_finished(logs: Logs) -> None:
    statuses = ["completed", "failed", "running", "completed", "cancelled", "completed"]
    for minutes, status in enumerate(statuses):
        logs.sync.put(record(f"r{minutes}", minutes=minutes, status=status))
    # Older than minute 1: r0 goes. Beyond the newest 3 (r5, r4, r3): r1 goes, r2 runs.
    removed = logs.sync.prune(keep=3, older_than=T0 + timedelta(minutes=1))
    assert removed == 2
    assert [r.action_uid for r in logs.sync.list()] == ["r5", "r4", "r3", "r2"]
    assert logs.run(logs.view.prune(keep=1, older_than=T0)) == 2
    assert logs.listed() == ["r5", "r2"]


def test_a_record_that_cannot_be_written_never_undoes_the_change(tmp_path: Path) -> None:
    """Records are best effort: a store that fails under them (here a closed SQLite
    connection, sync and async) leaves the committed change and its answer alone."""
    from bdbexport.adapters.memory import (
        AsyncInMemoryBdbRepository,
        AsyncInMemoryModuleCatalog,
        InMemoryBdbRepository,
        InMemoryEventLog,
        InMemoryModuleCatalog,
        ManualClock,
        SequentialIds,
    )
    from bdbexport.adapters.sqlite import AsyncSqliteDatabase, SqliteDatabase
    from bdbexport.adapters.sqlite.action_log import AsyncSqliteActionLog, SqliteActionLog
    from bdbexport.domain import (
        AsyncActionService,
        Bdb,
        MountPointLocation,
        Principal,
        RoleTablePolicy,
    )
    from bdbexport.domain.service import ActionService

    path = tmp_path / "closed.sqlite3"
    database = SqliteDatabase(path)
    loop_database = AsyncSqliteDatabase(path)
    database.close()
    loop_database.close()
    bdbs = InMemoryBdbRepository([Bdb(uid=1, name="one"), Bdb(uid=2, name="two")])
    common: dict[str, Any] = {
        "policy": RoleTablePolicy(),
        "clock": ManualClock(T0),
        "ids": SequentialIds(),
        "events": InMemoryEventLog(),
    }
    admin = Principal("admin@example.com", "admin")
    where = MountPointLocation(path="/backups")
    sync = ActionService(
        bdbs=bdbs, modules=InMemoryModuleCatalog(), actions=SqliteActionLog(database), **common
    )
    started = sync.start_export(admin, 1, where)
    assert started.export_status == "exporting"
    assert bdbs.get(1) == started
    loop = asyncio.new_event_loop()
    try:
        shell = AsyncActionService(
            bdbs=AsyncInMemoryBdbRepository(bdbs),
            modules=AsyncInMemoryModuleCatalog(),
            actions=AsyncSqliteActionLog(loop_database),
            **common,
        )
        other = loop.run_until_complete(shell.start_export(admin, 2, where))
    finally:
        loop.close()
    assert bdbs.get(2) == other
