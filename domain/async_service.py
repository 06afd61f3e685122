"""The shell: the use cases, over the ports, for our server and every embedder.

This asynchronous module is the one source of both shells: `AsyncActionService`
awaits async ports (the server on its event loop, asyncio embedders), and
`service.py`'s `ActionService`, which calls sync ports (the CLI, export workers, sync
embedders), is generated from it by `tools/async_to_sync.py` (`await` dropped, `Async`
names swapped for their sync twins). Edit this file, then run the tool.

Each use case runs a plan (`plans`: the loop of load, decide, compare-and-set, retry,
written once); the shell answers the plan's I/O requests with its ports, writes the
action records, publishes and returns or raises (`Shell.finish`). A slow or stuck store
delays only the requests that need it, never the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypeVar

from . import core, plans
from .action_kind import ActionKind, Trigger
from .action_records import DEFAULT_KEEP_AGE, DEFAULT_KEEP_COUNT, ActionRecord, updated_record
from .actions import ACTIONS, Action
from .bdb import MAX_UID, Bdb
from .capability_rule import NO_MODULES, CatalogSnapshot
from .decision import Decision
from .errors import BdbNotFoundError
from .events import DomainEvent
from .locations import ExportLocation
from .modules import CatalogModule
from .ports import (
    AsyncActionLog,
    AsyncBdbRepository,
    AsyncModuleCatalog,
    Clock,
    EventPublisher,
    IdGenerator,
    PermissionPolicy,
)
from .principal import Principal
from .shell import Shell, is_new_action, log, record_worthy

T = TypeVar("T")


class AsyncActionService(Shell):
    """The application services of the hexagon over the ports."""

    def __init__(
        self,
        *,
        bdbs: AsyncBdbRepository,
        modules: AsyncModuleCatalog,
        policy: PermissionPolicy,
        clock: Clock,
        ids: IdGenerator,
        events: EventPublisher,
        max_attempts: int = core.DEFAULT_MAX_ATTEMPTS,
        lease_ttl: timedelta = core.DEFAULT_LEASE_TTL,
        actions: AsyncActionLog | None = None,
        keep_actions: int = DEFAULT_KEEP_COUNT,
        keep_actions_for: timedelta = DEFAULT_KEEP_AGE,
    ) -> None:
        super().__init__(
            policy=policy,
            clock=clock,
            ids=ids,
            events=events,
            max_attempts=max_attempts,
            lease_ttl=lease_ttl,
            keep_actions=keep_actions,
            keep_actions_for=keep_actions_for,
        )
        self._bdbs = bdbs
        self._modules = modules
        self._actions = actions
        """Where action records go (None: this service keeps none)."""

    async def _drive(self, plan: plans.Plan[T]) -> T:
        """Answer the plan's requests with the ports until it returns."""
        try:
            request = next(plan)
            while True:
                request = plan.send(await self._answer(request))
        except StopIteration as done:
            result: T = done.value
            return result

    async def _answer(self, request: plans.IoRequest) -> Any:
        if isinstance(request, plans.LoadBdb):
            return await self._bdbs.get(request.uid)
        if isinstance(request, plans.SaveBdb):
            return await self._bdbs.save(request.bdb, expected_revision=request.expected_revision)
        return await self._snapshot(request.names)

    async def _snapshot(self, names: tuple[str, ...]) -> CatalogSnapshot:
        snapshot = {}
        for name in names:
            entry = await self._modules.get(name)
            if entry is not None:
                snapshot[name] = entry
        return snapshot

    async def _run(self, plan: plans.Plan[plans.Outcome]) -> Bdb:
        bdb = await self._finish(await self._drive(plan))
        assert bdb is not None  # an outcome without error carries its bdb
        return bdb

    async def _finish(self, outcome: plans.Outcome) -> Bdb | None:
        """Write the action records the committed events change, then publish and
        return or raise: a client that learns an action's uid finds its record."""
        await self._record(outcome.events)
        return self.finish(outcome)

    async def _record(self, events: list[DomainEvent]) -> None:
        """Best effort: the change is committed whatever happens to its record."""
        log_ = self._actions
        if log_ is None:
            return
        for event in record_worthy(events):
            assert event.action_uid is not None
            try:
                previous = None if is_new_action(event) else await log_.get(event.action_uid)
                record = updated_record(previous, event)
                if record is None:
                    continue
                await log_.put(record)
                if record.finished:
                    await log_.prune(
                        keep=self.keep_actions, older_than=event.at - self.keep_actions_for
                    )
            except Exception:
                log.exception("action record of %s not written", event.action_uid)

    # --- the rules engine, side-effect free -------------------------------------------

    async def evaluate(
        self, principal: Principal | None, action: Action, uid: int | None = None
    ) -> Decision:
        """What would happen if `principal` asked `action` of bdb `uid` now; changes nothing.

        A read, not a change: no plan, just what `core.evaluate` needs, loaded."""
        rule = ACTIONS[action]
        bdb = None
        if rule.targets_one_bdb and uid is not None and 1 <= uid <= MAX_UID:
            bdb = await self._bdbs.get(uid)
        catalog = NO_MODULES
        if bdb is not None and bdb.module_list and rule.moves_a_lifecycle:
            catalog = await self._snapshot(bdb.module_names)
        if bdb is not None and bdb.action_lease_expires is not None:
            # Only a leased bdb needs the core's view of a lapsed lease, and the clock.
            now = self._clock.now()
            return core.evaluate(self.settings, principal, action, uid, bdb, catalog, now)
        return self.rules.decide(principal, action, uid, bdb, catalog)

    # --- reads -----------------------------------------------------------------------

    async def peek(self, uid: int) -> Bdb | None:
        """The bdb as requests see it, without rules: for workers and adapters."""
        return await self._finish(await self._drive(self._peek_plan(uid)))

    async def get_bdb(self, principal: Principal | None, uid: int) -> Bdb:
        return await self._run(self._read_plan(principal, Action.VIEW, uid))

    def list_bdbs(
        self, principal: Principal | None, *, after_uid: int = 0, limit: int | None = None
    ) -> AsyncIterator[Bdb]:
        """Bdbs in uid order, streamed from the repository (never loaded all at once).
        The permission is checked here, before the first bdb is read."""
        self._check_read(principal, Action.LIST)
        return self._bdbs.list(after_uid=after_uid, limit=limit)

    def list_modules(self, principal: Principal | None) -> AsyncIterator[CatalogModule]:
        self._check_read(principal, Action.VIEW_MODULES)
        return self._modules.list()

    # --- the Actions API ------------------------------------------------------------------

    async def get_action(self, principal: Principal | None, action_uid: str) -> ActionRecord:
        """The record of one action (`view_status_of_cluster_action`)."""
        self._check_read(principal, Action.VIEW_ACTIONS)
        record = None if self._actions is None else await self._actions.get(action_uid)
        if record is None:
            self._refuse_missing_action(principal, action_uid)
        assert record is not None
        return record

    async def list_actions(
        self,
        principal: Principal | None,
        *,
        bdb_uid: int | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[ActionRecord]:
        """Action records, newest first; only bdb `bdb_uid`'s (which must exist) when
        given. Rules and the bdb are checked at the call, before the first record."""
        self._check_read(principal, Action.VIEW_ACTIONS)
        if bdb_uid is not None and (
            not 1 <= bdb_uid <= MAX_UID or await self._bdbs.get(bdb_uid) is None
        ):
            raise BdbNotFoundError(bdb_uid)
        if self._actions is None:
            return _no_records()
        return self._actions.list(bdb_uid=bdb_uid, limit=limit)

    async def cancel(self, principal: Principal | None, action_uid: str) -> ActionRecord:
        """Cancel a running action: its member ends `failed` (`general-error`,
        `cancelled by <principal>`), its record `cancelled`. Only a principal allowed to
        start that member may; an action that already ended is `invalid_transition`."""
        record = await self.get_action(principal, action_uid)
        kind = ActionKind(record.name)
        await self._run(self._cancel_plan(principal, record.bdb_uid, action_uid, kind))
        assert self._actions is not None
        return await self._actions.get(action_uid) or record

    # --- principals' changes -----------------------------------------------------------

    async def reset_status(
        self, principal: Principal | None, uid: int, kind: ActionKind = ActionKind.EXPORT
    ) -> Bdb:
        """Back to idle unless that lifecycle's action runs; idle is left as it is."""
        return await self._run(self._reset_plan(principal, uid, kind))

    async def start_action(
        self,
        principal: Principal | None,
        uid: int,
        location: ExportLocation,
        kind: ActionKind = ActionKind.EXPORT,
    ) -> Bdb:
        """Begin an action; the returned bdb's `action_uid` identifies it to the worker,
        which must report progress or heartbeats before the lease runs out."""
        return await self._run(self._start_plan(principal, uid, location, kind))

    async def reset_export_status(self, principal: Principal | None, uid: int) -> Bdb:
        """The seed: back to idle unless exporting."""
        return await self.reset_status(principal, uid, ActionKind.EXPORT)

    async def reset_import_status(self, principal: Principal | None, uid: int) -> Bdb:
        return await self.reset_status(principal, uid, ActionKind.IMPORT)

    async def reset_backup_status(self, principal: Principal | None, uid: int) -> Bdb:
        return await self.reset_status(principal, uid, ActionKind.BACKUP)

    async def start_export(
        self, principal: Principal | None, uid: int, location: ExportLocation
    ) -> Bdb:
        return await self.start_action(principal, uid, location, ActionKind.EXPORT)

    async def start_import(
        self, principal: Principal | None, uid: int, source: ExportLocation
    ) -> Bdb:
        """Begin an import from `source` (the worker loads it; `flush` is the worker's)."""
        return await self.start_action(principal, uid, source, ActionKind.IMPORT)

    async def start_backup(
        self, principal: Principal | None, uid: int, location: ExportLocation
    ) -> Bdb:
        """Begin a backup to `location` (the bdb's `backup_location`, as a rule)."""
        return await self.start_action(principal, uid, location, ActionKind.BACKUP)

    # --- workers' reports ----------------------------------------------------------------

    async def record_progress(
        self, uid: int, action_uid: str, progress: int | None, kind: ActionKind = ActionKind.EXPORT
    ) -> Bdb:
        """Progress of a running action (None: a heartbeat), which also renews its lease.
        A report that changes nothing is accepted and stores nothing."""
        return await self._run(
            self._report_plan(Trigger.PROGRESS, uid, action_uid, kind, progress=progress)
        )

    async def record_success(
        self,
        uid: int,
        action_uid: str,
        kind: ActionKind = ActionKind.EXPORT,
        *,
        notify: bool = False,
        size_bytes: int | None = None,
    ) -> Bdb:
        """End an action in success; `size_bytes` (the bytes it moved, when the worker
        knows) rides on the event for the metrics."""
        return await self._run(
            self._report_plan(
                Trigger.SUCCEED, uid, action_uid, kind, notify=notify, size_bytes=size_bytes
            )
        )

    async def record_failure(
        self,
        uid: int,
        action_uid: str,
        reason: StrEnum | str,
        detail: str = "",
        kind: ActionKind = ActionKind.EXPORT,
        *,
        notify: bool = False,
    ) -> Bdb:
        """End an action in failure; `detail` (for people) is kept with the reason."""
        return await self._run(
            self._report_plan(
                Trigger.FAIL, uid, action_uid, kind, reason=reason, detail=detail, notify=notify
            )
        )

    async def record_export_progress(self, uid: int, action_uid: str, progress: int) -> Bdb:
        return await self.record_progress(uid, action_uid, progress)

    async def record_export_heartbeat(self, uid: int, action_uid: str) -> Bdb:
        """A sign of life: renews the lease, at most one write per half lease. The
        progress is read inside the compare-and-set loop, so a report made meanwhile is
        never contradicted by a stale value."""
        return await self.record_progress(uid, action_uid, None)

    async def record_export_success(self, uid: int, action_uid: str) -> Bdb:
        return await self.record_success(uid, action_uid)

    async def record_export_failure(
        self, uid: int, action_uid: str, reason: StrEnum | str, detail: str = ""
    ) -> Bdb:
        return await self.record_failure(uid, action_uid, reason, detail)


async def _no_records() -> AsyncIterator[ActionRecord]:
    """No records: the listing of a service that keeps none."""
    records: tuple[ActionRecord, ...] = ()
    for record in records:
        yield record
