"""The lifecycle machine: one definition, compiled table agrees with real triggers."""

from __future__ import annotations

import itertools

import pytest
from transitions import Machine, MachineError

from bdbexport.domain.lifecycle import (
    EXPORT_MACHINE,
    NEXT_STATUS,
    Trigger,
    allowed_triggers,
    build_machine,
    next_status,
)
from bdbexport.domain.statuses import ExportStatus


class _Model:
    state: str


def _fire(machine: Machine, status: ExportStatus, trigger: Trigger) -> ExportStatus | None:
    """Fire `trigger` on a real bound model: the reference the compiled table must match."""
    model = _Model()
    machine.add_model(model, initial=status.value)
    try:
        getattr(model, trigger.value)()
    except MachineError:
        return None
    finally:
        machine.remove_model(model)
    return ExportStatus(model.state)


@pytest.mark.parametrize(("status", "trigger"), list(itertools.product(ExportStatus, Trigger)))
def test_compiled_table_agrees_with_firing_the_machine(
    status: ExportStatus, trigger: Trigger
) -> None:
    assert next_status(status, trigger) == _fire(EXPORT_MACHINE, status, trigger)


def test_start_is_allowed_from_every_status_but_exporting() -> None:
    for status in (ExportStatus.IDLE, ExportStatus.SUCCEEDED, ExportStatus.FAILED):
        assert next_status(status, Trigger.START) is ExportStatus.EXPORTING
    assert next_status(ExportStatus.EXPORTING, Trigger.START) is None


def test_reset_goes_to_idle_and_is_refused_only_while_exporting() -> None:
    assert next_status(ExportStatus.SUCCEEDED, Trigger.RESET) is ExportStatus.IDLE
    assert next_status(ExportStatus.FAILED, Trigger.RESET) is ExportStatus.IDLE
    assert next_status(ExportStatus.IDLE, Trigger.RESET) is ExportStatus.IDLE
    assert next_status(ExportStatus.EXPORTING, Trigger.RESET) is None


def test_only_a_running_export_can_progress_succeed_or_fail() -> None:
    assert allowed_triggers(ExportStatus.EXPORTING) == {
        Trigger.PROGRESS,
        Trigger.SUCCEED,
        Trigger.FAIL,
    }
    for status in (ExportStatus.IDLE, ExportStatus.SUCCEEDED, ExportStatus.FAILED):
        assert allowed_triggers(status) == {Trigger.START, Trigger.RESET}


def test_machine_has_no_automatic_to_state_triggers() -> None:
    model = _Model()
    machine = build_machine(model)
    assert set(machine.events) == {trigger.value for trigger in Trigger}
    assert not hasattr(model, "to_exporting")


def test_table_covers_every_status() -> None:
    assert {source for source, _ in NEXT_STATUS} == set(ExportStatus)
