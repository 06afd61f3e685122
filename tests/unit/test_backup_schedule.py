"""The backup schedule's arithmetic: due moments counted from the epoch, offsets,
the claim names replicas race for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bdbexport.domain.backup_schedule import EPOCH, BackupSchedule, claim_name
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.locations import MountPointLocation

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
schedules = st.builds(
    BackupSchedule,
    interval=st.integers(1, 7 * 86400).map(lambda s: timedelta(seconds=s)),
    offset=st.integers(0, 14 * 86400).map(lambda s: timedelta(seconds=s)),
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_daily_with_an_hour_offset_is_due_at_one_in_the_morning_utc() -> None:
    daily = BackupSchedule(timedelta(days=1), timedelta(hours=1))
    assert daily.latest_due(at("2026-11-29 00:30:00")) == at("2026-11-28 01:00:00")
    assert daily.latest_due(at("2026-11-29 01:00:00")) == at("2026-11-29 01:00:00")
    assert daily.next_due(at("2026-11-29 01:00:00")) == at("2026-11-30 01:00:00")


def test_hourly_at_a_quarter_past() -> None:
    hourly = BackupSchedule(timedelta(hours=1), timedelta(minutes=15))
    assert hourly.latest_due(at("2026-11-29 10:14:59.999")) == at("2026-11-29 09:15:00")
    assert hourly.next_due(at("2026-11-29 10:14:59.999")) == at("2026-11-29 10:15:00")


def test_an_offset_beyond_the_interval_names_the_same_moments() -> None:
    assert BackupSchedule(timedelta(hours=1), timedelta(minutes=75)) == BackupSchedule(
        timedelta(hours=1), timedelta(minutes=15)
    )


@pytest.mark.parametrize(
    ("interval", "offset"), [(timedelta(0), timedelta(0)), (timedelta(1), timedelta(-1))]
)
def test_a_schedule_needs_a_positive_interval_and_no_negative_offset(
    interval: timedelta, offset: timedelta
) -> None:
    with pytest.raises(ValueError, match="backup"):
        BackupSchedule(interval, offset)


def test_only_an_enabled_bdb_with_an_interval_and_a_location_has_a_schedule() -> None:
    location = MountPointLocation(path="/backups")
    complete = Bdb(uid=1, name="db", backup=True, backup_interval=3600, backup_location=location)
    assert BackupSchedule.of(complete) == BackupSchedule(timedelta(hours=1))
    assert BackupSchedule.of(complete.model_copy(update={"backup": False})) is None
    assert BackupSchedule.of(complete.model_copy(update={"backup_interval": None})) is None
    assert BackupSchedule.of(complete.model_copy(update={"backup_location": None})) is None
    offset = complete.model_copy(update={"backup_interval_offset": 600})
    assert BackupSchedule.of(offset) == BackupSchedule(timedelta(hours=1), timedelta(minutes=10))


def test_claim_names_tell_bdbs_and_due_moments_apart() -> None:
    due = at("2026-11-29 01:00:00")
    assert claim_name(7, due) == "backup:7:1795914000"
    assert claim_name(7, due) != claim_name(8, due)
    assert claim_name(7, due) != claim_name(7, due + timedelta(seconds=1))


@given(schedules, moments)
def test_the_latest_due_moment_is_on_the_grid_and_within_one_interval(
    schedule: BackupSchedule, now: datetime
) -> None:
    due = schedule.latest_due(now)
    assert due <= now < due + schedule.interval
    assert (due - EPOCH - schedule.offset) % schedule.interval == timedelta(0)
    assert schedule.next_due(now) == due + schedule.interval
    assert schedule.latest_due(due) == due


@given(schedules, moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_due_moments_never_go_back_and_each_interval_has_one(
    schedule: BackupSchedule, now: datetime, later: timedelta
) -> None:
    first, second = schedule.latest_due(now), schedule.latest_due(now + later)
    assert first <= second
    assert (second - first) % schedule.interval == timedelta(0)
    assert (second - first) // schedule.interval <= later // schedule.interval + 1


@given(schedules, moments)
def test_a_claim_outlives_the_moment_being_the_latest(
    schedule: BackupSchedule, now: datetime
) -> None:
    due = schedule.latest_due(now)
    assert schedule.claim_ttl() > schedule.next_due(now) - due
