"""The lockout rule: Redis Software's threshold, duration and counter reset, as arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bdbexport.domain.auth.lockout import (
    DEFAULT_LOCKOUT,
    LockoutPolicy,
    LoginRecord,
    LoginSubject,
    SubjectKind,
    address_subject,
    after_failure,
    expires_at,
    is_current,
    is_locked,
    user_subject,
)
from bdbexport.domain.errors import AccountLockedError

POLICY = LockoutPolicy(threshold=3, duration=100.0, reset_after=10.0)


def fail_at(times: list[float], policy: LockoutPolicy = POLICY) -> LoginRecord | None:
    record: LoginRecord | None = None
    for now in times:
        record = after_failure(record, now, policy)
    return record


def test_the_defaults_are_redis_softwares() -> None:
    assert LockoutPolicy(threshold=5, duration=1800.0, reset_after=900.0) == DEFAULT_LOCKOUT


def test_the_threshold_th_failure_locks_for_the_duration() -> None:
    assert not is_locked(fail_at([0, 1]), 2)
    record = fail_at([0, 1, 2])
    assert record == LoginRecord(failures=0, last_failure=2, locked=True, locked_until=102)
    assert is_locked(record, 101.9)
    assert not is_locked(record, 102)


def test_a_quiet_spell_of_reset_after_forgets_earlier_failures() -> None:
    record = fail_at([0, 1, 11.5])
    assert record == LoginRecord(failures=1, last_failure=11.5)
    assert not is_locked(fail_at([0, 1, 11.5, 12]), 12)
    assert is_locked(fail_at([0, 1, 11.5, 12, 13]), 13)


def test_failures_while_locked_neither_extend_nor_count() -> None:
    locked = fail_at([0, 1, 2])
    assert after_failure(locked, 50, POLICY) == locked


def test_a_lock_that_ended_gives_fresh_attempts() -> None:
    record = fail_at([0, 1, 2, 200])
    assert record == LoginRecord(failures=1, last_failure=200)


def test_duration_zero_locks_until_an_admin_unlocks() -> None:
    forever = LockoutPolicy(threshold=2, duration=0, reset_after=10)
    record = fail_at([0, 1], forever)
    assert record is not None
    assert record.locked_until is None
    assert is_locked(record, 10**12)
    assert expires_at(record, forever) is None
    assert is_current(record, 10**12, forever)


def test_threshold_zero_never_locks() -> None:
    never = LockoutPolicy(threshold=0, duration=100, reset_after=10)
    assert not is_locked(fail_at([float(t) for t in range(50)], never), 50)


@pytest.mark.parametrize("settings", [(-1, 1.0, 1.0), (1, -1.0, 1.0), (1, 1.0, 0.0)], ids=str)
def test_nonsense_settings_are_refused(settings: tuple[int, float, float]) -> None:
    threshold, duration, reset_after = settings
    with pytest.raises(ValueError, match="lockout"):
        LockoutPolicy(threshold=threshold, duration=duration, reset_after=reset_after)


def test_the_refusal_says_until_when() -> None:
    assert "until 2026-11-29T00:00:00Z" in AccountLockedError(1795910400.0).description
    assert "until an admin unlocks it" in AccountLockedError(None).description


def test_an_account_and_an_address_of_the_same_name_are_two_subjects() -> None:
    assert user_subject("10.0.0.1") != address_subject("10.0.0.1")
    assert user_subject("a@b") == LoginSubject(SubjectKind.USER, "a@b")
    assert address_subject("::1") == LoginSubject(SubjectKind.ADDRESS, "::1")


policies = st.builds(
    LockoutPolicy,
    threshold=st.integers(0, 8),
    duration=st.sampled_from([0.0, 5.0, 60.0]),
    reset_after=st.sampled_from([1.0, 10.0, 100.0]),
)
gaps = st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=40)


def times_of(steps: list[float]) -> list[float]:
    now, times = 1_000.0, []
    for step in steps:
        now += step
        times.append(now)
    return times


@given(policies, gaps)
def test_the_counter_never_reaches_the_threshold_unlocked(
    policy: LockoutPolicy, steps: list[float]
) -> None:
    record: LoginRecord | None = None
    for now in times_of(steps):
        record = after_failure(record, now, policy)
        assert record.failures >= 0
        if policy.threshold:
            assert record.failures < policy.threshold
        if record.locked:
            assert record.locked_until is None or record.locked_until > record.last_failure


@given(policies, st.integers(1, 8), st.floats(0, 0.99, allow_nan=False))
def test_threshold_failures_in_quick_succession_always_lock(
    policy: LockoutPolicy, count: int, gap_fraction: float
) -> None:
    if not policy.threshold or count < policy.threshold:
        return
    gap = policy.reset_after * gap_fraction
    times = [1_000.0 + i * gap for i in range(count)]
    locked_at = times[policy.threshold - 1]
    record = fail_at(times[: policy.threshold], policy)
    assert is_locked(record, locked_at)
    if policy.duration:
        assert not is_locked(record, locked_at + policy.duration)


@given(policies, gaps)
def test_a_locked_record_is_current_for_as_long_as_it_locks(
    policy: LockoutPolicy, steps: list[float]
) -> None:
    record = fail_at(times_of(steps), policy)
    assert record is not None
    now = record.last_failure
    if is_locked(record, now):
        assert is_current(record, now, policy)
    end = expires_at(record, policy)
    if end is not None:
        assert not is_locked(record, end)
        assert not is_current(record, end, policy)
