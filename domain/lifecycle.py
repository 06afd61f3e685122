"""One action-status lifecycle, defined once as data and instantiated for the family.

Redis Software keeps three sibling lifecycles on a bdb: export (`export_status`),
import (`import_status`) and backup (`backup_status`). Each is declared here as a
table of `transitions` dicts — states, triggers, destinations and *named guards* — so
the machine definition is the whole truth about which move is legal when.

For each lifecycle one `transitions.Machine` is built once (`model=None`,
`auto_transitions=False`: no `to_<state>` back doors). Deciding a move on a request path
does not fire that machine (a trigger on a bound model costs microseconds): its event
table is compiled once into a frozen `(status, trigger) -> moves` lookup, each move
with its destination and the guards it needs. A test fires every (status, trigger,
guard outcome) through a real bound model and checks the compiled table agrees.

Guards are pure functions of the bdb and the worker's `Report`; each names the refusal
it gives. The effects on the bdb's other fields live in `moves`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from transitions import Machine

from .errors import (
    ActionMismatchError,
    DomainError,
    InvalidProgressError,
    InvalidTransitionError,
    LeaseNotExpiredError,
)
from .statuses import (
    BackupStatus,
    ExportFailureReason,
    ExportStatus,
    ImportFailureReason,
    ImportStatus,
)

if TYPE_CHECKING:
    from .bdb import Bdb


class ActionKind(StrEnum):
    """The members of the family: each is one lifecycle on the bdb."""

    EXPORT = "export"
    IMPORT = "import"
    BACKUP = "backup"


class Trigger(StrEnum):
    """The events that move a lifecycle; their values name the machine's triggers."""

    START = "start"
    PROGRESS = "progress"
    SUCCEED = "succeed"
    FAIL = "fail"
    EXPIRE = "expire"
    """A running action's lease ran out: its worker is gone."""
    RESET = "reset"
    CANCEL = "cancel"
    """A principal stopped the running action (`DELETE /v1/actions/{uid}`)."""


class Guard(StrEnum):
    """Named conditions of the machines' transitions (the model's method names)."""

    HOLDS_CURRENT_ACTION = "holds_current_action"
    PROGRESS_NOT_BACKWARDS = "progress_not_backwards"
    REPORTS_PROGRESS = "reports_progress"
    LEASE_LAPSED = "lease_lapsed"


@dataclass(slots=True)
class Report:
    """What a trigger carries besides the bdb: the worker's action, its progress
    (None for a heartbeat) and the time of the decision."""

    action_uid: str | None = None
    progress: int | None = None
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class GuardRule:
    check: Callable[[Lifecycle, Bdb, Report], bool]
    refusal: Callable[[Lifecycle, Bdb, Report], DomainError]


def _holds_current_action(lifecycle: Lifecycle, bdb: Bdb, report: Report) -> bool:
    return bdb.action_uid == report.action_uid


def _progress_not_backwards(lifecycle: Lifecycle, bdb: Bdb, report: Report) -> bool:
    current = lifecycle.progress_of(bdb)
    return report.progress is None or current <= report.progress <= 100


def _reports_progress(lifecycle: Lifecycle, bdb: Bdb, report: Report) -> bool:
    return report.progress is not None and report.progress > 0


def _lease_lapsed(lifecycle: Lifecycle, bdb: Bdb, report: Report) -> bool:
    expires = bdb.action_lease_expires
    return expires is not None and report.now is not None and expires <= report.now


GUARDS: Mapping[Guard, GuardRule] = MappingProxyType(
    {
        Guard.HOLDS_CURRENT_ACTION: GuardRule(
            _holds_current_action,
            lambda lc, bdb, report: ActionMismatchError(
                bdb.uid, report.action_uid or "", bdb.action_uid
            ),
        ),
        Guard.PROGRESS_NOT_BACKWARDS: GuardRule(
            _progress_not_backwards,
            lambda lc, bdb, report: InvalidProgressError(
                bdb.uid, report.progress or 0, lc.progress_of(bdb), lc.name
            ),
        ),
        Guard.REPORTS_PROGRESS: GuardRule(
            _reports_progress,
            lambda lc, bdb, report: InvalidProgressError(
                bdb.uid, report.progress or 0, lc.progress_of(bdb), lc.name
            ),
        ),
        Guard.LEASE_LAPSED: GuardRule(
            _lease_lapsed, lambda lc, bdb, report: LeaseNotExpiredError(bdb.uid)
        ),
    }
)
"""Every guard's check and the refusal it gives when no transition's guards all pass."""


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

    def status_of(self, bdb: Bdb) -> StrEnum:
        status: StrEnum = getattr(bdb, self.status_field)
        return status

    def progress_of(self, bdb: Bdb) -> int:
        progress: int = getattr(bdb, self.progress_field)
        return progress

    def reason_of(self, bdb: Bdb) -> StrEnum | None:
        reason: StrEnum | None = getattr(bdb, self.reason_field)
        return reason

    def is_running(self, bdb: Bdb) -> bool:
        return self.status_of(bdb) in self.running

    def allows(self, status: StrEnum, trigger: Trigger) -> bool:
        """Whether some transition leaves `status` on `trigger` (guards aside)."""
        return (status, trigger) in self.table

    def next_status(self, bdb: Bdb, trigger: Trigger, report: Report) -> StrEnum:
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
    guards: tuple[Guard, ...], lifecycle: Lifecycle, bdb: Bdb, report: Report
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


