"""The composition root: `bootstrap(...)` builds the whole application, and is the
only place that picks adapters.

From a store (or its URL) it builds the clock, the ids, the event bus with its
handlers (audit, notification, any subscriber the caller adds), the synchronous use
cases (CLI, export workers), the asynchronous ones when asked (the server's requests
on the event loop), the exporter and the export worker pool. The server, the CLI's
local mode and the tests all call it, so they run the same wiring.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from bdbexport.adapters.audit import JsonLinesEventLog
from bdbexport.adapters.audit.json_lines import TextSink
from bdbexport.adapters.exporting import ActionRunner, RdbExporter, SimulatedExporter
from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.exporting.location_check import LocationCheck
from bdbexport.adapters.exporting.partials import KEEP_ALIVE_EVERY, PartialSweeper
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.adapters.memory import SystemClock, UuidIds
from bdbexport.adapters.notify import NotificationHandler
from bdbexport.adapters.object_stores.remote import RemoteLocations
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.action_records import DEFAULT_KEEP_AGE, DEFAULT_KEEP_COUNT
from bdbexport.domain.async_service import AsyncActionService
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.core import DEFAULT_LEASE_TTL
from bdbexport.domain.errors import BdbNotFoundError, NoBackupLocationError
from bdbexport.domain.event_bus import EventBus
from bdbexport.domain.events import ActionFailed, ActionSucceeded, DomainEvent
from bdbexport.domain.family import LIFECYCLES
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.ports import (
    Clock,
    EventPublisher,
    Exporter,
    IdGenerator,
    Importer,
    Notifier,
    PermissionPolicy,
)
from bdbexport.domain.principal import Principal
from bdbexport.domain.service import ActionService

from .action_logs import ActionLogs, open_action_logs
from .importers import choose_importer, location_types
from .stores import AsyncStore, Store, default_export_root, open_store, store_hosts

EXPORTERS = ("rdb", "simulated")
"""`rdb`: real snapshots of the bdb's Redis endpoint; `simulated`: copies nothing."""


def choose_exporter(
    name: str,
    *,
    simulated_duration: float = 5.0,
    simulated_outcome: str = "succeed",
    stop: threading.Event | None = None,
    roots: ExportRoots | None = None,
    egress: EgressPolicy | None = None,
    export_timeout: float = 30.0,
    remote: RemoteLocations | None = None,
) -> Exporter:
    """The exporter `name` stands for (one of `EXPORTERS`). The real one writes only
    inside `roots` (default: the working directory's `exports`) and connects only where
    `egress` permits."""
    if name == "rdb":
        return RdbExporter(
            roots=roots or ExportRoots([Path("exports")]),
            egress=egress,
            timeout=export_timeout,
            remote=remote,
        )
    if name == "simulated":
        return SimulatedExporter(
            duration=simulated_duration,
            outcome=simulated_outcome,
            stop=stop,
            remote_types=remote.types if remote is not None else frozenset(),
        )
    raise ValueError(f"Unknown exporter {name!r}; choose one of: {', '.join(EXPORTERS)}.")


