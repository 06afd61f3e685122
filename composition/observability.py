"""Wiring the operators' view: metrics fed by the store and the event bus, the store's
readiness probe, and the `OperatorView` the HTTP app serves.

The store is instrumented here, at the composition level, without touching any store
adapter: `instrument_store` wraps the asynchronous ports a store opens (the event
loop's calls, which a stalled store would delay) in timing proxies that report each
call's duration and error to `ServerMetrics`. Whatever a port gains later that is not
timed here passes through untouched.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from time import perf_counter
from typing import Any, TypeVar

from bdbexport.adapters.http.metrics import ServerMetrics, StoreCallTimer
from bdbexport.adapters.http.operator_view import MetricsAccess, OperatorView
from bdbexport.domain.auth.ports import AsyncUserDirectory
from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.event_bus import EventBus
from bdbexport.domain.events import DomainEvent
from bdbexport.domain.modules import CatalogModule
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.ports import AsyncBdbRepository, AsyncModuleCatalog, PermissionPolicy

from .stores import AsyncStore, Store, open_store

T = TypeVar("T")

STORE_OPERATIONS = (
    "bdbs.get",
    "bdbs.list",
    "bdbs.add",
    "bdbs.save",
    "modules.get",
    "modules.list",
    "users.get",
    "users.add",
    "users.list",
)

READINESS_UID = 1
"""The probe reads this bdb: one small read, whether it exists or not."""


def open_served_store(url: str) -> tuple[Store, ServerMetrics]:
    """The store a server opens from `url` and the `ServerMetrics` its event loop's calls
    are timed in (`instrument_store`): pass the same metrics to `build_http_app`."""
    metrics = ServerMetrics()
    return instrument_store(open_store(url), metrics), metrics


def instrument_store(store: Store, metrics: ServerMetrics) -> Store:
    """`store`, whose `open_async` gives timed ports."""
    if store.open_async is None:
        return store
    open_async = store.open_async
    metrics.declare_store_operations(STORE_OPERATIONS)

    def open_timed() -> AsyncStore:
        opened = open_async()
        return dataclasses.replace(
            opened,
            bdbs=_TimedBdbs(opened.bdbs, metrics),
            modules=_TimedModules(opened.modules, metrics),
            users=_TimedUsers(opened.users, metrics),
        )

    return dataclasses.replace(store, open_async=open_timed)


def readiness_probe(async_store: AsyncStore) -> Callable[[], Awaitable[object]]:
    """One read of the store through the loop's own ports (as requests read it)."""

    async def probe() -> object:
        return await async_store.bdbs.get(READINESS_UID)

    return probe


def subscribe_metrics(
    bus: EventBus, metrics: ServerMetrics, *, workers_busy: Callable[[], int] | None = None
) -> None:
    """Count actions from the bus; `workers_busy` (the worker pool's count of actions it
    holds) lets a scrape drop actions that ended unseen (`ServerMetrics.refresh`)."""
    bus.subscribe(DomainEvent, metrics.observe_event)
    metrics.workers_busy = workers_busy


def metrics_access_for(chosen: str | None, *, loopback: bool) -> MetricsAccess:
    """The access mode asked for, else `open` on a loopback address (only this host's
    processes reach it) and `authenticated` anywhere else."""
    if chosen is not None:
        return MetricsAccess(chosen)
    return MetricsAccess.OPEN if loopback else MetricsAccess.AUTHENTICATED


def operator_view(
    metrics: ServerMetrics,
    *,
    async_store: AsyncStore,
    access: MetricsAccess,
    policy: PermissionPolicy | None = None,
) -> OperatorView:
    return OperatorView(
        metrics=metrics,
        metrics_access=access,
        readiness=readiness_probe(async_store),
        policy=policy if policy is not None else RoleTablePolicy(),
    )


# --- the timing proxies --------------------------------------------------------------
#
# Each proxy binds one `StoreCallTimer` per operation when the store opens and times
# the call in the method itself: a request's store calls cost two clock reads and one
# observation each, with no label lookup, no name built and no extra coroutine.


