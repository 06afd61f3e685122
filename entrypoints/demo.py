"""`python -m bdbexport.entrypoints.demo`: a tour of the rules engine on a demo cluster.

It builds the in-memory world, asks `evaluate` what each built-in role may do to each
kind of database, then walks one export through its lifecycle. It changes nothing
outside its own process: it is the shortest way to see the domain work.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from bdbexport.adapters.memory import (
    InMemoryBdbRepository,
    InMemoryEventLog,
    InMemoryModuleCatalog,
    SequentialIds,
)
from bdbexport.composition import build_service
from bdbexport.domain import (
    Action,
    Bdb,
    CatalogModule,
    ExportFailureReason,
    ExportService,
    ExportStatus,
    ModuleRef,
    MountPointLocation,
    Principal,
    Role,
)


def demo_service(events: InMemoryEventLog) -> ExportService:
    """A cluster with a database in every state that matters to exports."""
    catalog = InMemoryModuleCatalog(
        [
            CatalogModule(
                module_name="search", semantic_version="2.8.4", capabilities=["backup_restore"]
            ),
            CatalogModule(module_name="graph", semantic_version="2.10.12", capabilities=["types"]),
        ]
    )
    bdbs = InMemoryBdbRepository(
        [
            Bdb(uid=1, name="orders", module_list=(ModuleRef(module_name="search"),)),
            Bdb(
                uid=2,
                name="sessions",
                export_status=ExportStatus.FAILED,
                export_failure_reason=ExportFailureReason.WRONG_FILE_PATH,
            ),
            Bdb(
                uid=3,
                name="catalog",
                export_status=ExportStatus.EXPORTING,
                export_progress=35,
                action_uid="export-3",
            ),
            Bdb(uid=4, name="social", module_list=(ModuleRef(module_name="graph"),)),
            Bdb(uid=5, name="cache", action_uid="resharding-5"),
        ]
    )
    return build_service(bdbs=bdbs, modules=catalog, events=events, ids=SequentialIds("export"))


def run(out: TextIO) -> None:
    events = InMemoryEventLog()
    service = demo_service(events)
    roles = [Role.ADMIN, Role.DB_MEMBER, Role.DB_VIEWER, Role.NONE]
    out.write("May each role reset the export status of each database?\n")
    out.write(f"{'database':<22}" + "".join(f"{role.value:<34}" for role in roles) + "\n")
    for bdb in service.list_bdbs(Principal("admin@demo", Role.ADMIN)):
        cells = []
        for role in roles:
            decision = service.evaluate(Principal(f"{role}@demo", role), Action.RESET, bdb.uid)
            cells.append("allowed" if decision.allowed else decision.error.code)  # type: ignore[union-attr]
        label = f"{bdb.uid} {bdb.name} ({bdb.export_status})"
        out.write(f"{label:<22}" + "".join(f"{cell:<34}" for cell in cells) + "\n")

    member = Principal("member@demo", Role.DB_MEMBER)
    out.write("\nAn export of database 1, start to reset:\n")
    started = service.start_export(member, 1, MountPointLocation(path="/mnt/backups"))
    assert started.action_uid is not None
    for progress in (25, 50, 100):
        service.record_export_progress(1, started.action_uid, progress)
    service.record_export_success(1, started.action_uid)
    service.reset_export_status(member, 1)
    for event in events:
        record = event.to_record()
        details = " ".join(
            f"{key}={value}"
            for key, value in record.items()
            if key not in {"event", "at", "actor", "uid", "outcome"}
        )
        out.write(f"  {record['event']:<18} by {record['actor']:<14} {details}\n")

    decision = service.evaluate(member, Action.START, 4)
    out.write(f"\nWhy may {member.name} not export database 4?\n")
    for check in decision.checks:
        line = f"  {check.name:<20} {check.outcome.value}"
        if check.error is not None:
            line += f": {check.error.description}"
        out.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    run(sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
