"""The import and backup lifecycles through both shells: the same rules as export's,
their own words, and one action at a time on a bdb."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from bdbexport.domain import (
    ActionKind,
    Bdb,
    BusyError,
    DomainError,
    MountPointLocation,
)
from tests.support.world import ADMIN, VIEWER, World, make_world

LOCATION = MountPointLocation(path="/backups")
Call = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def shell(request: pytest.FixtureRequest) -> Callable[[World, str], Call]:
    """`shell(world, name)` is use case `name` of the sync or the async service, called
    to its end either way."""

    def pick(world: World, name: str) -> Call:
        if request.param == "sync":
            return getattr(world.service, name)  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            result = getattr(world.async_service, name)(*args, **kwargs)
            if inspect.isawaitable(result):
                return asyncio.run(_awaited(result))
            return result

        return call

    return pick


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def test_an_import_runs_initializing_then_importing_then_fails_and_resets(
    shell: Callable[[World, str], Call],
) -> None:
    world = make_world([Bdb(uid=1, name="target")])
    started = shell(world, "start_action")(ADMIN, 1, LOCATION, ActionKind.IMPORT)
    assert started.import_status == "initializing"
    assert started.action_uid is not None
    action = started.action_uid
    loading = shell(world, "record_progress")(1, action, 30, ActionKind.IMPORT)
    assert (loading.import_status, loading.import_progress) == ("importing", 30)
    failed = shell(world, "record_failure")(
        1, action, "file-corrupted", "not an RDB file", ActionKind.IMPORT
    )
    assert (failed.import_status, failed.import_failure_reason) == ("failed", "file-corrupted")
    assert failed.import_failure_detail == "not an RDB file"
    assert failed.export_status == "idle"
    reset = shell(world, "reset_import_status")(ADMIN, 1)
    assert (reset.import_status, reset.import_failure_reason) == ("idle", None)
    assert [event.name for event in world.events][-4:] == [
        "ImportStarted",
        "ImportProgressed",
        "ImportFailed",
        "ImportStatusReset",
    ]


def test_a_backup_succeeds_with_its_time_and_its_reset_is_refused_while_it_runs(
    shell: Callable[[World, str], Call],
) -> None:
    world = make_world([Bdb(uid=1, name="db")])
    started = shell(world, "start_action")(ADMIN, 1, LOCATION, ActionKind.BACKUP)
    assert started.backup_status == "exporting"
    with pytest.raises(DomainError) as refused:
        shell(world, "reset_backup_status")(ADMIN, 1)
    assert refused.value.code == "backup_in_progress"
    with pytest.raises(BusyError):
        shell(world, "start_export")(ADMIN, 1, LOCATION)
    done = shell(world, "record_success")(1, started.action_uid, ActionKind.BACKUP)
    assert (done.backup_status, done.backup_progress) == ("succeeded", 100)
    assert done.last_backup_time == world.clock.now()
    assert done.last_export_time is None


def test_the_family_shares_the_permission_and_existence_rules(
    shell: Callable[[World, str], Call],
) -> None:
    world = make_world([Bdb(uid=1, name="db")])
    for name in ("reset_import_status", "reset_backup_status"):
        with pytest.raises(DomainError) as forbidden:
            shell(world, name)(VIEWER, 1)
        assert forbidden.value.code == "forbidden"
        with pytest.raises(DomainError) as missing:
            shell(world, name)(ADMIN, 404)
        assert missing.value.code == "db_not_exist"


def test_reads_through_either_shell_see_the_same_bdbs(
    shell: Callable[[World, str], Call],
) -> None:
    world = make_world([Bdb(uid=1, name="one"), Bdb(uid=2, name="two")])
    assert shell(world, "peek")(2).name == "two"
    assert shell(world, "peek")(99) is None
    listed: Any = shell(world, "list_bdbs")(ADMIN)
    modules: Any = shell(world, "list_modules")(ADMIN)
    if hasattr(listed, "__aiter__"):

        async def collect() -> tuple[list[Bdb], list[str]]:
            return (
                [bdb async for bdb in listed],
                [module.module_name async for module in modules],
            )

        bdbs, names = asyncio.run(collect())
    else:
        bdbs, names = list(listed), [module.module_name for module in modules]
    assert [bdb.uid for bdb in bdbs] == [1, 2]
    assert names == ["ReJSON", "graph", "search"]
