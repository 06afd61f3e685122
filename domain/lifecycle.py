"""One action-status lifecycle: its machine, and the table compiled from it.

Redis Software keeps three sibling lifecycles on a bdb: export (`export_status`),
import (`import_status`) and backup (`backup_status`). Each is declared (in `family`)
as a table of `transitions` dicts — states, triggers, destinations and *named guards*
(`guards`) — so the machine definition is the whole truth about which move is legal
when.

For each lifecycle one `transitions.Machine` is built once (`model=None`,
`auto_transitions=False`: no `to_<state>` back doors). Deciding a move on a request path
does not fire that machine (a trigger on a bound model costs microseconds): its event
table is compiled once into a frozen `(status, trigger) -> moves` lookup, each move
with its destination and the guards it needs. A test fires every (status, trigger,
guard outcome) through a real bound model and checks the compiled table agrees.

The lifecycle reads a bdb through `guards.ActionHolder` and its status fields by name:
it knows no aggregate, so `bdb` can build its invariants on the lifecycles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from transitions import Machine

from .action_kind import ActionKind, Trigger
from .errors import InvalidTransitionError
from .guards import GUARDS, ActionHolder, Guard, Report


@dataclass(frozen=True, slots=True)
class Move:
    """One compiled transition: where it leads and the guards it needs."""

    dest: StrEnum
    guards: tuple[Guard, ...]
    internal: bool
    """dest None in the definition: the status stays (progress, an idle reset)."""


@dataclass(frozen=True)
class Lifecycle:
    """One member of the family: its states, its wire fields and its transitions."""

    kind: ActionKind
    statuses: type[StrEnum]
    reasons: type[StrEnum]
    idle: StrEnum
    running: frozenset[StrEnum]
    succeeded: StrEnum
    failed: StrEnum
    transitions: tuple[Mapping[str, Any], ...]
    last_time_field: str | None
    parse_reason: Callable[[str], StrEnum | str] | None = None
    """Reads a reported failure reason when the vocabulary is more than `reasons`
    (the import's numbered `file-larger-than-mem-limit:<n>:<m>`); None: `reasons`."""
    # Derived once, in __post_init__: the member's name and its wire fields
    # (`<name>_status`, `<name>_progress`, `<name>_failure_reason`), the machine and the
    # table compiled from it.
    name: str = field(init=False)
    status_field: str = field(init=False)
    progress_field: str = field(init=False)
    reason_field: str = field(init=False)
    detail_field: str = field(init=False)
    machine: Machine = field(init=False, repr=False, compare=False)
    table: Mapping[tuple[StrEnum, Trigger], tuple[Move, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __str__(self) -> str:
        return self.name

    def __post_init__(self) -> None:
        derived = {
            "name": self.kind.value,
            "status_field": f"{self.kind.value}_status",
            "progress_field": f"{self.kind.value}_progress",
            "reason_field": f"{self.kind.value}_failure_reason",
            "detail_field": f"{self.kind.value}_failure_detail",
        }
        for attribute, value in derived.items():
            object.__setattr__(self, attribute, value)
        machine = build_machine(self)
        object.__setattr__(self, "machine", machine)
        object.__setattr__(self, "table", _compile(self, machine))

    def status_of(self, bdb: ActionHolder) -> StrEnum:
        status: StrEnum = getattr(bdb, self.status_field)
        return status

    def progress_of(self, bdb: ActionHolder) -> int:
        progress: int = getattr(bdb, self.progress_field)
        return progress

    def reason_of(self, bdb: ActionHolder) -> StrEnum | None:
        reason: StrEnum | None = getattr(bdb, self.reason_field)
        return reason

    def is_running(self, bdb: ActionHolder) -> bool:
        return self.status_of(bdb) in self.running

    def allows(self, status: StrEnum, trigger: Trigger) -> bool:
        """Whether some transition leaves `status` on `trigger` (guards aside)."""
        return (status, trigger) in self.table

    def next_status(self, bdb: ActionHolder, trigger: Trigger, report: Report) -> StrEnum:
        """The status `trigger` leads to from the bdb's, after the guards; raises the
        refusal when the move is illegal or no transition's guards all pass."""
        status = self.status_of(bdb)
        moves = self.table.get((status, trigger))
        if moves is None:
            raise InvalidTransitionError(bdb.uid, trigger, status, self.name)
        first_failed: Guard | None = None
        for move in moves:
            failed = _first_failing(move.guards, self, bdb, report) if move.guards else None
            if failed is None:
                return move.dest
            first_failed = first_failed or failed
        assert first_failed is not None
        raise GUARDS[first_failed].refusal(self, bdb, report)

    def triggers_from(self, status: StrEnum) -> frozenset[Trigger]:
        """Every trigger the lifecycle accepts from `status` (guards aside)."""
        return frozenset(trigger for (source, trigger) in self.table if source is status)


def _first_failing(
    guards: tuple[Guard, ...], lifecycle: Lifecycle, bdb: ActionHolder, report: Report
) -> Guard | None:
    for guard in guards:
        if not GUARDS[guard].check(lifecycle, bdb, report):
            return guard
    return None


def build_machine(lifecycle: Lifecycle, model: object | None = None, **options: Any) -> Machine:
    """A `transitions.Machine` over `lifecycle`; `options` go to the constructor.

    States are the wire strings (`"idle"`, ...), so the generated diagram speaks the
    API's words; guards are the `Guard` names, looked up on the model when fired.
    Used for each lifecycle's one shared machine, by the diagram generator (which
    passes a `GraphMachine` as `machine_class`) and by the tests that fire it.
    """
    machine_class: type[Machine] = options.pop("machine_class", Machine)
    return machine_class(
        model=model,
        states=[status.value for status in lifecycle.statuses],
        transitions=[
            {
                "trigger": spec["trigger"].value,
                "source": [status.value for status in _as_list(spec["source"])],
                "dest": None if spec["dest"] is None else spec["dest"].value,
                "conditions": [guard.value for guard in spec.get("conditions", ())],
            }
            for spec in lifecycle.transitions
        ],
        initial=lifecycle.idle.value,
        auto_transitions=False,
        **options,
    )


def _as_list(source: StrEnum | Iterable[StrEnum]) -> list[StrEnum]:
    return [source] if isinstance(source, StrEnum) else list(source)


def _compile(
    lifecycle: Lifecycle, machine: Machine
) -> Mapping[tuple[StrEnum, Trigger], tuple[Move, ...]]:
    """The machine's own event table as a frozen lookup, moves in the order the
    machine tries them (the first whose guards all pass wins)."""
    table: dict[tuple[StrEnum, Trigger], tuple[Move, ...]] = {}
    for trigger in Trigger:
        event = machine.events.get(trigger.value)
        if event is None:
            continue
        for source_name, transitions in event.transitions.items():
            source = lifecycle.statuses(source_name)
            table[(source, trigger)] = tuple(
                Move(
                    dest=source if move.dest is None else lifecycle.statuses(move.dest),
                    guards=tuple(Guard(str(condition.func)) for condition in move.conditions),
                    internal=move.dest is None,
                )
                for move in transitions
            )
    return MappingProxyType(table)
