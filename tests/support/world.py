"""A small world of in-memory adapters wired to the service: what unit tests run against."""

from __future__ import annotations

from dataclasses import dataclass

from bdbexport.adapters.memory import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    InMemoryBdbRepository,
    InMemoryEventLog,
    InMemoryModuleCatalog,
    ManualClock,
    SequentialIds,
)
from bdbexport.composition import build_async_service, build_service
from bdbexport.domain import (
    ActionService,
    AsyncActionService,
    Bdb,
    CatalogModule,
    ExportFailureReason,
    ExportStatus,
    ModuleRef,
    Principal,
)

ADMIN = Principal("admin@example.com", "admin")
VIEWER = Principal("viewer@example.com", "db_viewer")
MEMBER = Principal("member@example.com", "db_member")


@dataclass
class World:
    service: ActionService
    bdbs: InMemoryBdbRepository
    modules: InMemoryModuleCatalog
    events: InMemoryEventLog
    clock: ManualClock
    ids: SequentialIds
    async_service: AsyncActionService
    """The asynchronous shell over the same data, clock, ids and events."""


def demo_modules() -> list[CatalogModule]:
    return [
        CatalogModule(
            module_name="search", semantic_version="2.8.4", capabilities=["backup_restore", "types"]
        ),
        CatalogModule(
            module_name="ReJSON", semantic_version="2.6.6", capabilities=["backup_restore"]
        ),
        CatalogModule(module_name="graph", semantic_version="2.10.12", capabilities=["types"]),
    ]


def make_world(bdbs: list[Bdb] | None = None) -> World:
    repository = InMemoryBdbRepository(bdbs or [])
    catalog = InMemoryModuleCatalog(demo_modules())
    events = InMemoryEventLog()
    clock = ManualClock()
    ids = SequentialIds()
    service = build_service(bdbs=repository, modules=catalog, events=events, clock=clock, ids=ids)
    async_service = build_async_service(
        bdbs=AsyncInMemoryBdbRepository(repository),
        modules=AsyncInMemoryModuleCatalog(catalog),
        events=events,
        clock=clock,
        ids=ids,
    )
    return World(service, repository, catalog, events, clock, ids, async_service)


def standard_world() -> World:
    """Databases 1-6 in every interesting state."""
    return make_world(
        [
            Bdb(uid=1, name="idle-db"),
            Bdb(
                uid=2,
                name="failed-db",
                export_status=ExportStatus.FAILED,
                export_failure_reason=ExportFailureReason.WRONG_FILE_PATH,
            ),
            Bdb(
                uid=3,
                name="succeeded-db",
                export_status=ExportStatus.SUCCEEDED,
                export_progress=100,
            ),
            Bdb(
                uid=4,
                name="exporting-db",
                export_status=ExportStatus.EXPORTING,
                export_progress=40,
                action_uid="export-4",
            ),
            Bdb(uid=5, name="graph-db", module_list=(ModuleRef(module_name="graph"),)),
            Bdb(uid=6, name="busy-db", action_uid="backup-6"),
        ]
    )
