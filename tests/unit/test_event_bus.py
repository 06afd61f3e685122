"""The event bus: handlers by event class, in order; a failing handler reaches no use case."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bdbexport.domain import ActionFailed, ActionRefused, DomainEvent, EventBus, StatusReset

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def reset_event() -> StatusReset:
    return StatusReset(
        actor="a", uid=1, at=NOW, previous_status="failed", cleared_reason=None, changed=True
    )


def test_handlers_get_the_events_of_their_class_and_its_subclasses_in_order() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(DomainEvent, lambda event: seen.append(f"all:{event.name}"))
    bus.subscribe(StatusReset, lambda event: seen.append(f"reset:{event.name}"))
    bus.subscribe(ActionFailed, lambda event: seen.append("failed"))
    bus.publish(reset_event())
    bus.publish(
        ActionRefused(actor="a", uid=1, at=NOW, action="reset", error_code="x", description="d")
    )
    assert seen == ["all:ExportStatusReset", "reset:ExportStatusReset", "all:ActionRefused"]


def test_a_failing_handler_is_reported_and_the_others_still_run() -> None:
    failures: list[tuple[str, str]] = []
    bus = EventBus(on_error=lambda event, error: failures.append((event.name, str(error))))
    seen: list[str] = []

    def broken(event: DomainEvent) -> None:
        raise RuntimeError("mail server on fire")

    bus.subscribe(DomainEvent, broken)
    bus.subscribe(DomainEvent, lambda event: seen.append(event.name))
    bus.publish(reset_event())
    assert failures == [("ExportStatusReset", "mail server on fire")]
    assert seen == ["ExportStatusReset"]


def test_by_default_a_handler_failure_is_logged_not_swallowed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()

    def broken(event: DomainEvent) -> None:
        raise RuntimeError("disk full")

    bus.subscribe(DomainEvent, broken)
    with caplog.at_level(logging.ERROR, logger="bdbexport.events"):
        bus.publish(reset_event())
    assert "handler failed on ExportStatusReset of bdb 1" in caplog.text
    assert "disk full" in caplog.text


def test_a_subscription_after_publishing_is_honoured() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.publish(reset_event())
    bus.subscribe(StatusReset, lambda event: seen.append(event.name))
    bus.publish(reset_event())
    assert seen == ["ExportStatusReset"]
