"""The backup member of the family: resetting `backup_status`, and an on-demand backup
(the family's endpoints, `family_endpoints`, instantiated for backup).

A backup is an export to the bdb's `backup_location` (Redis Software's words: a backup
*exports*). Real clients post `{}`; the location then comes from the bdb. Periodic
backups are started by the scheduler through the composition root
(`Application.start_scheduled_backup`), not over HTTP.
"""

from __future__ import annotations

from typing import Any

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.actions import Action

from .family_endpoints import Member, StartRequest, reset_endpoint, start_endpoint, validated
from .schemas import BackupRequest

reset_backup_status = reset_endpoint(Action.RESET_BACKUP, ActionKind.BACKUP)
"""`backup_status` back to idle unless a backup runs, `backup_failure_reason` cleared."""


def _read(document: dict[str, Any]) -> StartRequest:
    body = validated(BackupRequest, document)
    return StartRequest(location=body.backup_location, notify=body.email_notification)


start_backup = start_endpoint(
    Member(ActionKind.BACKUP, Action.START_BACKUP, _read, body_required=False)
)
"""`POST /v1/bdbs/{uid}/actions/backup`: to the body's `backup_location` (an extension)
or the bdb's."""
