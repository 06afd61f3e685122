"""The rules engine: every check an action goes through, in one documented order.

    authenticated -> permitted -> exists -> module capabilities -> busy -> transition

Permission comes before existence so that a caller without rights learns nothing
about which uids exist. The order is data (`CHECK_ORDER`), read by both ways of
running it: `first_refusal` stops at the first failed check (what the use cases need,
and cheap), `decide` runs them all and reports each (what `evaluate` and `explain`
need). Gates (the first three) hide everything after them when they fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from .actions import CHANGES_EXPORT, REQUIRED_PERMISSION, TARGETS_ONE_BDB, Action
from .bdb import Bdb
from .busy_rule import busy_refusal
from .capability_rule import capability_refusal
from .decision import Check, CheckOutcome, Decision
from .errors import (
    BdbNotFoundError,
    DomainError,
    ForbiddenError,
    InvalidTransitionError,
    UnauthenticatedError,
)
from .lifecycle import Trigger, next_status
from .ports import ModuleCatalog, PermissionPolicy
from .principal import Principal

_TRIGGER_OF: Mapping[Action, Trigger] = MappingProxyType(
    {Action.START: Trigger.START, Action.RESET: Trigger.RESET}
)


class _Subject:
    """What the checks look at; built once per decision."""

    __slots__ = ("action", "bdb", "principal", "uid")

    def __init__(
        self, principal: Principal | None, action: Action, uid: int | None, bdb: Bdb | None
    ) -> None:
        self.principal = principal
        self.action = action
        self.uid = uid
        self.bdb = bdb


CheckFn = Callable[["RulesEngine", _Subject], DomainError | None]


def _authenticated(engine: RulesEngine, s: _Subject) -> DomainError | None:
    return UnauthenticatedError() if s.principal is None else None


def _permitted(engine: RulesEngine, s: _Subject) -> DomainError | None:
    permission = REQUIRED_PERMISSION[s.action]
    assert s.principal is not None  # guaranteed by the gate before
    if engine.policy.permits(s.principal, permission):
        return None
    return ForbiddenError(s.principal.role, permission)


def _exists(engine: RulesEngine, s: _Subject) -> DomainError | None:
    return BdbNotFoundError(s.uid or 0) if s.bdb is None else None


def _module_capabilities(engine: RulesEngine, s: _Subject) -> DomainError | None:
    assert s.bdb is not None
    return capability_refusal(s.bdb, engine.catalog)


def _not_busy(engine: RulesEngine, s: _Subject) -> DomainError | None:
    assert s.bdb is not None
    return busy_refusal(s.bdb, s.action)


def _transition_allowed(engine: RulesEngine, s: _Subject) -> DomainError | None:
    assert s.bdb is not None
    trigger = _TRIGGER_OF[s.action]
    if next_status(s.bdb.export_status, trigger) is None:
        return InvalidTransitionError(s.bdb.uid, trigger.value, s.bdb.export_status.value)
    return None


_GATES: tuple[tuple[str, CheckFn, bool], ...] = (
    ("authenticated", _authenticated, True),
    ("permitted", _permitted, True),
)
_EXISTS = (("exists", _exists, True),)
_EXPORT_RULES: tuple[tuple[str, CheckFn, bool], ...] = (
    ("module_capabilities", _module_capabilities, False),
    ("not_busy", _not_busy, False),
    ("transition", _transition_allowed, False),
)


def _order(action: Action) -> tuple[tuple[str, CheckFn, bool], ...]:
    order = _GATES
    if action in TARGETS_ONE_BDB:
        order += _EXISTS
    if action in CHANGES_EXPORT:
        order += _EXPORT_RULES
    return order


CHECK_ORDER: Mapping[Action, tuple[tuple[str, CheckFn, bool], ...]] = MappingProxyType(
    {action: _order(action) for action in Action}
)
"""For each action, its checks as `(name, check, is_gate)`, in the order they run."""

_ALL_PASSED: Mapping[Action, tuple[Check, ...]] = MappingProxyType(
    {
        action: tuple(Check(name, CheckOutcome.PASSED) for name, _, _ in order)
        for action, order in CHECK_ORDER.items()
    }
)


class RulesEngine:
    """Decides requests from the permission policy, the module catalog and a bdb.

    It reads nothing but its arguments and two ports, and changes nothing: an
    embedder that already holds the bdb can ask it directly.
    """

    __slots__ = ("catalog", "policy")

    def __init__(self, *, policy: PermissionPolicy, catalog: ModuleCatalog) -> None:
        self.policy = policy
        self.catalog = catalog

    def first_refusal(
        self, principal: Principal | None, action: Action, uid: int | None, bdb: Bdb | None
    ) -> DomainError | None:
        """The error the request fails with, or None when every check passes."""
        subject = _Subject(principal, action, uid, bdb)
        for _, check, _ in CHECK_ORDER[action]:
            error = check(self, subject)
            if error is not None:
                return error
        return None

    def decide(
        self, principal: Principal | None, action: Action, uid: int | None, bdb: Bdb | None
    ) -> Decision:
        """A decision listing every check's outcome; changes nothing."""
        if self.first_refusal(principal, action, uid, bdb) is None:
            return Decision(action, uid, principal, _ALL_PASSED[action], None)
        checks = self._explain(principal, action, uid, bdb)
        error = next(check.error for check in checks if check.error is not None)
        return Decision(action, uid, principal, checks, error)

    def _explain(
        self, principal: Principal | None, action: Action, uid: int | None, bdb: Bdb | None
    ) -> tuple[Check, ...]:
        subject = _Subject(principal, action, uid, bdb)
        checks: list[Check] = []
        blocked = False
        for name, check, is_gate in CHECK_ORDER[action]:
            if blocked:
                checks.append(Check(name, CheckOutcome.SKIPPED))
                continue
            error = check(self, subject)
            if error is None:
                checks.append(Check(name, CheckOutcome.PASSED))
            else:
                checks.append(Check(name, CheckOutcome.FAILED, error))
                blocked = is_gate
        return tuple(checks)
