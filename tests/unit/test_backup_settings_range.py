"""A bdb's periodic backup settings stay in a range the schedule's arithmetic can
handle: an interval from 1 s to MAX_BACKUP_INTERVAL, an offset below the interval.
A record built around the validation (`model_copy`) is refused by the schedule with a
`ValueError`, never an `OverflowError` that would stop a scheduler pass."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bdbexport.domain.backup_schedule import BackupSchedule
from bdbexport.domain.bdb import MAX_BACKUP_INTERVAL, Bdb
from bdbexport.domain.locations import MountPointLocation

HUGE = 99999999999999999999999
LOCATION = MountPointLocation(path="/backups")


def bdb(**settings: Any) -> Bdb:
    return Bdb(uid=1, name="db", backup=True, backup_location=LOCATION, **settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"backup_interval": HUGE},
        {"backup_interval": 10_000_000_000_000},
        {"backup_interval": MAX_BACKUP_INTERVAL + 1},
        {"backup_interval_offset": HUGE},
        {"backup_interval": 3600, "backup_interval_offset": HUGE},
        {"backup_interval": 3600, "backup_interval_offset": 3600},
        {"backup_interval": 0},
        {"backup_interval": 60, "backup_interval_offset": -1},
    ],
)
def test_out_of_range_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="backup_interval"):
        bdb(**settings)


@given(
    st.integers(1, MAX_BACKUP_INTERVAL).flatmap(
        lambda interval: st.tuples(st.just(interval), st.integers(0, interval - 1))
    ),
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
    ),
)
def test_every_accepted_setting_makes_a_schedule_that_computes(
    settings: tuple[int, int], now: datetime
) -> None:
    interval, offset = settings
    schedule = BackupSchedule.of(bdb(backup_interval=interval, backup_interval_offset=offset))
    assert schedule is not None
    assert schedule.latest_due(now) <= now < schedule.next_due(now)


def test_two_second_intervals_stay_possible() -> None:
    assert bdb(backup_interval=2, backup_interval_offset=1).backup_interval == 2


@pytest.mark.parametrize(
    "settings",
    [
        {"backup_interval": HUGE},
        {"backup_interval": 10_000_000_000_000},
        {"backup_interval": 3600, "backup_interval_offset": HUGE},
    ],
)
def test_an_unvalidated_record_out_of_range_is_a_value_error(settings: dict[str, Any]) -> None:
    unvalidated = bdb(backup_interval=60).model_copy(update=settings)
    with pytest.raises(ValueError, match="out of range"):
        BackupSchedule.of(unvalidated)
