"""The rules engine: every check an action goes through, in one documented order.

    authenticated -> permitted -> exists -> module capabilities -> busy -> transition

Permission comes before existence so that a caller without rights learns nothing
about which uids exist. The order is data (`CHECK_ORDER`), derived from the actions'
rules (`actions.ACTIONS`) once at import and read by both ways of running it:
`first_refusal` stops at the first failed check (what the use cases need, and cheap),
`decide` runs them all and reports each (what `evaluate` and `explain` need). Gates
(the first three) hide everything after them when they fail.

Everything here is pure: the bdb and a snapshot of the module catalog are arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .actions import ACTIONS, Action, ActionRule
from .bdb import Bdb
from .busy_rule import busy_refusal
from .capability_rule import NO_MODULES, CatalogSnapshot, capability_refusal
from .decision import Check, CheckOutcome, Decision
from .errors import (
    BdbNotFoundError,
    DomainError,
    ForbiddenError,
    InvalidTransitionError,
    UnauthenticatedError,
)
from .ports import PermissionPolicy
from .principal import Principal


@dataclass(slots=True)
class Question:
    """Everything one decision reads: who asks what of which bdb, under which rules."""

    action: Action
    rule: ActionRule
    policy: PermissionPolicy
    principal: Principal | None
    uid: int | None
    bdb: Bdb | None
    catalog: CatalogSnapshot


CheckFn = Callable[[Question], DomainError | None]
"""A check: the refusal it gives to a question, or None. Checks after the gates may
assume a principal and a bdb."""


def authenticated(question: Question) -> DomainError | None:
    return UnauthenticatedError() if question.principal is None else None


def permitted(question: Question) -> DomainError | None:
    principal = question.principal
    assert principal is not None  # guaranteed by the gate before
    permission = question.rule.permission
    if question.policy.permits(principal, permission):
        return None
    return ForbiddenError(principal.role, permission)


def exists(question: Question) -> DomainError | None:
    return BdbNotFoundError(question.uid or 0) if question.bdb is None else None


def module_capabilities(question: Question) -> DomainError | None:
    assert question.bdb is not None
    return capability_refusal(question.bdb, question.catalog)


def not_busy(question: Question) -> DomainError | None:
    assert question.bdb is not None
    return busy_refusal(question.bdb, question.action)


def transition_allowed(question: Question) -> DomainError | None:
    rule, bdb = question.rule, question.bdb
    assert bdb is not None
    assert rule.lifecycle is not None
    assert rule.trigger is not None
    status = rule.lifecycle.status_of(bdb)
    if rule.lifecycle.allows(status, rule.trigger):
        return None
    return InvalidTransitionError(
        bdb.uid, rule.trigger.value, status.value, rule.lifecycle.kind.value
    )


CheckSpec = tuple[str, CheckFn, bool]
"""`(name, check, is_gate)`."""

_GATES: tuple[CheckSpec, ...] = (
    ("authenticated", authenticated, True),
    ("permitted", permitted, True),
)
_EXISTS: tuple[CheckSpec, ...] = (("exists", exists, True),)
_LIFECYCLE_RULES: tuple[CheckSpec, ...] = (
    ("module_capabilities", module_capabilities, False),
    ("not_busy", not_busy, False),
    ("transition", transition_allowed, False),
)


def _order(rule: ActionRule) -> tuple[CheckSpec, ...]:
    order = _GATES
    if rule.targets_one_bdb:
        order += _EXISTS
    if rule.moves_a_lifecycle:
        order += _LIFECYCLE_RULES
    return order


CHECK_ORDER: Mapping[Action, tuple[CheckSpec, ...]] = MappingProxyType(
    {action: _order(rule) for action, rule in ACTIONS.items()}
)
"""For each action, its checks as `(name, check, is_gate)`, in the order they run."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One action's rule and checks, looked up once per decision."""

    rule: ActionRule
    checks: tuple[CheckFn, ...]
    all_passed: tuple[Check, ...]


_COMPILED: Mapping[Action, _Compiled] = MappingProxyType(
    {
        action: _Compiled(
            ACTIONS[action],
            tuple(check for _, check, _ in order),
            tuple(Check(name, CheckOutcome.PASSED) for name, _, _ in order),
        )
        for action, order in CHECK_ORDER.items()
    }
)


class RulesEngine:
    """Decides requests from the permission policy, a bdb and a catalog snapshot.

    It reads nothing but its arguments and the policy, and changes nothing: an
    embedder that already holds the bdb can ask it directly.
    """

    __slots__ = ("policy",)

    def __init__(self, *, policy: PermissionPolicy) -> None:
        self.policy = policy

    def first_refusal(
        self,
        principal: Principal | None,
        action: Action,
        uid: int | None,
        bdb: Bdb | None,
        catalog: CatalogSnapshot = NO_MODULES,
    ) -> DomainError | None:
        """The error the request fails with, or None when every check passes."""
        compiled = _COMPILED[action]
        question = Question(action, compiled.rule, self.policy, principal, uid, bdb, catalog)
        for check in compiled.checks:
            error = check(question)
            if error is not None:
                return error
        return None

    def decide(
        self,
        principal: Principal | None,
        action: Action,
        uid: int | None,
        bdb: Bdb | None,
        catalog: CatalogSnapshot = NO_MODULES,
    ) -> Decision:
        """A decision listing every check's outcome; changes nothing."""
        compiled = _COMPILED[action]
        question = Question(action, compiled.rule, self.policy, principal, uid, bdb, catalog)
        for check in compiled.checks:
            if check(question) is not None:
                break
        else:
            return Decision(action, uid, principal, compiled.all_passed, None)
        checks = _explain(question, CHECK_ORDER[action])
        error = next(check.error for check in checks if check.error is not None)
        return Decision(action, uid, principal, checks, error)


def _explain(question: Question, order: tuple[CheckSpec, ...]) -> tuple[Check, ...]:
    checks: list[Check] = []
    blocked = False
    for name, check, is_gate in order:
        if blocked:
            checks.append(Check(name, CheckOutcome.SKIPPED))
            continue
        error = check(question)
        if error is None:
            checks.append(Check(name, CheckOutcome.PASSED))
        else:
            checks.append(Check(name, CheckOutcome.FAILED, error))
            blocked = is_gate
    return tuple(checks)
