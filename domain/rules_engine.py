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

# Enum members as module constants: in Python 3.11 `Enum.MEMBER` is a Python-level
# lookup (about 0.2 µs), paid on every request where these are used.
_T_START = Trigger.START
_T_RESET = Trigger.RESET
_A_START = Action.START


_tuple_new = tuple.__new__

CheckFn = Callable[
    ["RulesEngine", Principal | None, Action, int | None, Bdb | None], DomainError | None
]
"""A check: the refusal it gives for (principal, action, uid, bdb), or None. Checks after
the gates may assume a principal and a bdb; they take plain arguments, not an object,
because building one per decision costs more than the checks themselves."""


def _authenticated(
    engine: RulesEngine,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
) -> DomainError | None:
    return UnauthenticatedError() if principal is None else None


def _permitted(
    engine: RulesEngine,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
) -> DomainError | None:
    assert principal is not None  # guaranteed by the gate before
    permission = _PERMISSION_BY_VALUE[action._value_]
    if engine.policy.permits(principal, permission):
        return None
    return ForbiddenError(principal.role, permission)


def _exists(
    engine: RulesEngine,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
) -> DomainError | None:
    return BdbNotFoundError(uid or 0) if bdb is None else None


def _module_capabilities(
    engine: RulesEngine,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
) -> DomainError | None:
    assert bdb is not None
    return capability_refusal(bdb, engine.catalog) if bdb.module_list else None


def _not_busy(
    engine: RulesEngine,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
) -> DomainError | None:
    assert bdb is not None
    return None if bdb.action_uid is None else busy_refusal(bdb, action)


def _transition_allowed(
    engine: RulesEngine,
    principal: Principal | None,
    action: Action,
    uid: int | None,
    bdb: Bdb | None,
) -> DomainError | None:
    assert bdb is not None
    trigger = _T_START if action is _A_START else _T_RESET
    if next_status(bdb.export_status, trigger) is None:
        return InvalidTransitionError(bdb.uid, trigger.value, bdb.export_status.value)
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

# The hot path looks these up by the action's plain string value (see lifecycle.py).
_CHECKS_BY_VALUE = {
    action.value: tuple(check for _, check, _ in order) for action, order in CHECK_ORDER.items()
}
_PERMISSION_BY_VALUE = {action.value: str(p) for action, p in REQUIRED_PERMISSION.items()}
_ALL_PASSED: Mapping[str, tuple[Check, ...]] = MappingProxyType(
    {
        action.value: tuple(Check(name, CheckOutcome.PASSED) for name, _, _ in order)
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
        for check in _CHECKS_BY_VALUE[action._value_]:
            error = check(self, principal, action, uid, bdb)
            if error is not None:
                return error
        return None

    def decide(
        self, principal: Principal | None, action: Action, uid: int | None, bdb: Bdb | None
    ) -> Decision:
        """A decision listing every check's outcome; changes nothing."""
        if self.first_refusal(principal, action, uid, bdb) is None:
            # tuple.__new__ directly: the named tuple's generated __new__ is Python code
            # that triples the cost of the answer to the commonest question.
            return _tuple_new(Decision, (action, uid, principal, _ALL_PASSED[action._value_], None))
        checks = self._explain(principal, action, uid, bdb)
        error = next(check.error for check in checks if check.error is not None)
        return Decision(action, uid, principal, checks, error)

    def _explain(
        self, principal: Principal | None, action: Action, uid: int | None, bdb: Bdb | None
    ) -> tuple[Check, ...]:
        checks: list[Check] = []
        blocked = False
        for name, check, is_gate in CHECK_ORDER[action]:
            if blocked:
                checks.append(Check(name, CheckOutcome.SKIPPED))
                continue
            error = check(self, principal, action, uid, bdb)
            if error is None:
                checks.append(Check(name, CheckOutcome.PASSED))
            else:
                checks.append(Check(name, CheckOutcome.FAILED, error))
                blocked = is_gate
        return tuple(checks)
