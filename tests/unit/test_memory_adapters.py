"""The small in-memory adapters: clocks, ids, the event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bdbexport.adapters.memory import (
    InMemoryEventLog,
    ManualClock,
    SequentialIds,
    SystemClock,
    UuidIds,
)
from bdbexport.domain import ActionRefused, ActionSucceeded

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_system_clock_is_aware_and_in_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)


def test_the_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(AT)
    assert clock.now() == AT
    assert clock.advance(timedelta(seconds=5)) == AT + timedelta(seconds=5)
    assert clock.now() == AT + timedelta(seconds=5)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_ids_are_unique() -> None:
    sequential = SequentialIds("x")
    assert [sequential.new_action_uid() for _ in range(3)] == ["x-1", "x-2", "x-3"]
    randoms = {UuidIds().new_action_uid() for _ in range(1000)}
    assert len(randoms) == 1000


def test_the_event_log_keeps_order_and_can_be_bounded() -> None:
    log = InMemoryEventLog(maxlen=2)
    for n in range(3):
        log.publish(ActionSucceeded(actor="w", uid=n, at=AT, action_uid=f"a{n}"))
    log.publish(
        ActionRefused(actor="u", uid=1, at=AT, action="reset", error_code="busy", description="d")
    )
    assert [event.uid for event in log] == [2, 1]
    assert len(log.of_type(ActionRefused)) == 1
    record = log.events[-1].to_record()
    assert record == {
        "event": "ActionRefused",
        "outcome": "refused",
        "actor": "u",
        "uid": 1,
        "at": "2026-01-01T00:00:00+00:00",
        "revision": None,
        "action": "reset",
        "error_code": "busy",
        "description": "d",
    }
    log.clear()
    assert len(log) == 0
