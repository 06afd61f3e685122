"""The family: export, import and backup, each declared once as data.

Each member is a table of `transitions` dicts over its own status words (Redis
Software's `export_status`, `import_status`, `backup_status`); `Lifecycle` builds its
machine and compiles its table once, here, at import. Backup is an export to the
bdb's `backup_location`, so the two share one declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .action_kind import ActionKind, Trigger
from .guards import ActionHolder, Guard
from .lifecycle import Lifecycle
from .statuses import (
    BackupStatus,
    ExportFailureReason,
    ExportStatus,
    ImportFailureReason,
    ImportStatus,
    import_failure_reason,
)

_WORKER = [Guard.HOLDS_CURRENT_ACTION]
_REPORT = [Guard.HOLDS_CURRENT_ACTION, Guard.PROGRESS_NOT_BACKWARDS]
_LAPSED = [Guard.LEASE_LAPSED]


def _export_like(
    statuses: type[ExportStatus] | type[BackupStatus],
) -> tuple[Mapping[str, Any], ...]:
    idle, running = statuses("idle"), statuses("exporting")
    succeeded, failed = statuses("succeeded"), statuses("failed")
    return (
        {"trigger": Trigger.START, "source": [idle, succeeded, failed], "dest": running},
        # dest None is an internal transition: the status stays, the progress moves.
        {"trigger": Trigger.PROGRESS, "source": running, "dest": None, "conditions": _REPORT},
        {"trigger": Trigger.SUCCEED, "source": running, "dest": succeeded, "conditions": _WORKER},
        {"trigger": Trigger.FAIL, "source": running, "dest": failed, "conditions": _WORKER},
        {"trigger": Trigger.EXPIRE, "source": running, "dest": failed, "conditions": _LAPSED},
        # A cancelled action ends failed: the member's vocabulary has no "cancelled".
        {"trigger": Trigger.CANCEL, "source": running, "dest": failed, "conditions": _WORKER},
        {"trigger": Trigger.RESET, "source": [succeeded, failed], "dest": idle},
        # Resetting an idle status is accepted and changes nothing.
        {"trigger": Trigger.RESET, "source": idle, "dest": None},
    )


IMPORT_TRANSITIONS: tuple[Mapping[str, Any], ...] = (
    {
        "trigger": Trigger.START,
        "source": [ImportStatus.IDLE, ImportStatus.SUCCEEDED, ImportStatus.FAILED],
        "dest": ImportStatus.INITIALIZING,
    },
    # The first report of real progress means data is being loaded; a heartbeat
    # (no progress) while the source is still being fetched keeps `initializing`.
    {
        "trigger": Trigger.PROGRESS,
        "source": ImportStatus.INITIALIZING,
        "dest": ImportStatus.IMPORTING,
        "conditions": [*_REPORT, Guard.REPORTS_PROGRESS],
    },
    {
        "trigger": Trigger.PROGRESS,
        "source": ImportStatus.INITIALIZING,
        "dest": None,
        "conditions": _REPORT,
    },
    {
        "trigger": Trigger.PROGRESS,
        "source": ImportStatus.IMPORTING,
        "dest": None,
        "conditions": _REPORT,
    },
    {
        "trigger": Trigger.SUCCEED,
        "source": [ImportStatus.INITIALIZING, ImportStatus.IMPORTING],
        "dest": ImportStatus.SUCCEEDED,
        "conditions": _WORKER,
    },
    {
        "trigger": Trigger.FAIL,
        "source": [ImportStatus.INITIALIZING, ImportStatus.IMPORTING],
        "dest": ImportStatus.FAILED,
        "conditions": _WORKER,
    },
    {
        "trigger": Trigger.EXPIRE,
        "source": [ImportStatus.INITIALIZING, ImportStatus.IMPORTING],
        "dest": ImportStatus.FAILED,
        "conditions": _LAPSED,
    },
    {
        "trigger": Trigger.CANCEL,
        "source": [ImportStatus.INITIALIZING, ImportStatus.IMPORTING],
        "dest": ImportStatus.FAILED,
        "conditions": _WORKER,
    },
    {
        "trigger": Trigger.RESET,
        "source": [ImportStatus.SUCCEEDED, ImportStatus.FAILED],
        "dest": ImportStatus.IDLE,
    },
    {"trigger": Trigger.RESET, "source": ImportStatus.IDLE, "dest": None},
)

EXPORT = Lifecycle(
    kind=ActionKind.EXPORT,
    statuses=ExportStatus,
    reasons=ExportFailureReason,
    idle=ExportStatus.IDLE,
    running=frozenset({ExportStatus.EXPORTING}),
    succeeded=ExportStatus.SUCCEEDED,
    failed=ExportStatus.FAILED,
    transitions=_export_like(ExportStatus),
    last_time_field="last_export_time",
)
IMPORT = Lifecycle(
    kind=ActionKind.IMPORT,
    statuses=ImportStatus,
    reasons=ImportFailureReason,
    parse_reason=import_failure_reason,
    idle=ImportStatus.IDLE,
    running=frozenset({ImportStatus.INITIALIZING, ImportStatus.IMPORTING}),
    succeeded=ImportStatus.SUCCEEDED,
    failed=ImportStatus.FAILED,
    transitions=IMPORT_TRANSITIONS,
    last_time_field=None,
)
BACKUP = Lifecycle(
    kind=ActionKind.BACKUP,
    statuses=BackupStatus,
    reasons=ExportFailureReason,
    idle=BackupStatus.IDLE,
    running=frozenset({BackupStatus.EXPORTING}),
    succeeded=BackupStatus.SUCCEEDED,
    failed=BackupStatus.FAILED,
    transitions=_export_like(BackupStatus),
    last_time_field="last_backup_time",
)

LIFECYCLES: Mapping[ActionKind, Lifecycle] = MappingProxyType(
    {lifecycle.kind: lifecycle for lifecycle in (EXPORT, IMPORT, BACKUP)}
)
"""The family, by kind: the three machines, each built once at import."""


def running_lifecycle(bdb: ActionHolder) -> Lifecycle | None:
    """The lifecycle whose action runs on the bdb now, if any (at most one can)."""
    for lifecycle in LIFECYCLES.values():
        if lifecycle.is_running(bdb):
            return lifecycle
    return None
