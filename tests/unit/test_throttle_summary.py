"""Throttled sign-ins summed up per address and interval (adapters/audit/throttle_summary.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bdbexport.adapters.audit.throttle_summary import LoginsThrottled, ThrottleSummaries
from bdbexport.domain.auth.events import LoginFailed
from bdbexport.domain.events import DomainEvent

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def failed(client: str, name: str, reason: str = "throttled", second: int = 0) -> LoginFailed:
    return LoginFailed(
        actor=name, uid=None, at=START + timedelta(seconds=second), client=client, reason=reason
    )


def test_throttled_attempts_become_one_line_per_address_and_the_rest_pass_at_once() -> None:
    written: list[DomainEvent] = []
    summaries = ThrottleSummaries(written.append, interval=3600)
    wrong = failed("10.0.0.1", "alice@example.com", reason="bad_credentials")
    summaries.publish(wrong)
    for second in range(100):
        summaries.publish(failed("10.0.0.1", f"guess{second % 7}@example.com", second=second))
    summaries.publish(failed("10.0.0.2", "bob@example.com", second=5))
    assert written == [wrong]  # nothing throttled written before the interval ends
    summaries.close()
    lines = {event.client: event for event in written[1:] if isinstance(event, LoginsThrottled)}
    assert len(written) == 3
    assert lines["10.0.0.1"].attempts == 100
    assert lines["10.0.0.1"].distinct_names == 7
    assert lines["10.0.0.1"].first == START.isoformat()
    assert lines["10.0.0.1"].at == START + timedelta(seconds=99)
    assert lines["10.0.0.2"].attempts == 1
    summaries.close()
    assert len(written) == 3  # nothing counted since: nothing more to say