_WORKER = [Guard.HOLDS_CURRENT_ACTION]
_REPORT = [Guard.HOLDS_CURRENT_ACTION, Guard.PROGRESS_NOT_BACKWARDS]
_LAPSED = [Guard.LEASE_LAPSED]


def _export_like(
    statuses: type[ExportStatus] | type[BackupStatus],
) -> tuple[Mapping[str, Any], ...]:
    idle, running = statuses("idle"), statuses("exporting")
    succeeded, failed = statuses("succeeded"), statuses("failed")
    return (
        {"trigger": Trigger.START, "source": [idle, succeeded, failed], "dest": running},
        # dest None is an internal transition: the status stays, the progress moves.
        {"trigger": Trigger.PROGRESS, "source": running, "dest": None, "conditions": _REPORT},
        {"trigger": Trigger.SUCCEED, "source": running, "dest": succeeded, "conditions": _WORKER},
        {"trigger": Trigger.FAIL, "source": running, "dest": failed, "conditions": _WORKER},
        {"trigger": Trigger.EXPIRE, "source": running, "dest": failed, "conditions": _LAPSED},
        # A cancelled action ends failed: the member's vocabulary has no "cancelled".
        {"trigger": Trigger.CANCEL, "source": running, "dest": failed, "conditions": _WORKER},
        {"trigger": Trigger.RESET, "source": [succeeded, failed], "dest": idle},
        # Resetting an idle status is accepted and changes nothing.
        {"trigger": Trigger.RESET, "source": idle, "dest": None},
    )


_I = ImportStatus
IMPORT_TRANSITIONS: tuple[Mapping[str, Any], ...] = (
    {
        "trigger": Trigger.START,
        "source": [_I.IDLE, _I.SUCCEEDED, _I.FAILED],
        "dest": _I.INITIALIZING,
    },
    # The first report of real progress means data is being loaded; a heartbeat
    # (no progress) while the source is still being fetched keeps `initializing`.
    {
        "trigger": Trigger.PROGRESS,
        "source": _I.INITIALIZING,
        "dest": _I.IMPORTING,
        "conditions": [*_REPORT, Guard.REPORTS_PROGRESS],
    },
    {"trigger": Trigger.PROGRESS, "source": _I.INITIALIZING, "dest": None, "conditions": _REPORT},
    {"trigger": Trigger.PROGRESS, "source": _I.IMPORTING, "dest": None, "conditions": _REPORT},
    {
        "trigger": Trigger.SUCCEED,
        "source": [_I.INITIALIZING, _I.IMPORTING],
        "dest": _I.SUCCEEDED,
        "conditions": _WORKER,
    },
    {
        "trigger": Trigger.FAIL,
        "source": [_I.INITIALIZING, _I.IMPORTING],
        "dest": _I.FAILED,
        "conditions": _WORKER,
    },
    {
        "trigger": Trigger.EXPIRE,
        "source": [_I.INITIALIZING, _I.IMPORTING],
        "dest": _I.FAILED,
        "conditions": _LAPSED,
    },
    {
        "trigger": Trigger.CANCEL,
        "source": [_I.INITIALIZING, _I.IMPORTING],
        "dest": _I.FAILED,
        "conditions": _WORKER,
    },
    {"trigger": Trigger.RESET, "source": [_I.SUCCEEDED, _I.FAILED], "dest": _I.IDLE},
    {"trigger": Trigger.RESET, "source": _I.IDLE, "dest": None},
)

EXPORT = Lifecycle(
    kind=ActionKind.EXPORT,
    statuses=ExportStatus,
    reasons=ExportFailureReason,
    idle=ExportStatus.IDLE,
    running=frozenset({ExportStatus.EXPORTING}),
    succeeded=ExportStatus.SUCCEEDED,
    failed=ExportStatus.FAILED,
    transitions=_export_like(ExportStatus),
    last_time_field="last_export_time",
)
IMPORT = Lifecycle(
    kind=ActionKind.IMPORT,
    statuses=ImportStatus,
    reasons=ImportFailureReason,
    idle=ImportStatus.IDLE,
    running=frozenset({ImportStatus.INITIALIZING, ImportStatus.IMPORTING}),
    succeeded=ImportStatus.SUCCEEDED,
    failed=ImportStatus.FAILED,
    transitions=IMPORT_TRANSITIONS,
    last_time_field=None,
)
BACKUP = Lifecycle(
    kind=ActionKind.BACKUP,
    statuses=BackupStatus,
    reasons=ExportFailureReason,
    idle=BackupStatus.IDLE,
    running=frozenset({BackupStatus.EXPORTING}),
    succeeded=BackupStatus.SUCCEEDED,
    failed=BackupStatus.FAILED,
    transitions=_export_like(BackupStatus),
    last_time_field="last_backup_time",
)

LIFECYCLES: Mapping[ActionKind, Lifecycle] = MappingProxyType(
    {lifecycle.kind: lifecycle for lifecycle in (EXPORT, IMPORT, BACKUP)}
)
"""The family, by kind: the three machines, each built once at import."""


def running_lifecycle(bdb: Bdb) -> Lifecycle | None:
    """The lifecycle whose action runs on the bdb now, if any (at most one can)."""
    for lifecycle in LIFECYCLES.values():
        if lifecycle.is_running(bdb):
            return lifecycle
    return None
