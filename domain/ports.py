"""The ports: what the domain needs from the world, as `typing.Protocol`s.

Each docstring says what an implementation must guarantee (authentication's ports
are its own: `bdbexport.domain.auth.ports`). Every port has an
in-memory implementation in `bdbexport.adapters.memory` (or, for the permission
policy, `bdbexport.domain.permissions.RoleTablePolicy`) that obeys the same contract
and is what the tests use instead of mocks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from typing import Protocol

from .action_records import ActionRecord
from .bdb import Bdb
from .events import DomainEvent
from .locations import ExportLocation
from .modules import CatalogModule
from .principal import Principal


class BdbRepository(Protocol):
    """Stores bdbs; every change is a compare-and-set on `revision`.

    - `get` returns the stored bdb or None; it never raises for a missing uid.
    - `list` yields bdbs in ascending uid order, starting after `after_uid`, at most
      `limit` of them (all when None), without loading the whole store first.
    - `add` stores a new bdb as given; raises `BdbAlreadyExistsError` if the uid is taken.
    - `save` stores `bdb` only if the stored revision equals `expected_revision`
      (atomically: no writer may slip between the check and the write) and returns
      whether it did. It never stores a bdb for a uid that does not exist.
    - `scheduled` yields, in ascending uid order, every stored bdb whose periodic
      backups are switched on (`backup` true) and no other, from an index the store
      keeps in the same atomic write as the bdb: it costs in proportion to those bdbs,
      not to the store (the backup scheduler reads it; docs/backups.md).
    """

    def get(self, uid: int) -> Bdb | None: ...

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> Iterator[Bdb]: ...

    def add(self, bdb: Bdb) -> None: ...

    def save(self, bdb: Bdb, *, expected_revision: int) -> bool: ...

    def scheduled(self) -> Iterator[Bdb]: ...


class AsyncBdbRepository(Protocol):
    """`BdbRepository`'s contract, awaited: for asyncio applications and our server.

    An implementation must not block the event loop: a store that is slow or stuck
    delays only the coroutines waiting on it, and gives up within a bounded time with
    `StoreUnavailableError`.
    """

    async def get(self, uid: int) -> Bdb | None: ...

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]: ...

    async def add(self, bdb: Bdb) -> None: ...

    async def save(self, bdb: Bdb, *, expected_revision: int) -> bool: ...


class ModuleCatalog(Protocol):
    """The modules the cluster knows: `get` by name (None if unknown), `list` all by name."""

    def get(self, module_name: str) -> CatalogModule | None: ...

    def list(self) -> Iterator[CatalogModule]: ...


class ModuleRegistry(ModuleCatalog, Protocol):
    """A catalog that can also be written: `add` stores a module, replacing the
    entry of the same name (a new version). Only administration uses it."""

    def add(self, module: CatalogModule) -> None: ...


class AsyncModuleCatalog(Protocol):
    """`ModuleCatalog`'s contract, awaited."""

    async def get(self, module_name: str) -> CatalogModule | None: ...

    def list(self) -> AsyncIterator[CatalogModule]: ...


class PermissionPolicy(Protocol):
    """Whether a principal holds a permission. Must fail closed on unknown roles."""

    def permits(self, principal: Principal, permission: str) -> bool: ...


class Clock(Protocol):
    """The current time, timezone-aware in UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """A fresh action uid, unique across every replica sharing a store."""

    def new_action_uid(self) -> str: ...


class EventPublisher(Protocol):
    """Receives every domain event, in the order they happened for one bdb.

    Called after a change is stored (or a refusal decided); a publisher that cannot
    deliver must not raise into the use case, which has already committed.
    """

    def publish(self, event: DomainEvent) -> None: ...


class ActionLog(Protocol):
    """The action records of the Actions API, shared by every replica on the store.

    - `get` returns the record of `action_uid`, or None.
    - `put` stores `record` in place of the stored one, unless the stored one has
      finished (`completed`, `failed`, `cancelled`): a finished record never changes.
      The check and the write are one atomic step; returns whether it stored.
    - `list` yields records newest first (by `start_time`), only bdb `bdb_uid`'s when
      given, at most `limit`.
    - `prune` removes the finished records started before `older_than` and those not
      among the newest `keep` records; returns how many it removed. Records of running
      actions are never removed (they count towards `keep`).
    """

    def get(self, action_uid: str) -> ActionRecord | None: ...

    def put(self, record: ActionRecord) -> bool: ...

    def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> Iterator[ActionRecord]: ...

    def prune(self, *, keep: int, older_than: datetime) -> int: ...


class AsyncActionLog(Protocol):
    """`ActionLog`'s contract, awaited (the Actions API on the event loop)."""

    async def get(self, action_uid: str) -> ActionRecord | None: ...

    async def put(self, record: ActionRecord) -> bool: ...

    def list(
        self, *, bdb_uid: int | None = None, limit: int | None = None
    ) -> AsyncIterator[ActionRecord]: ...

    async def prune(self, *, keep: int, older_than: datetime) -> int: ...


class Notifier(Protocol):
    """Tells people an export ended (Redis Software's `email_notification`). Raises
    `OSError` when the message could not be handed over; never blocks for long."""

    def notify(self, subject: str, body: str) -> None: ...


class Exporter(Protocol):
    """Copies one bdb's data to one location, blocking until done.

    Calls `progress` with a percentage that never decreases and stays below 100 until
    the copy is complete; returns on success, with the number of bytes it wrote (None
    when it cannot tell: the success is recorded all the same, the metrics just do not
    count it); raises `ExportFailedError` with a reason (and
    a detail for the logs) on failure. If `progress` raises, the exporter stops, cleans
    up and lets the exception through: the export is no longer wanted.

    Publishing: once the copy is complete, the exporter calls `progress(100)` exactly
    once, immediately before the step that makes the result visible under its final
    name (a rename, a link, an upload's completion); it publishes only if that call
    returns. If it raises (the action was cancelled first), nothing is published.
    """

    def export(
        self, bdb: Bdb, location: ExportLocation, progress: Callable[[int], None]
    ) -> int | None: ...


class Importer(Protocol):
    """Loads one RDB file from a location into one bdb's live Redis, blocking until done.

    The same contract as `Exporter`: `progress` never decreases and stays below 100 until
    the load is complete; failure raises `ImportFailedError` (a reason from the API's
    `ImportFailureReason` vocabulary and a detail for the logs); if `progress` raises,
    the importer stops, undoes what it can and lets the exception through. Once every
    key is in, it calls `progress(100)` before it keeps the data (drops its undo
    journal); if that raises, it undoes the load (the commit gate). With `flush`,
    the target's data is replaced by the file's; without it the file's keys are added.
    On success it returns the number of bytes it read (the file's size), or None when
    it cannot tell.
    """

    def import_rdb(
        self,
        bdb: Bdb,
        source: ExportLocation,
        *,
        flush: bool,
        progress: Callable[[int], None],
    ) -> int | None: ...


class Claims(Protocol):
    """Names that replicas race for, so work due once (a scheduled backup) runs once.

    `claim(name, holder, ttl)` returns True to exactly one call per `name` while that
    claim lives (from the winning call until `ttl` after it) and False to every other
    call, the winner's own repeated call included, across every process sharing the
    store; deciding is one atomic step of the store. Once a claim has expired the name
    can be won again: callers choose names that are not reused while they matter (a
    due moment's name, a ttl that outlives it). `holder` names the winner, for people.
    """

    def claim(self, name: str, holder: str, ttl: timedelta) -> bool: ...
