"""What `evaluate` answers: a decision with the outcome of every check, in order."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

from .actions import Action
from .errors import DomainError
from .principal import Principal


class CheckOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not evaluated: an earlier gate failed, and what follows would reveal too much."""


class Check(NamedTuple):
    """One rule's verdict; `error` is the refusal it gives when it failed.

    Decisions and checks are named tuples: immutable, and the cheapest immutable
    record Python builds (`evaluate` is a rules engine's hot path)."""

    name: str
    outcome: CheckOutcome
    error: DomainError | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is CheckOutcome.PASSED

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "outcome": self.outcome.value,
            "error": None if self.error is None else self.error.as_dict(),
        }


class Decision(tuple[Action, int | None, Principal | None, tuple[Check, ...], DomainError | None]):
    """Whether `principal` may do `action` to bdb `uid`, and every reason why (not).

    `error` is exactly the refusal the matching use case would raise now: the first
    failed check in the documented order.

    A decision is the tuple of its five fields, built from it:
    `Decision((action, uid, principal, checks, error))`. A plain tuple subclass rather
    than a named tuple because building one then costs what building the tuple costs
    (a named tuple's constructor is a Python function, a third of `evaluate`'s time on
    its fast path); the fields are read through the properties below.
    """

    __slots__ = ()

    @property
    def action(self) -> Action:
        return self[0]

    @property
    def uid(self) -> int | None:
        return self[1]

    @property
    def principal(self) -> Principal | None:
        return self[2]

    @property
    def checks(self) -> tuple[Check, ...]:
        return self[3]

    @property
    def error(self) -> DomainError | None:
        return self[4]

    @property
    def allowed(self) -> bool:
        return self[4] is None

    def __repr__(self) -> str:
        action, uid, principal, checks, error = self
        return (
            f"Decision(action={action!r}, uid={uid!r}, principal={principal!r}, "
            f"checks={checks!r}, error={error!r})"
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        """The description of every failed check, first the one that decides."""
        return tuple(c.error.description for c in self.checks if c.error is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "uid": self.uid,
            "principal": None
            if self.principal is None
            else {"name": self.principal.name, "role": self.principal.role},
            "allowed": self.allowed,
            "error": None if self.error is None else self.error.as_dict(),
            "checks": [check.to_dict() for check in self.checks],
        }
