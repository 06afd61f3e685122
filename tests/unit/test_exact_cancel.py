"""A cancel is exact (issue 22, finding 6): the worker's publish claim and a cancel are
decided by one compare-and-set, so whatever order they come in, exactly one wins —
never a `cancelled` record beside a published result. Through both shells and every
member of the family."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bdbexport.adapters.memory import InMemoryEventLog, InMemoryModuleCatalog, SequentialIds
from bdbexport.domain import ActionKind, DomainError, RoleTablePolicy
from bdbexport.domain.action_records import ActionStatus
from bdbexport.domain.service import ActionService
from tests.unit.test_action_records import (  # the fixture and world of the records' tests
    LOCATION,
    MEMBER,
    Call,
    Services,
    shell,
)

__all__ = ["shell"]  # the fixture, used by name

KINDS = [ActionKind.EXPORT, ActionKind.IMPORT, ActionKind.BACKUP]


def _start(services: Services, kind: ActionKind) -> str:
    started = services.sync.start_action(MEMBER, 2, LOCATION, kind)
    assert started.action_uid is not None
    return started.action_uid


@pytest.mark.parametrize("kind", KINDS)
def test_a_cancel_after_the_publish_claim_is_refused_as_completed(
    shell: Callable[[Services, str], Call], kind: ActionKind
) -> None:
    services = Services()
    action_uid = _start(services, kind)
    shell(services, "record_progress")(2, action_uid, 40, kind)
    shell(services, "record_publishing")(2, action_uid, kind)
    with pytest.raises(DomainError) as refused:
        shell(services, "cancel")(MEMBER, action_uid)
    assert refused.value.code == "action_completed"
    assert "completed" in refused.value.description
    bdb = services.bdbs.get(2)
    assert bdb is not None
    assert bdb.action_uid == action_uid  # still its: it may publish
    shell(services, "record_success")(2, action_uid, kind)
    record = services.records.get(action_uid)
    assert record is not None
    assert record.status is ActionStatus.COMPLETED
    # After the success, too: `action_completed`, not a generic illegal move.
    with pytest.raises(DomainError) as again:
        shell(services, "cancel")(MEMBER, action_uid)
    assert again.value.code == "action_completed"


@pytest.mark.parametrize("kind", KINDS)
def test_a_publish_claim_after_a_cancel_is_refused(
    shell: Callable[[Services, str], Call], kind: ActionKind
) -> None:
    services = Services()
    action_uid = _start(services, kind)
    shell(services, "record_progress")(2, action_uid, 99, kind)
    record = shell(services, "cancel")(MEMBER, action_uid)
    assert record.status is ActionStatus.CANCELLED
    with pytest.raises(DomainError):
        shell(services, "record_publishing")(2, action_uid, kind)


def test_a_repeated_publish_claim_is_accepted_once_made() -> None:
    """The runner retries a claim whose answer was lost: the second one changes nothing."""
    services = Services()
    action_uid = _start(services, ActionKind.EXPORT)
    first = services.sync.record_publishing(2, action_uid, ActionKind.EXPORT)
    again = services.sync.record_publishing(2, action_uid, ActionKind.EXPORT)
    assert (first.export_progress, again.export_progress) == (100, 100)


@given(
    kind=st.sampled_from(KINDS),
    progress=st.integers(0, 99),
    cancel_first=st.booleans(),
    sync_cancel=st.booleans(),
)
def test_never_both_a_cancel_and_a_publication(
    kind: ActionKind, progress: int, cancel_first: bool, sync_cancel: bool
) -> None:
    """Whatever the order, exactly one of the two is accepted."""
    services = Services()
    action_uid = _start(services, kind)
    if progress:
        services.sync.record_progress(2, action_uid, progress, kind)
    canceller = services.sync if sync_cancel else None
    codes: list[str] = []

    def cancel() -> bool:
        try:
            if canceller is not None:
                canceller.cancel(MEMBER, action_uid)
            else:
                asyncio.run(services.async_.cancel(MEMBER, action_uid))
        except DomainError as refused:
            codes.append(refused.code)
            return False
        return True

    def publish() -> bool:
        try:
            services.sync.record_publishing(2, action_uid, kind)
        except DomainError:
            return False
        return True

    if cancel_first:
        cancelled, published = cancel(), publish()
    else:
        published, cancelled = publish(), cancel()
    assert cancelled != published
    assert cancelled is cancel_first
    assert codes == ([] if cancelled else ["action_completed"])
    record = services.records.get(action_uid)
    assert record is not None
    assert (record.status is ActionStatus.CANCELLED) is cancelled


@pytest.mark.parametrize("kind", KINDS)
def test_a_cancel_while_the_success_record_lags_is_refused_as_completed(
    kind: ActionKind,
) -> None:
    """The worker (here: a replica that writes no records) has recorded the success on
    the bdb, its action record still says `running`: the cancel reads the bdb and
    answers `action_completed`, not a generic illegal move."""
    services = Services()
    action_uid = _start(services, kind)
    worker = ActionService(
        bdbs=services.bdbs,
        modules=InMemoryModuleCatalog(),
        policy=RoleTablePolicy(),
        clock=services.clock,
        ids=SequentialIds(),
        events=InMemoryEventLog(),
    )
    worker.record_publishing(2, action_uid, kind)
    worker.record_success(2, action_uid, kind)
    lagging = services.records.get(action_uid)
    assert lagging is not None
    assert not lagging.finished
    with pytest.raises(DomainError) as refused:
        services.sync.cancel(MEMBER, action_uid)
    assert refused.value.code == "action_completed"
    with pytest.raises(DomainError) as refused_async:
        asyncio.run(services.async_.cancel(MEMBER, action_uid))
    assert refused_async.value.code == "action_completed"


def test_a_cancel_of_an_action_that_failed_meanwhile_stays_an_invalid_transition() -> None:
    services = Services()
    action_uid = _start(services, ActionKind.EXPORT)
    worker = ActionService(
        bdbs=services.bdbs,
        modules=InMemoryModuleCatalog(),
        policy=RoleTablePolicy(),
        clock=services.clock,
        ids=SequentialIds(),
        events=InMemoryEventLog(),
    )
    worker.record_failure(2, action_uid, "general-error", "disk full")
    with pytest.raises(DomainError) as refused:
        services.sync.cancel(MEMBER, action_uid)
    assert refused.value.code == "invalid_transition"
