"""The back-off between attempts: doubling from the first pause, never above the cap."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bdbexport.domain.work_queue import backoff

FIRST = timedelta(seconds=2)
CAP = timedelta(seconds=60)


def test_the_pause_doubles_from_the_first() -> None:
    pauses = [backoff(attempt, first=FIRST, cap=CAP).total_seconds() for attempt in range(1, 7)]
    assert pauses == [2, 4, 8, 16, 32, 60]


@given(st.integers(min_value=0, max_value=10_000))
def test_the_pause_never_exceeds_the_cap_and_never_shrinks(attempt: int) -> None:
    pause = backoff(attempt, first=FIRST, cap=CAP)
    assert FIRST <= pause <= CAP
    assert backoff(attempt + 1, first=FIRST, cap=CAP) >= pause
