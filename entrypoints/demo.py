"""`python -m bdbexport.entrypoints.demo`: a tour of the rules engine on the demo cluster.

It loads the demo dataset's bdbs and modules (the ones `bdbexport serve` seeds at its first
start, composition/demo_data.py) into the in-memory world, asks `evaluate` what each
built-in role may do to each database, walks one export through its lifecycle, and asks
why database 5 cannot be exported. It changes nothing outside its own process: it is the
shortest way to see the domain work.
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
from bdbexport.composition.demo_data import demo_bdbs, demo_email, demo_modules
from bdbexport.domain import (
    Action,
    ActionService,
    MountPointLocation,
    Principal,
    Role,
)

EXPORTED = 1
"""The demo database whose export the tour runs: `orders`, idle, its module can export."""
REFUSED = 5
"""The demo database the tour asks about: `social`, whose module lacks `backup_restore`."""


def demo_service(events: InMemoryEventLog) -> ActionService:
    """The demo cluster's databases and modules (not its users), in memory."""
    return build_service(
        bdbs=InMemoryBdbRepository(demo_bdbs()),
        modules=InMemoryModuleCatalog(demo_modules()),
        events=events,
        ids=SequentialIds("export"),
    )


def run(out: TextIO) -> None:
    events = InMemoryEventLog()
    service = demo_service(events)
    roles = [Role.ADMIN, Role.DB_MEMBER, Role.DB_VIEWER, Role.NONE]
    out.write("May each role reset the export status of each database?\n")
    header = f"{'database':<26}" + "".join(f"{role.value:<34}" for role in roles)
    out.write(header.rstrip() + "\n")
    for bdb in service.list_bdbs(Principal(demo_email(Role.ADMIN), Role.ADMIN)):
        cells = []
        for role in roles:
            principal = Principal(demo_email(role), role)
            decision = service.evaluate(principal, Action.RESET, bdb.uid)
            cells.append("allowed" if decision.allowed else decision.error.code)  # type: ignore[union-attr]
        label = f"{bdb.uid} {bdb.name} ({bdb.export_status})"
        row = f"{label:<26}" + "".join(f"{cell:<34}" for cell in cells)
        out.write(row.rstrip() + "\n")

    member = Principal(demo_email(Role.DB_MEMBER), Role.DB_MEMBER)
    out.write(f"\nAn export of database {EXPORTED}, start to reset:\n")
    started = service.start_export(member, EXPORTED, MountPointLocation(path="/mnt/backups"))
    assert started.action_uid is not None
    for progress in (25, 50, 100):
        service.record_export_progress(EXPORTED, started.action_uid, progress)
    service.record_export_success(EXPORTED, started.action_uid)
    service.reset_export_status(member, EXPORTED)
    for event in events:
        record = event.to_record()
        details = " ".join(
            f"{key}={value}"
            for key, value in record.items()
            if key not in {"event", "at", "actor", "uid", "outcome"}
        )
        out.write(f"  {record['event']:<18} by {record['actor']:<22} {details}\n")

    decision = service.evaluate(member, Action.START, REFUSED)
    out.write(f"\nWhy may {member.name} not export database {REFUSED}?\n")
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
