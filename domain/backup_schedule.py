"""When a bdb's periodic backups are due: Redis Software's `backup_interval` and
`backup_interval_offset` as arithmetic on UTC time, with no clock of its own.

A bdb backing up every `I` seconds with offset `O` is due at every moment
`1970-01-01T00:00:00Z + O + k * I` (k an integer): intervals are counted from the Unix
epoch, so `86400`/`3600` means daily at 01:00 UTC and `3600`/`900` hourly at a quarter
past, on every replica alike. Redis Software asks for an offset below the interval; a
larger one is taken modulo the interval, which names the same moments.

Each due moment gets a claim name (`backup:<uid>:<epoch seconds>`): replicas race to
claim it in the shared store, and only the winner starts that backup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .bdb import MAX_BACKUP_INTERVAL, Bdb

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BackupSchedule:
    interval: timedelta
    offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ValueError("a backup interval must be positive")
        if self.interval > timedelta(seconds=MAX_BACKUP_INTERVAL):
            raise ValueError(f"a backup interval must be at most {MAX_BACKUP_INTERVAL} s")
        if self.offset < timedelta(0):
            raise ValueError("a backup offset cannot be negative")
        object.__setattr__(self, "offset", self.offset % self.interval)

    @classmethod
    def of(cls, bdb: Bdb) -> BackupSchedule | None:
        """The bdb's schedule; None unless periodic backups are on (`backup`) with an
        interval and a location to write to. A bdb built without validation whose
        settings are out of range raises `ValueError` (never an `OverflowError`)."""
        if not bdb.backup or bdb.backup_interval is None or bdb.backup_location is None:
            return None
        interval, offset = bdb.backup_interval, bdb.backup_interval_offset or 0
        if not 0 < interval <= MAX_BACKUP_INTERVAL or not 0 <= offset < MAX_BACKUP_INTERVAL:
            raise ValueError(
                f"backup_interval {interval} s or backup_interval_offset {offset} s out of"
                f" range (an interval from 1 to {MAX_BACKUP_INTERVAL} s, an offset below it)"
            )
        return cls(timedelta(seconds=interval), timedelta(seconds=offset))

    def latest_due(self, now: datetime) -> datetime:
        """The last due moment at or before `now` (timezone-aware)."""
        elapsed = now - EPOCH - self.offset
        return EPOCH + self.offset + self.interval * (elapsed // self.interval)

    def next_due(self, now: datetime) -> datetime:
        """The first due moment strictly after `now`."""
        return self.latest_due(now) + self.interval

    def claim_ttl(self) -> timedelta:
        """How long a due moment's claim must live: while any replica may still see
        that moment as the latest one (an interval), plus a margin for replicas whose
        clocks run behind (up to an interval and a minute)."""
        return self.interval * 2 + timedelta(minutes=1)


def claim_name(uid: int, due: datetime) -> str:
    """The name replicas claim to run bdb `uid`'s backup due at `due`."""
    return f"backup:{uid}:{(due - EPOCH) // timedelta(seconds=1)}"
