"""The audit line: one JSON object per event, exactly `json.dumps(event.to_record())` with
compact separators, whatever the event class and whatever its text holds."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bdbexport.adapters.audit import JsonLinesEventLog
from bdbexport.adapters.audit.json_lines import json_line
from bdbexport.domain import ActionKind, ExportFailureReason, ExportStatus, Trigger
from bdbexport.domain.auth.events import AccountLocked, AccountUnlocked, LoginFailed, TokenIssued
from bdbexport.domain.events import (
    ActionCancelled,
    ActionFailed,
    ActionLeaseRenewed,
    ActionProgressed,
    ActionRefused,
    ActionStarted,
    ActionSucceeded,
    DomainEvent,
    NotificationNotSent,
    NotificationSent,
    StatusReset,
)

NOW = datetime(2026, 11, 29, 5, 30, 1, 123456, tzinfo=UTC)


def dumped(event: DomainEvent) -> str:
    """The line as the audit log wrote it before it was compiled: the reference."""
    return json.dumps(event.to_record(), separators=(",", ":")) + "\n"


def every_kind_of_event(text: str, at: datetime) -> list[DomainEvent]:
    common: dict[str, Any] = {"actor": text, "uid": 7, "at": at, "revision": 3}
    events: list[DomainEvent] = []
    for kind in ActionKind:
        events += [
            ActionStarted(
                **common,
                kind=kind,
                action_uid=text,
                previous_status=ExportStatus.FAILED,
                location_type=text,
            ),
            ActionProgressed(**common, kind=kind, action_uid="a1", progress=40),
            ActionLeaseRenewed(**common, kind=kind, action_uid="a1", until=at),
            ActionSucceeded(**common, kind=kind, action_uid="a1", email_notification=True),
            ActionSucceeded(**common, kind=kind, action_uid="a1", size_bytes=2**40),
            ActionFailed(
                **common,
                kind=kind,
                action_uid="a1",
                reason=ExportFailureReason.NO_PERMISSION,
                detail=text,
            ),
            ActionCancelled(**common, kind=kind, action_uid="a1", reason="general-error"),
            StatusReset(
                **common,
                kind=kind,
                previous_status=ExportStatus.FAILED,
                cleared_reason=ExportFailureReason.GENERAL_ERROR,
                changed=True,
            ),
            StatusReset(
                actor=text,
                uid=None,
                at=at,
                kind=kind,
                previous_status="idle",
                cleared_reason=None,
                changed=False,
            ),
            NotificationSent(**common, kind=kind, action_uid="a1", subject=text),
            NotificationNotSent(**common, kind=kind, action_uid="a1", detail=text),
        ]
    events += [
        ActionRefused(
            **common, action=Trigger.PROGRESS, error_code="action_mismatch", description=text
        ),
        ActionRefused(actor=text, uid=None, at=at, action="list", error_code="x", description=""),
        LoginFailed(actor=text, uid=None, at=at, client="127.0.0.1", request_id=text),
        AccountLocked(actor=text, uid=None, at=at, locked_until=at.isoformat()),
        AccountUnlocked(actor=text, uid=None, at=at, subject=text, was_locked=True),
        TokenIssued(actor=text, uid=None, at=at, expires=text, renewal=False),
    ]
    return events


def test_every_event_class_is_written_as_its_record() -> None:
    for event in every_kind_of_event("admin@example.com", NOW):
        assert json_line(event) == dumped(event), event
        assert json.loads(json_line(event)) == event.to_record()


@given(
    text=st.text(),
    at=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3, minutes=-30))])),
)
def test_any_text_and_time_are_written_as_json_dumps_writes_them(text: str, at: datetime) -> None:
    # st.text() includes lone surrogates, quotes, backslashes and control characters.
    for event in every_kind_of_event(text, at):
        assert json_line(event) == dumped(event)


def test_the_log_writes_one_line_per_event_in_order() -> None:
    sink = io.StringIO()
    audit = JsonLinesEventLog(sink)
    events = every_kind_of_event("u@example.com", NOW)
    for event in events:
        audit.publish(event)
    lines = sink.getvalue().splitlines(keepends=True)
    assert lines == [dumped(event) for event in events]
    first = json.loads(lines[0])
    assert first["event"] == "ExportStarted"
    assert first["outcome"] == "accepted"
    assert first["at"] == "2026-11-29T05:30:01.123456+00:00"
    assert first["previous_status"] == "failed"