def _error_label(error: BaseException) -> str:
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"  # the caller stopped waiting: the readiness bound, a client gone
    return error.code if isinstance(error, DomainError) else type(error).__name__


class _Timed:
    def __init__(self, port: Any) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        # Methods a port gains later pass through, untimed.
        return getattr(self._port, name)


async def _iterate(timer: StoreCallTimer, items: AsyncIterator[T]) -> AsyncIterator[T]:
    """Times the store's part of an iteration only (each step), not the consumer's."""
    spent = 0.0
    try:
        while True:
            started = perf_counter()
            try:
                item = await items.__anext__()
            except StopAsyncIteration:
                spent += perf_counter() - started
                break
            spent += perf_counter() - started
            yield item
    except BaseException as raised:
        timer.failed(spent, _error_label(raised))
        raise
    timer.observe(spent)


class _TimedBdbs(_Timed):
    def __init__(self, port: AsyncBdbRepository, metrics: ServerMetrics) -> None:
        super().__init__(port)
        self._bdbs = port
        self._get = metrics.store_timer("bdbs.get")
        self._list = metrics.store_timer("bdbs.list")
        self._add = metrics.store_timer("bdbs.add")
        self._save = metrics.store_timer("bdbs.save")

    async def get(self, uid: int) -> Bdb | None:
        started = perf_counter()
        try:
            bdb = await self._bdbs.get(uid)
        except BaseException as raised:
            self._get.failed(perf_counter() - started, _error_label(raised))
            raise
        self._get.observe(perf_counter() - started)
        return bdb

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]:
        return _iterate(self._list, self._bdbs.list(after_uid=after_uid, limit=limit))

    async def add(self, bdb: Bdb) -> None:
        started = perf_counter()
        try:
            await self._bdbs.add(bdb)
        except BaseException as raised:
            self._add.failed(perf_counter() - started, _error_label(raised))
            raise
        self._add.observe(perf_counter() - started)

    async def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        started = perf_counter()
        try:
            saved = await self._bdbs.save(bdb, expected_revision=expected_revision)
        except BaseException as raised:
            self._save.failed(perf_counter() - started, _error_label(raised))
            raise
        self._save.observe(perf_counter() - started)
        return saved


class _TimedModules(_Timed):
    def __init__(self, port: AsyncModuleCatalog, metrics: ServerMetrics) -> None:
        super().__init__(port)
        self._modules = port
        self._get = metrics.store_timer("modules.get")
        self._list = metrics.store_timer("modules.list")

    async def get(self, module_name: str) -> CatalogModule | None:
        started = perf_counter()
        try:
            module = await self._modules.get(module_name)
        except BaseException as raised:
            self._get.failed(perf_counter() - started, _error_label(raised))
            raise
        self._get.observe(perf_counter() - started)
        return module

    def list(self) -> AsyncIterator[CatalogModule]:
        return _iterate(self._list, self._modules.list())


class _TimedUsers(_Timed):
    def __init__(self, port: AsyncUserDirectory, metrics: ServerMetrics) -> None:
        super().__init__(port)
        self._users = port
        self._get = metrics.store_timer("users.get")
        self._add = metrics.store_timer("users.add")
        self._list = metrics.store_timer("users.list")

    async def get(self, email: str) -> User | None:
        started = perf_counter()
        try:
            user = await self._users.get(email)
        except BaseException as raised:
            self._get.failed(perf_counter() - started, _error_label(raised))
            raise
        self._get.observe(perf_counter() - started)
        return user

    async def add(self, user: User) -> None:
        started = perf_counter()
        try:
            await self._users.add(user)
        except BaseException as raised:
            self._add.failed(perf_counter() - started, _error_label(raised))
            raise
        self._add.observe(perf_counter() - started)

    def list(self) -> AsyncIterator[User]:
        return _iterate(self._list, self._users.list())
