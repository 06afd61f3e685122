"""The export lifecycle, defined once as data and run by `transitions`.

`EXPORT_STATES` and `EXPORT_TRANSITIONS` are the single source of truth. One
module-level `transitions.Machine` is built from them (`model=None`,
`auto_transitions=False`, so no `to_<state>` back doors exist). Deciding a move on a
request path does not fire that machine's triggers, which costs microseconds and a
bound model per object: the machine's own event table is compiled, once, into a
frozen `(status, trigger) -> status` lookup. The diagram in docs/ is generated from
the same machine (see `lifecycle_diagram`).

Guards that depend on the request rather than the status (progress must not go
backwards, a worker must hold the current action) and the effects on the bdb's other
fields live in `export_moves`: this module only says which status follows which.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from transitions import Machine

from .statuses import ExportStatus


class Trigger(StrEnum):
    """The events that move an export; their values name the machine's triggers."""

    START = "start"
    PROGRESS = "progress"
    SUCCEED = "succeed"
    FAIL = "fail"
    RESET = "reset"


_IDLE, _EXPORTING, _SUCCEEDED, _FAILED = (
    ExportStatus.IDLE,
    ExportStatus.EXPORTING,
    ExportStatus.SUCCEEDED,
    ExportStatus.FAILED,
)

EXPORT_STATES: tuple[ExportStatus, ...] = tuple(ExportStatus)
INITIAL_STATUS = _IDLE

EXPORT_TRANSITIONS: tuple[Mapping[str, Any], ...] = (
    {"trigger": Trigger.START, "source": [_IDLE, _SUCCEEDED, _FAILED], "dest": _EXPORTING},
    # dest=None is an internal transition: the status stays, the progress moves.
    {"trigger": Trigger.PROGRESS, "source": _EXPORTING, "dest": None},
    {"trigger": Trigger.SUCCEED, "source": _EXPORTING, "dest": _SUCCEEDED},
    {"trigger": Trigger.FAIL, "source": _EXPORTING, "dest": _FAILED},
    {"trigger": Trigger.RESET, "source": [_SUCCEEDED, _FAILED], "dest": _IDLE},
    # Resetting an idle export is accepted and changes nothing.
    {"trigger": Trigger.RESET, "source": _IDLE, "dest": None},
)


def build_machine(model: object | None = None, **options: Any) -> Machine:
    """A `transitions.Machine` over the lifecycle; `options` go to the constructor.

    States are the wire strings (`"idle"`, ...), so the generated diagram speaks the
    API's words. Used for the module's one shared machine and by the diagram
    generator (which passes a `GraphMachine` as `machine_class`).
    """
    machine_class: type[Machine] = options.pop("machine_class", Machine)
    return machine_class(
        model=model,
        states=[status.value for status in EXPORT_STATES],
        transitions=[
            {
                **spec,
                "trigger": spec["trigger"].value,
                "source": [status.value for status in _as_list(spec["source"])],
                "dest": None if spec["dest"] is None else spec["dest"].value,
            }
            for spec in EXPORT_TRANSITIONS
        ],
        initial=INITIAL_STATUS.value,
        auto_transitions=False,
        **options,
    )


def _as_list(source: ExportStatus | list[ExportStatus]) -> list[ExportStatus]:
    return source if isinstance(source, list) else [source]


EXPORT_MACHINE = build_machine()
"""The lifecycle machine, shared: models are added to it, never a machine per object."""


def _compile(machine: Machine) -> Mapping[tuple[ExportStatus, Trigger], ExportStatus]:
    table: dict[tuple[ExportStatus, Trigger], ExportStatus] = {}
    for trigger in Trigger:
        for source_name, moves in machine.events[trigger.value].transitions.items():
            # The table holds no conditional transitions, so the first move is the move;
            # dest None is an internal transition, which keeps the status.
            dest_name = moves[0].dest
            source = ExportStatus(source_name)
            table[(source, trigger)] = source if dest_name is None else ExportStatus(dest_name)
    return MappingProxyType(table)


NEXT_STATUS = _compile(EXPORT_MACHINE)
"""`(status, trigger) -> status` for every legal move; a missing key is an illegal one."""


_NEXT_BY_VALUE: Mapping[tuple[str, str], ExportStatus] = MappingProxyType(
    {(source.value, trigger.value): dest for (source, trigger), dest in NEXT_STATUS.items()}
)
# Keyed by the members' plain string values: an Enum hashes through a Python-level
# `__hash__`, several times slower than a str's cached hash, on every request.


def next_status(status: ExportStatus, trigger: Trigger) -> ExportStatus | None:
    """The status after `trigger`, or None when the lifecycle forbids the move."""
    return _NEXT_BY_VALUE.get((status._value_, trigger._value_))


def allowed_triggers(status: ExportStatus) -> frozenset[Trigger]:
    """Every trigger the lifecycle accepts from `status`."""
    return frozenset(trigger for (source, trigger) in NEXT_STATUS if source is status)
