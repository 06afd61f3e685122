"""The demo dataset a fresh embedded store starts with (unless `--bootstrap` is given).

A database in every export state that matters, a module without `backup_restore`,
one user per built-in role: the server seeds it at its first start (`seed_store`), the
CLI's worked examples run against it, and `python -m bdbexport.entrypoints.demo` tours its
bdbs and modules. Passwords are never fixed in the code: the admin's comes from
`BDBEXPORT_ADMIN_PASSWORD` or is generated, the others are generated, and all are shown
once, at the first start.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime

from bdbexport.domain.action_records import ActionRecord, ActionStatus
from bdbexport.domain.bdb import Bdb, Endpoint, ModuleRef
from bdbexport.domain.modules import CatalogModule
from bdbexport.domain.permissions import Role
from bdbexport.domain.ports import ActionLog, BdbRepository
from bdbexport.domain.statuses import ExportFailureReason, ExportStatus

from .bootstrap_file import BootstrapDocument, BootstrapUser

ADMIN_PASSWORD_ENV = "BDBEXPORT_ADMIN_PASSWORD"
DEMO_DOMAIN = "example.com"
DEMO_EXPORT_LEASE_END = datetime(9999, 12, 31, tzinfo=UTC)
"""The lease of database 4's demo export, which no worker runs: it never ends by itself, so
db 4 stays `exporting` (the demo's "reset while exporting" answers, 409 and exit 6, hold
on any day) instead of lapsing into `failed` a lease TTL after the first start. Set in the
data, as `apply_bootstrap` only fills a lease that is missing."""
DEMO_EXPORT_ACTION = "demo-export-4"
"""Database 4's running demo export: its bdb names it, and its action record (the
Actions API) exists too, so `GET /v1/actions/demo-export-4`, the bdb's action list and
a cancel work on the demo as on any running export."""


def demo_email(role: Role) -> str:
    return f"{role.value.replace('_', '-')}@{DEMO_DOMAIN}"


def demo_document(
    local_redis: Endpoint | None = None,
) -> tuple[BootstrapDocument, dict[str, str]]:
    """The dataset, and the passwords it was given (to show once). With `local_redis`,
    database 1 (`orders`) has that data endpoint, so its export is a real one at once."""
    passwords = {
        demo_email(role): (os.environ.get(ADMIN_PASSWORD_ENV) if role is Role.ADMIN else None)
        or secrets.token_urlsafe(12)
        for role in Role
    }
    users = tuple(
        BootstrapUser(email=demo_email(role), role=role, password=passwords[demo_email(role)])
        for role in Role
    )
    bdbs = demo_bdbs()
    if local_redis is not None:
        bdbs = (bdbs[0].model_copy(update={"endpoints": (local_redis,)}), *bdbs[1:])
    document = BootstrapDocument(users=users, modules=demo_modules(), bdbs=bdbs)
    return document, passwords


LOCAL_REDIS = ("127.0.0.1", 6379)
"""Where the first start looks for a Redis to give the demo's database 1."""


def find_local_redis(
    host: str = LOCAL_REDIS[0], port: int = LOCAL_REDIS[1], timeout: float = 0.2
) -> Endpoint | None:
    """The endpoint of a Redis answering on `host:port` (a `PING`, within `timeout`), or
    None. A server that asks for a password still counts: it is a Redis."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(b"PING\r\n")
            answer = connection.recv(64)
    except OSError:
        return None
    if answer.startswith((b"+PONG", b"-NOAUTH", b"-ERR")):
        return Endpoint(addr=(host,), port=port)
    return None


def demo_modules() -> tuple[CatalogModule, ...]:
    """The module catalog: three modules with `backup_restore`, `graph` without it."""
    return (
        CatalogModule(
            module_name="search",
            semantic_version="2.8.4",
            capabilities=frozenset({"backup_restore", "types", "clustering"}),
        ),
        CatalogModule(
            module_name="ReJSON",
            semantic_version="2.6.6",
            capabilities=frozenset({"backup_restore", "types", "replica_of"}),
        ),
        CatalogModule(
            module_name="timeseries",
            semantic_version="1.10.5",
            capabilities=frozenset({"backup_restore", "types"}),
        ),
        CatalogModule(
            module_name="graph",
            semantic_version="2.10.12",
            capabilities=frozenset({"types", "persistence_rdb"}),
        ),
    )


def demo_bdbs() -> tuple[Bdb, ...]:
    """The databases, uids 1 to 7, one per state that matters (docs/http-api.md)."""
    return (
        Bdb(uid=1, name="orders", module_list=(ModuleRef(module_name="search"),)),
        Bdb(
            uid=2,
            name="sessions",
            export_status=ExportStatus.FAILED,
            export_progress=42,
            export_failure_reason=ExportFailureReason.WRONG_FILE_PATH,
        ),
        Bdb(
            uid=3,
            name="catalog",
            module_list=(ModuleRef(module_name="ReJSON"),),
            export_status=ExportStatus.SUCCEEDED,
            export_progress=100,
            last_export_time=datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
        ),
        Bdb(
            uid=4,
            name="analytics",
            module_list=(ModuleRef(module_name="timeseries"),),
            export_status=ExportStatus.EXPORTING,
            export_progress=35,
            action_uid=DEMO_EXPORT_ACTION,
            action_lease_expires=DEMO_EXPORT_LEASE_END,
        ),
        Bdb(uid=5, name="social", module_list=(ModuleRef(module_name="graph"),)),
        Bdb(uid=6, name="cache", action_uid="demo-resharding-6"),
        Bdb(
            uid=7,
            name="inventory",
            export_status=ExportStatus.FAILED,
            export_progress=3,
            export_failure_reason=ExportFailureReason.NO_PERMISSION,
        ),
    )


def demo_action_records(started: datetime) -> tuple[ActionRecord, ...]:
    """The records of the demo's running actions (database 4's export), started at
    `started` (the seeding: a record older than the retention age would be pruned as
    soon as it finished, e.g. right after a cancel)."""
    return (
        ActionRecord(
            action_uid=DEMO_EXPORT_ACTION,
            name="export",
            bdb_uid=4,
            status=ActionStatus.RUNNING,
            progress=35,
            start_time=started,
        ),
    )


def seed_demo_actions(bdbs: BdbRepository, actions: ActionLog) -> list[str]:
    """Store each demo action record whose bdb runs that action and that the action log
    lacks; returns the uids stored. Idempotent, and a no-op on a store seeded from an
    operator's bootstrap file (its bdbs do not name the demo's actions). A separate
    step from `apply_bootstrap` because the records live in the action log, which the
    application opens (an in-memory store's log exists only there)."""
    stored = []
    for record in demo_action_records(datetime.now(UTC)):
        bdb = bdbs.get(record.bdb_uid)
        if bdb is None or bdb.action_uid != record.action_uid:
            continue
        if actions.get(record.action_uid) is None and actions.put(record):
            stored.append(record.action_uid)
    return stored