@dataclass
class Application:
    """Everything one process runs, wired."""

    store: Store
    service: ActionService
    """The synchronous use cases: export workers, the CLI, sync embedders."""
    bus: EventBus
    pool: ActionRunner
    stopping: threading.Event
    exporter_name: str
    check_location: Callable[[ExportLocation, ActionKind], None]
    """The refusals due before an action starts, whatever adapter runs it: a location
    type the exporter (exports, backups) or importer (imports) cannot serve, a path
    outside the export roots, a destination or source the egress policy refuses."""
    async_store: AsyncStore | None = None
    async_service: AsyncActionService | None = None
    """The asynchronous use cases over the same data, when built `with_async`."""
    sweeper: PartialSweeper | None = None
    """Removes temporary files of exports that died (`sweep()`; lease expiries do it too)."""
    action_logs: ActionLogs | None = None
    """The action records (the Actions API) in the store: sync, and async on demand."""
    exporter: Exporter | None = None
    importer: Importer | None = None
    """The adapters `bootstrap` chose for this application: a worker process runs its
    claimed actions with these, so they are built once, one way (composition/workers.py)."""
    launch: Callable[..., None] | None = None
    """Where scheduled backups are handed (None: `pool.submit`); `serve` sets the work
    queue's launcher when workers run apart (docs/workers.md)."""

    def run_here(
        self,
        started: Bdb,
        location: ExportLocation,
        *,
        kind: ActionKind,
        flush: bool = False,
        on_progress: Callable[[int], None],
        poll: float = 0.1,
    ) -> None:
        """Run an action its start just began (any member), in the foreground, through
        the runner; returns when it has ended. Ctrl-C stops it as a shutdown would."""
        self.pool.submit(started, location, kind=kind, flush=flush)
        progress_field = LIFECYCLES[kind].progress_field
        try:
            while self.pool.running():
                self.stopping.wait(poll)
                current = self.store.bdbs.get(started.uid)
                if current is not None:
                    on_progress(getattr(current, progress_field))
        except KeyboardInterrupt:
            self.stopping.set()
            raise

    def start_scheduled_backup(self, uid: int) -> Bdb:
        """Start bdb `uid`'s backup to its `backup_location` as the backup scheduler
        (`SCHEDULER`, a system principal) and hand it to this replica's runner; returns
        the bdb with the backup's `action_uid`. The stored location is judged first as any
        start judges it (`check_location`: type served, roots, egress), so a place that
        became unusable is refused before anything is recorded; then the use case's
        refusals (`busy`, `db_not_exist`, `no_backup_location`, ...): the scheduler
        decides what to do."""
        bdb = self.service.peek(uid)
        if bdb is None:
            raise BdbNotFoundError(uid)
        if bdb.backup_location is None:
            raise NoBackupLocationError(uid)
        self.check_location(bdb.backup_location, ActionKind.BACKUP)
        started = self.service.start_backup(SCHEDULER, uid, bdb.backup_location)
        launch = self.launch if self.launch is not None else self.pool.submit
        launch(started, bdb.backup_location, kind=ActionKind.BACKUP)
        return started

    def prepare_exports(self) -> None:
        """Before serving: create the export roots that do not exist yet (the default
        one) and remove temporary files left by exports that died (docs/exports.md)."""
        if self.sweeper is not None:
            self.sweeper.roots.create_missing()
            self.sweeper.sweep()

    def close(self, grace: float = 1.0) -> None:
        """Stop the workers (running exports get `grace` seconds) and close the store."""
        self.pool.shutdown(grace=grace)
        if self.action_logs is not None:
            self.action_logs.close()
        self.store.close()

    async def aclose(self) -> None:
        """Close the asynchronous ports (their connections belong to the loop)."""
        if self.async_store is not None:
            await self.async_store.close()


SCHEDULER = Principal("backup-scheduler", "admin")
"""The system principal scheduled backups start as (the actor in their events)."""


