"""Each sync/async pair offers the same public names with the same signatures.

One source makes a pair (docs/architecture.md, "One source for each sync/async pair"):
a generated sync module (the shells, the Redis ports), or an async side built on the
sync one (SQLite, in memory). Either way an embedder who switches from one to the other
changes only `await`s and `Async` names; this checks it, method by method: the same
names, the same parameters (name, kind, default, type with `Async` names swapped for
their sync twins), the same result type, and an async side that is awaited (or
iterated with `async for`) where the sync side is called.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import pytest

from bdbexport.adapters.memory import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    AsyncInMemoryUserDirectory,
    InMemoryBdbRepository,
    InMemoryModuleCatalog,
    InMemoryUserDirectory,
)
from bdbexport.adapters.memory.action_log import AsyncInMemoryActionLog, InMemoryActionLog
from bdbexport.adapters.memory.login_attempts import (
    AsyncInMemoryLoginAttempts,
    InMemoryLoginAttempts,
)
from bdbexport.adapters.redis_store import (
    AsyncRedisBdbRepository,
    AsyncRedisModuleCatalog,
    AsyncRedisUserDirectory,
    RedisBdbRepository,
    RedisModuleCatalog,
    RedisUserDirectory,
)
from bdbexport.adapters.redis_store.action_log import RedisActionLog
from bdbexport.adapters.redis_store.async_action_log import AsyncRedisActionLog
from bdbexport.adapters.redis_store.async_login_attempts import AsyncRedisLoginAttempts
from bdbexport.adapters.redis_store.async_schedule_index import AsyncScheduleIndexBuilder
from bdbexport.adapters.redis_store.login_attempts import RedisLoginAttempts
from bdbexport.adapters.redis_store.schedule_index import ScheduleIndexBuilder
from bdbexport.adapters.sqlite import (
    AsyncSqliteBdbRepository,
    AsyncSqliteModuleCatalog,
    AsyncSqliteUserDirectory,
    SqliteBdbRepository,
    SqliteModuleCatalog,
    SqliteUserDirectory,
)
from bdbexport.adapters.sqlite.action_log import AsyncSqliteActionLog, SqliteActionLog
from bdbexport.adapters.sqlite.login_attempts import AsyncSqliteLoginAttempts, SqliteLoginAttempts
from bdbexport.domain import ActionService
from bdbexport.domain.async_service import AsyncActionService

PAIRS: list[tuple[type, type]] = [
    (ActionService, AsyncActionService),
    (RedisBdbRepository, AsyncRedisBdbRepository),
    (RedisModuleCatalog, AsyncRedisModuleCatalog),
    (RedisUserDirectory, AsyncRedisUserDirectory),
    (RedisActionLog, AsyncRedisActionLog),
    (ScheduleIndexBuilder, AsyncScheduleIndexBuilder),
    (RedisLoginAttempts, AsyncRedisLoginAttempts),
    (SqliteBdbRepository, AsyncSqliteBdbRepository),
    (SqliteModuleCatalog, AsyncSqliteModuleCatalog),
    (SqliteUserDirectory, AsyncSqliteUserDirectory),
    (SqliteActionLog, AsyncSqliteActionLog),
    (SqliteLoginAttempts, AsyncSqliteLoginAttempts),
    (InMemoryBdbRepository, AsyncInMemoryBdbRepository),
    (InMemoryModuleCatalog, AsyncInMemoryModuleCatalog),
    (InMemoryUserDirectory, AsyncInMemoryUserDirectory),
    (InMemoryActionLog, AsyncInMemoryActionLog),
    (InMemoryLoginAttempts, AsyncInMemoryLoginAttempts),
]

SHARING = {
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    AsyncInMemoryUserDirectory,
    AsyncInMemoryActionLog,
    AsyncInMemoryLoginAttempts,
}
"""Async adapters that take their sync twin's arguments or the sync store to share."""


def as_sync(annotation: object) -> str:
    """An annotation with its `Async` names swapped for their sync twins."""
    return re.sub(r"\bAsync(?=[A-Z])", "", str(annotation))


def public_methods(cls: type) -> dict[str, Callable[..., object]]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
    }


def described(parameter: inspect.Parameter) -> tuple[str, object, object, str]:
    return (parameter.name, parameter.kind, parameter.default, as_sync(parameter.annotation))


@pytest.mark.parametrize(("sync", "twin"), PAIRS, ids=lambda cls: cls.__name__)
def test_a_pair_has_the_same_public_names(sync: type, twin: type) -> None:
    assert sorted(public_methods(sync)) == sorted(public_methods(twin))


@pytest.mark.parametrize(("sync", "twin"), PAIRS, ids=lambda cls: cls.__name__)
def test_a_pair_has_the_same_signatures_awaited_where_the_sync_side_is_called(
    sync: type, twin: type
) -> None:
    twins = public_methods(twin)
    for name, method in public_methods(sync).items():
        ours, theirs = inspect.signature(method), inspect.signature(twins[name])
        assert [described(p) for p in ours.parameters.values()] == [
            described(p) for p in theirs.parameters.values()
        ], name
        assert as_sync(ours.return_annotation) == as_sync(theirs.return_annotation), name
        assert not inspect.iscoroutinefunction(method), name
        if method is twins[name]:
            continue  # one function both inherit (the shells' `Shell`): no I/O in it
        returns = str(theirs.return_annotation)
        if returns.startswith("AsyncIterator"):
            assert str(ours.return_annotation).startswith("Iterator"), name
        else:
            assert inspect.iscoroutinefunction(twins[name]), f"{name} is not awaited"


@pytest.mark.parametrize(("sync", "twin"), PAIRS, ids=lambda cls: cls.__name__)
def test_a_pair_is_built_from_the_same_arguments(sync: type, twin: type) -> None:
    """The same constructor (with `Async` names swapped); an in-memory async adapter
    also takes the sync store whose data it shares, in place of its first argument."""
    ours = [described(p) for p in inspect.signature(sync).parameters.values()]
    theirs = [described(p) for p in inspect.signature(twin).parameters.values()]
    if twin not in SHARING:
        assert ours == theirs
        return
    shared = sync.__name__
    widened = [
        (name, kind, default, annotation.removesuffix(f" | {shared}"))
        for name, kind, default, annotation in theirs
    ]
    assert widened[: len(ours)] == ours
    assert len(theirs) == len(ours) or theirs[-1][3] == f"{shared} | None"
