"""The access line's time: the format `datetime.isoformat` gives, without a datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bdbexport.adapters.http.access_log import AccessTime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NANOSECONDS = st.integers(min_value=0, max_value=4_102_444_800 * 10**9)  # to 2100


def by_datetime(nanoseconds: int) -> str:
    """What the access log wrote before: `datetime.now(UTC)` keeps microseconds."""
    instant = EPOCH + timedelta(microseconds=nanoseconds // 1000)
    return instant.isoformat(timespec="milliseconds")


@given(st.lists(NANOSECONDS, min_size=1, max_size=20))
def test_every_instant_reads_as_datetime_writes_it(instants: list[int]) -> None:
    clock = AccessTime()  # one clock across instants: its per-second cache must not leak
    for nanoseconds in instants:
        assert clock.at(nanoseconds) == by_datetime(nanoseconds)


def test_instants_within_one_second_and_across_its_edge() -> None:
    clock = AccessTime()
    second = 1_795_910_400 * 10**9  # 2026-11-29T00:00:00Z
    assert clock.at(second - 1) == "2026-11-28T23:59:59.999+00:00"
    assert clock.at(second) == "2026-11-29T00:00:00.000+00:00"
    assert clock.at(second + 7_999_999) == "2026-11-29T00:00:00.007+00:00"
    assert clock.at(second + 10**9 + 120_000_000) == "2026-11-29T00:00:01.120+00:00"


def test_now_is_the_wall_clock() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    now = datetime.fromisoformat(AccessTime().now())
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    assert before <= now <= after