def _closing_both(
    first: Callable[[], Awaitable[None]], second: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        try:
            await first()
        finally:
            await second()

    return close


def bootstrap(
    store: Store | str,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    policy: PermissionPolicy | None = None,
    exporter: str = "rdb",
    simulated_duration: float = 5.0,
    simulated_outcome: str = "succeed",
    lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    max_concurrent_exports: int = 4,
    audit: TextSink | None = None,
    notifier: Notifier | None = None,
    subscribers: Sequence[EventPublisher] = (),
    with_async: bool = False,
    importer: Importer | str | None = "rdb",
    keep_actions: int = DEFAULT_KEEP_COUNT,
    keep_actions_for: timedelta = DEFAULT_KEEP_AGE,
    export_roots: Sequence[str | Path] = (),
    allow_egress: Sequence[str] = (),
    export_timeout: float = 30.0,
    import_limits: ImportLimits | None = None,
    remote_settings: RemoteSettings | None = None,
) -> Application:
    """The application over `store` (a `Store`, or a URL to open).

    `audit` receives every event as a JSON line; `notifier` announces ends of actions
    whose starter asked (`email_notification`); `subscribers` receive every event too
    (tests pass an in-memory log). `with_async` also builds the asynchronous use
    cases over the store's async ports, for a server's event loop. `export_roots`
    (default: `exports` next to the store, docs/exports.md) bound where `mount_point`
    exports may write; `allow_egress` lists hosts and networks remote exports may reach
    despite the default refusals; `export_timeout` bounds every network step of an export;
    `import_limits` what one import may take from the machine (docs/security.md);
    `remote_settings` the endpoints and bounds of the s3, abs and sftp location types
    (docs/exports.md; default: the providers' own, with `export_timeout`).
    """
    opened = open_store(store) if isinstance(store, str) else store
    clock = clock if clock is not None else SystemClock()
    ids = ids if ids is not None else UuidIds()
    policy = policy if policy is not None else RoleTablePolicy()

    bus = EventBus()
    if audit is not None:
        bus.subscribe(DomainEvent, JsonLinesEventLog(audit).publish)
    for subscriber in subscribers:
        bus.subscribe(DomainEvent, subscriber.publish)
    # Action records (the Actions API) are written by the use cases, in the store.
    action_logs = open_action_logs(opened.url)
    announce = NotificationHandler(notifier, publish=bus, lookup=opened.bdbs.get)
    bus.subscribe(ActionSucceeded, announce)
    bus.subscribe(ActionFailed, announce)

    service = ActionService(
        bdbs=opened.bdbs,
        modules=opened.modules,
        policy=policy,
        clock=clock,
        ids=ids,
        events=bus,
        lease_ttl=lease_ttl,
        actions=action_logs.sync,
        keep_actions=keep_actions,
        keep_actions_for=keep_actions_for,
    )
    async_store: AsyncStore | None = None
    async_service: AsyncActionService | None = None
    if with_async:
        if opened.open_async is None:
            raise ValueError(f"store {opened.url} offers no asynchronous ports")
        async_store = opened.open_async()
        async_actions, close_async_actions = action_logs.open_async()
        async_store.close = _closing_both(async_store.close, close_async_actions)
        async_service = AsyncActionService(
            bdbs=async_store.bdbs,
            modules=async_store.modules,
            policy=policy,
            clock=clock,
            ids=ids,
            events=bus,
            lease_ttl=lease_ttl,
            actions=async_actions,
            keep_actions=keep_actions,
            keep_actions_for=keep_actions_for,
        )

    stopping = threading.Event()
    roots = ExportRoots(export_roots or [default_export_root(opened.url)])
    egress = EgressPolicy.build(allow_egress, store_hosts(opened.url))
    remote = remote_locations(remote_settings, egress, export_timeout)
    chosen = choose_exporter(
        exporter,
        simulated_duration=simulated_duration,
        simulated_outcome=simulated_outcome,
        stop=stopping,
        roots=roots,
        egress=egress,
        export_timeout=export_timeout,
        remote=remote,
    )
    sweeper: PartialSweeper | None = None
    if isinstance(chosen, RdbExporter):
        # The action log tells our store's dead exports from other stores' (docs/exports.md).
        sweeper = PartialSweeper(roots, opened.bdbs.get, actions=action_logs.sync)
        bus.subscribe(ActionFailed, sweeper.on_failed)
    chosen_importer = (
        choose_importer(
            importer,
            roots=roots,
            egress=egress,
            timeout=export_timeout,
            limits=import_limits,
            remote=remote,
        )
        if isinstance(importer, str)
        else importer
    )
    pool = ActionRunner(
        service,
        chosen,
        chosen_importer,
        max_concurrent=max_concurrent_exports,
        stopping=stopping,
        keep_alive=None if sweeper is None else sweeper.keep_alive,
        keep_alive_every=KEEP_ALIVE_EVERY,
    )
    return Application(
        store=opened,
        service=service,
        bus=bus,
        pool=pool,
        stopping=stopping,
        exporter_name=exporter,
        check_location=location_check(
            chosen, chosen_importer, roots=roots, egress=egress, remote=remote
        ),
        async_store=async_store,
        async_service=async_service,
        sweeper=sweeper,
        action_logs=action_logs,
        exporter=chosen,
        importer=chosen_importer,
    )


def remote_locations(
    settings: RemoteSettings | None, egress: EgressPolicy, timeout: float
) -> RemoteLocations:
    """The s3, abs and sftp adapters (`adapters/object_stores`), under `egress`."""
    return RemoteLocations(settings or RemoteSettings(timeout=timeout), egress)


def location_check(
    exporter: Exporter,
    importer: Importer | None,
    *,
    roots: ExportRoots,
    egress: EgressPolicy,
    remote: RemoteLocations | None = None,
) -> LocationCheck:
    """The start-time checks for these adapters: the types each serves (an adapter that
    does not say serves every type), then the roots and the egress policy, the same for
    every adapter (docs/domain.md, the order of checks)."""
    types: dict[ActionKind, frozenset[str]] = {}
    exported = location_types(exporter)
    if exported is not None:
        types[ActionKind.EXPORT] = types[ActionKind.BACKUP] = exported
    imported = location_types(importer) if importer is not None else None
    if imported is not None:
        types[ActionKind.IMPORT] = imported
    return LocationCheck(
        roots=roots,
        egress=egress,
        types=types,
        remote=None if remote is None else partial(remote.check, policy=egress),
    )
