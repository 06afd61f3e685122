"""The export member of the family: the seed's reset, and starting an export (the
family's endpoints, `family_endpoints`, instantiated for export)."""

from __future__ import annotations

from typing import Any

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.actions import Action

from .family_endpoints import Member, StartRequest, reset_endpoint, start_endpoint, validated
from .schemas import ExportRequest

reset_export_status = reset_endpoint(Action.RESET, ActionKind.EXPORT)
"""The seed: `export_status` back to idle unless an export runs."""


def _read(document: dict[str, Any]) -> StartRequest:
    body = validated(ExportRequest, document)
    return StartRequest(location=body.export_location, notify=body.email_notification)


start_export = start_endpoint(Member(ActionKind.EXPORT, Action.START, _read))
"""`POST /v1/bdbs/{uid}/actions/export`."""
