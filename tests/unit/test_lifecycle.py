"""The family's machines: one definition each, and the compiled table agrees with
firing a real bound model for every (status, trigger, guard outcome)."""

from __future__ import annotations

import itertools
from enum import StrEnum

import pytest
from transitions import Machine, MachineError

from bdbexport.domain.lifecycle import (
    BACKUP,
    EXPORT,
    GUARDS,
    IMPORT,
    LIFECYCLES,
    Guard,
    Lifecycle,
    Trigger,
    build_machine,
)
from bdbexport.domain.statuses import BackupStatus, ExportStatus, ImportStatus

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
    checked = 0
    for status, trigger, passing in itertools.product(lifecycle.statuses, Trigger, GUARD_OUTCOMES):
        assert _compiled(lifecycle, status, trigger, passing) == _fire(
            machine, lifecycle, status, trigger, passing
        ), (status, trigger, sorted(passing))
        checked += 1
    assert checked == len(lifecycle.statuses) * len(Trigger) * 2 ** len(Guard)


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


def test_every_guard_has_a_check_and_a_refusal() -> None:
    assert set(GUARDS) == set(Guard)


def test_the_members_speak_their_own_status_words() -> None:
    assert EXPORT.statuses is ExportStatus
    assert IMPORT.statuses is ImportStatus
    assert BACKUP.statuses is BackupStatus
    assert IMPORT.running == {ImportStatus.INITIALIZING, ImportStatus.IMPORTING}
    assert BACKUP.running == {BackupStatus.EXPORTING}
    assert (EXPORT.status_field, IMPORT.reason_field, BACKUP.progress_field) == (
        "export_status",
        "import_failure_reason",
        "backup_progress",
    )


def test_machines_have_no_automatic_to_state_triggers() -> None:
    for lifecycle in FAMILY:
        model = _Model(frozenset())
        machine = build_machine(lifecycle, model)
        assert set(machine.events) == {trigger.value for trigger in Trigger}
        assert not hasattr(model, "to_idle")


def test_tables_cover_every_status() -> None:
    for lifecycle in FAMILY:
        assert {source for source, _ in lifecycle.table} == set(lifecycle.statuses)
