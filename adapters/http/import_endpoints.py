"""The import member of the family: resetting `import_status`, and starting an import
(the family's endpoints, `family_endpoints`, instantiated for import)."""

from __future__ import annotations

from typing import Any

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.actions import Action

from .family_endpoints import Member, StartRequest, reset_endpoint, start_endpoint, validated
from .schemas import ImportRequest

reset_import_status = reset_endpoint(Action.RESET_IMPORT, ActionKind.IMPORT)
"""`import_status` back to idle unless an import runs, `import_failure_reason` cleared."""


def _read(document: dict[str, Any]) -> StartRequest:
    """Either body form (`ImportRequest`): Redis Software's or the common client's."""
    body = validated(ImportRequest, document)
    return StartRequest(
        location=body.source, notify=body.email_notification, flush=body.replaces_data
    )


start_import = start_endpoint(Member(ActionKind.IMPORT, Action.START_IMPORT, _read))
"""`POST /v1/bdbs/{uid}/actions/import`: the source is checked as an export's
destination is (roots, egress), and by the importer's own types."""
