"""The family's machines: one definition each, and the compiled table agrees with
firing a real bound model for every (status, trigger, guard outcome)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pytest
from transitions import Machine, MachineError

from bdbexport.domain.action_kind import Trigger
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import (
    ActionMismatchError,
    DomainError,
    InvalidProgressError,
    LeaseNotExpiredError,
)
from bdbexport.domain.family import EXPORT, IMPORT, LIFECYCLES
from bdbexport.domain.guards import GUARDS, Guard, Report
from bdbexport.domain.lifecycle import Lifecycle, build_machine
from bdbexport.domain.statuses import (
    BackupStatus,
    ExportFailureReason,
    ExportStatus,
    ImportStatus,
)

FAMILY = list(LIFECYCLES.values())


class _Model:
    """A model whose guards answer as told: the machine decides, the guards are inputs."""

    state: str

    def __init__(self, passing: frozenset[Guard]) -> None:
        for guard in Guard:
            setattr(self, guard.value, lambda *_, guard=guard: guard in passing)


def _fire(
    machine: Machine,
    lifecycle: Lifecycle,
    status: StrEnum,
    trigger: Trigger,
    passing: frozenset[Guard],
) -> StrEnum | None:
    """Fire `trigger` on a real bound model: the reference the compiled table must match.
    None when the machine refuses (illegal, or no transition's guards all pass)."""
    model = _Model(passing)
    machine.add_model(model, initial=status.value)
    try:
        fired = getattr(model, trigger.value)()
    except MachineError:
        return None
    finally:
        machine.remove_model(model)
    return lifecycle.statuses(model.state) if fired else None


def _compiled(
    lifecycle: Lifecycle, status: StrEnum, trigger: Trigger, passing: frozenset[Guard]
) -> StrEnum | None:
    for move in lifecycle.table.get((status, trigger), ()):
        if all(guard in passing for guard in move.guards):
            return move.dest
    return None


GUARD_OUTCOMES = [
    frozenset(subset)
    for size in range(len(Guard) + 1)
    for subset in itertools.combinations(Guard, size)
]


@pytest.mark.parametrize("lifecycle", FAMILY, ids=str)
def test_compiled_table_agrees_with_firing_the_machine(lifecycle: Lifecycle) -> None:
    machine = build_machine(lifecycle)
    fired: set[tuple[StrEnum, Trigger]] = set()
    for status, trigger, passing in itertools.product(lifecycle.statuses, Trigger, GUARD_OUTCOMES):
        reference = _fire(machine, lifecycle, status, trigger, passing)
        assert _compiled(lifecycle, status, trigger, passing) == reference, (
            status,
            trigger,
            sorted(passing),
        )
        if reference is not None:
            fired.add((status, trigger))
    # The table holds an entry exactly where the machine moves for some guard outcome:
    # no (status, trigger) the machine never takes, none it takes left out.
    assert set(lifecycle.table) == fired


def test_start_is_allowed_from_every_status_but_running() -> None:
    for lifecycle in FAMILY:
        for status in lifecycle.statuses:
            assert lifecycle.allows(status, Trigger.START) == (status not in lifecycle.running)


def test_reset_goes_to_idle_and_is_refused_only_while_running() -> None:
    for lifecycle in FAMILY:
        for status in lifecycle.statuses:
            moves = lifecycle.table.get((status, Trigger.RESET))
            if status in lifecycle.running:
                assert moves is None
            else:
                assert moves is not None
                assert moves[0].dest is lifecycle.idle


def test_only_a_running_action_can_progress_succeed_fail_expire_or_be_cancelled() -> None:
    worker = {Trigger.PROGRESS, Trigger.SUCCEED, Trigger.FAIL, Trigger.EXPIRE, Trigger.CANCEL}
    for lifecycle in FAMILY:
        for status in lifecycle.statuses:
            if status in lifecycle.running:
                assert lifecycle.triggers_from(status) == worker
            else:
                assert lifecycle.triggers_from(status) == {Trigger.START, Trigger.RESET}


def test_worker_triggers_are_guarded_by_the_current_action() -> None:
    for lifecycle in FAMILY:
        for (_status, trigger), moves in lifecycle.table.items():
            for move in moves:
                if trigger in {Trigger.PROGRESS, Trigger.SUCCEED, Trigger.FAIL, Trigger.CANCEL}:
                    assert Guard.HOLDS_CURRENT_ACTION in move.guards
                if trigger is Trigger.EXPIRE:
                    assert move.guards == (Guard.LEASE_LAPSED,)


NOW = datetime(2026, 1, 1, tzinfo=UTC)
RUNNING_EXPORT = Bdb(
    uid=3,
    name="orders",
    export_status=ExportStatus.EXPORTING,
    export_progress=40,
    action_uid="a-1",
    action_lease_expires=NOW + timedelta(seconds=30),
)
GUARD_CASES: dict[Guard, tuple[Report, Report, type[DomainError]]] = {
    # guard: (a report it passes, a report it fails, the refusal that failure gives)
    Guard.HOLDS_CURRENT_ACTION: (
        Report(action_uid="a-1"),
        Report(action_uid="a-2"),
        ActionMismatchError,
    ),
    Guard.PROGRESS_NOT_BACKWARDS: (
        Report(action_uid="a-1", progress=40),
        Report(action_uid="a-1", progress=39),
        InvalidProgressError,
    ),
    Guard.REPORTS_PROGRESS: (
        Report(action_uid="a-1", progress=1),
        Report(action_uid="a-1", progress=None),
        InvalidProgressError,
    ),
    Guard.LEASE_LAPSED: (
        Report(now=NOW + timedelta(seconds=30)),
        Report(now=NOW + timedelta(seconds=29)),
        LeaseNotExpiredError,
    ),
}


@pytest.mark.parametrize("guard", list(Guard), ids=str)
def test_every_guard_has_a_check_and_a_refusal(guard: Guard) -> None:
    passing, failing, refusal = GUARD_CASES[guard]
    rule = GUARDS[guard]
    assert rule.check(EXPORT, RUNNING_EXPORT, passing) is True
    assert rule.check(EXPORT, RUNNING_EXPORT, failing) is False
    error = rule.refusal(EXPORT, RUNNING_EXPORT, failing)
    assert type(error) is refusal
    assert error.code != DomainError.code


def test_each_member_reads_its_own_fields_of_the_bdb() -> None:
    """Every member reads its status, progress and reason from its own wire fields: a
    bdb whose three lifecycles all differ tells a member reading another's apart."""
    bdb = Bdb(
        uid=1,
        name="orders",
        export_status=ExportStatus.FAILED,
        export_progress=30,
        export_failure_reason=ExportFailureReason.GENERAL_ERROR,
        import_status=ImportStatus.IMPORTING,
        import_progress=60,
        backup_status=BackupStatus.SUCCEEDED,
        backup_progress=100,
        action_uid="a-1",
    )
    wire = bdb.to_wire()
    for lifecycle in FAMILY:
        assert lifecycle.status_of(bdb) == wire[lifecycle.status_field]
        assert isinstance(lifecycle.status_of(bdb), lifecycle.statuses)
        assert lifecycle.progress_of(bdb) == wire[lifecycle.progress_field]
        assert lifecycle.reason_of(bdb) == wire[lifecycle.reason_field]
    assert [lifecycle.is_running(bdb) for lifecycle in FAMILY] == [
        lifecycle is IMPORT for lifecycle in FAMILY
    ]


def test_machines_have_no_automatic_to_state_triggers() -> None:
    for lifecycle in FAMILY:
        model = _Model(frozenset())
        machine = build_machine(lifecycle, model)
        assert set(machine.events) == {trigger.value for trigger in Trigger}
        assert not hasattr(model, "to_idle")


def test_tables_cover_every_status() -> None:
    for lifecycle in FAMILY:
        assert {source for source, _ in lifecycle.table} == set(lifecycle.statuses)
