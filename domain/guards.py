"""The named guards of the lifecycles' transitions: pure checks and their refusals.

A guard reads a bdb's action fields and the worker's `Report`; each names the refusal
it gives. They read the bdb through `ActionHolder` (the few fields they need), so the
machines depend on no aggregate: `bdb` builds on the lifecycles, not the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from .errors import (
    ActionMismatchError,
    DomainError,
    InvalidProgressError,
    LeaseNotExpiredError,
)


class ActionHolder(Protocol):
    """What the lifecycles read of a record besides its status fields (which they
    read by name): `Bdb` is one."""

    @property
    def uid(self) -> int: ...

    @property
    def action_uid(self) -> str | None: ...

    @property
    def action_lease_expires(self) -> datetime | None: ...


class Member(Protocol):
    """What a guard's refusal needs of the lifecycle it guards (`Lifecycle` is one)."""

    @property
    def name(self) -> str: ...

    def progress_of(self, bdb: ActionHolder) -> int: ...


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
    check: Callable[[Member, ActionHolder, Report], bool]
    refusal: Callable[[Member, ActionHolder, Report], DomainError]


def _holds_current_action(lifecycle: Member, bdb: ActionHolder, report: Report) -> bool:
    return bdb.action_uid == report.action_uid


def _progress_not_backwards(lifecycle: Member, bdb: ActionHolder, report: Report) -> bool:
    current = lifecycle.progress_of(bdb)
    return report.progress is None or current <= report.progress <= 100


def _reports_progress(lifecycle: Member, bdb: ActionHolder, report: Report) -> bool:
    return report.progress is not None and report.progress > 0


def _lease_lapsed(lifecycle: Member, bdb: ActionHolder, report: Report) -> bool:
    expires = bdb.action_lease_expires
    return expires is not None and report.now is not None and expires <= report.now


def _mismatch(lifecycle: Member, bdb: ActionHolder, report: Report) -> DomainError:
    return ActionMismatchError(bdb.uid, report.action_uid or "", bdb.action_uid)


def _bad_progress(lifecycle: Member, bdb: ActionHolder, report: Report) -> DomainError:
    return InvalidProgressError(
        bdb.uid, report.progress or 0, lifecycle.progress_of(bdb), lifecycle.name
    )


def _lease_alive(lifecycle: Member, bdb: ActionHolder, report: Report) -> DomainError:
    return LeaseNotExpiredError(bdb.uid)


GUARDS: Mapping[Guard, GuardRule] = MappingProxyType(
    {
        Guard.HOLDS_CURRENT_ACTION: GuardRule(_holds_current_action, _mismatch),
        Guard.PROGRESS_NOT_BACKWARDS: GuardRule(_progress_not_backwards, _bad_progress),
        Guard.REPORTS_PROGRESS: GuardRule(_reports_progress, _bad_progress),
        Guard.LEASE_LAPSED: GuardRule(_lease_lapsed, _lease_alive),
    }
)
"""Every guard's check and the refusal it gives when no transition's guards all pass."""
