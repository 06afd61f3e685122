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
from enum import StrEnum
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

CheckFn = Callable[
    [ActionRule, PermissionPolicy, Principal | None, int | None, Bdb | None, CatalogSnapshot],
    DomainError | None,
]
"""A check: the refusal it gives to (rule, policy, principal, uid, bdb, catalog), or
None. Checks after the gates may assume a principal and a bdb. They take plain
arguments, not one object, because building an object per decision would cost more
than most checks themselves."""


def authenticated(
    rule: ActionRule,
    policy: PermissionPolicy,
    principal: Principal | None,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> DomainError | None:
    return UnauthenticatedError() if principal is None else None


def permitted(
    rule: ActionRule,
    policy: PermissionPolicy,
    principal: Principal | None,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> DomainError | None:
    assert principal is not None  # guaranteed by the gate before
    if policy.permits(principal, rule.permission):
        return None
    return ForbiddenError(principal.role, rule.permission)


def exists(
    rule: ActionRule,
    policy: PermissionPolicy,
    principal: Principal | None,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> DomainError | None:
    return BdbNotFoundError(uid or 0) if bdb is None else None


def module_capabilities(
    rule: ActionRule,
    policy: PermissionPolicy,
    principal: Principal | None,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> DomainError | None:
    assert bdb is not None
    return capability_refusal(bdb, catalog) if bdb.module_list else None


def not_busy(
    rule: ActionRule,
    policy: PermissionPolicy,
    principal: Principal | None,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> DomainError | None:
    assert bdb is not None
    return None if bdb.action_uid is None else busy_refusal(bdb, rule)


def transition_allowed(
    rule: ActionRule,
    policy: PermissionPolicy,
    principal: Principal | None,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> DomainError | None:
    lifecycle, trigger = rule.lifecycle, rule.trigger
    assert bdb is not None  # the exists gate passed
    assert lifecycle is not None  # only lifecycle moves run this check
    assert trigger is not None
    status = lifecycle.status_of(bdb)
    if status in rule.allowed_from:
        return None
    return InvalidTransitionError(bdb.uid, trigger, status, lifecycle.name)


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


@dataclass(frozen=True, slots=True)
class _PassTable:
    """When one action's checks all pass, as a few facts compiled from its rules.

    Derived from `CHECK_ORDER` and each rule's data (never written per action): the
    roles the policy grants the permission to (when the policy can list them), whether
    a bdb must exist, and the lifecycle field and the statuses its transition may leave.
    A bdb with modules, or an order holding a check not known here, is not covered: the
    readable checks then decide, as they do for every refusal (which needs its details).
    """

    permission: str
    roles: frozenset[str] | None
    """The roles permitted the action; None: ask the policy."""
    all_passed: tuple[Check, ...]
    """What `decide` reports when they all pass."""
    needs_bdb: bool
    moves_lifecycle: bool
    status_field: str
    allowed_from: frozenset[StrEnum]

    def passes(
        self, policy: PermissionPolicy, principal: Principal | None, bdb: Bdb | None
    ) -> bool:
        """True only if every check would pass; False means "run the checks"."""
        if principal is None:
            return False
        roles = self.roles
        if not (
            principal.role in roles
            if roles is not None
            else policy.permits(principal, self.permission)
        ):
            return False
        if not self.needs_bdb:
            return True
        if bdb is None:
            return False
        if not self.moves_lifecycle:
            return True
        return (
            not bdb.module_list
            and bdb.action_uid is None
            and getattr(bdb, self.status_field) in self.allowed_from
        )


_COVERED_CHECKS: frozenset[CheckFn] = frozenset(
    {authenticated, permitted, exists, module_capabilities, not_busy, transition_allowed}
)


def _pass_table(action: Action, policy: PermissionPolicy) -> _PassTable | None:
    compiled = _COMPILED[action]
    if not set(compiled.checks) <= _COVERED_CHECKS:
        return None
    rule = compiled.rule
    roles_granting = getattr(policy, "roles_granting", None)
    roles = roles_granting(rule.permission) if callable(roles_granting) else None
    lifecycle = rule.lifecycle
    return _PassTable(
        permission=rule.permission,
        roles=roles,
        all_passed=compiled.all_passed,
        needs_bdb=exists in compiled.checks,
        moves_lifecycle=transition_allowed in compiled.checks,
        status_field=lifecycle.status_field if lifecycle is not None else "",
        allowed_from=rule.allowed_from,
    )


class RulesEngine:
    """Decides requests from the permission policy, a bdb and a catalog snapshot.

    It reads nothing but its arguments and the policy, and changes nothing: an
    embedder that already holds the bdb can ask it directly. Requests that pass are
    recognised through tables compiled from the rules when the policy is set (one
    method call instead of one call per check); any other runs the checks in order.
    """

    __slots__ = ("_pass_tables", "_policy")

    def __init__(self, *, policy: PermissionPolicy) -> None:
        self.policy = policy

    @property
    def policy(self) -> PermissionPolicy:
        return self._policy

    @policy.setter
    def policy(self, policy: PermissionPolicy) -> None:
        self._policy = policy
        self._pass_tables: dict[Action, _PassTable | None] = {
            action: _pass_table(action, policy) for action in _COMPILED
        }

    def first_refusal(
        self,
        principal: Principal | None,
        action: Action,
        uid: int | None,
        bdb: Bdb | None,
        catalog: CatalogSnapshot = NO_MODULES,
    ) -> DomainError | None:
        """The error the request fails with, or None when every check passes."""
        table = self._pass_tables[action]
        if table is not None and table.passes(self._policy, principal, bdb):
            return None
        compiled = _COMPILED[action]
        rule, policy = compiled.rule, self._policy
        for check in compiled.checks:
            error = check(rule, policy, principal, uid, bdb, catalog)
            if error is not None:
                return error
        return None

    def sequential_refusal(
        self,
        principal: Principal | None,
        action: Action,
        uid: int | None,
        bdb: Bdb | None,
        catalog: CatalogSnapshot = NO_MODULES,
    ) -> DomainError | None:
        """`first_refusal` without the compiled tables: the readable checks alone (what
        the tests hold the tables to)."""
        compiled = _COMPILED[action]
        for check in compiled.checks:
            error = check(compiled.rule, self._policy, principal, uid, bdb, catalog)
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
        table = self._pass_tables[action]
        if table is not None and table.passes(self._policy, principal, bdb):
            return Decision((action, uid, principal, table.all_passed, None))
        compiled = _COMPILED[action]
        if self.sequential_refusal(principal, action, uid, bdb, catalog) is None:
            return Decision((action, uid, principal, compiled.all_passed, None))
        rule, policy = compiled.rule, self._policy
        checks = _explain(CHECK_ORDER[action], rule, policy, principal, uid, bdb, catalog)
        error = next(check.error for check in checks if check.error is not None)
        return Decision((action, uid, principal, checks, error))


def _explain(
    order: tuple[CheckSpec, ...],
    rule: ActionRule,
    policy: PermissionPolicy,
    principal: Principal | None,
    uid: int | None,
    bdb: Bdb | None,
    catalog: CatalogSnapshot,
) -> tuple[Check, ...]:
    checks: list[Check] = []
    blocked = False
    for name, check, is_gate in order:
        if blocked:
            checks.append(Check(name, CheckOutcome.SKIPPED))
            continue
        error = check(rule, policy, principal, uid, bdb, catalog)
        if error is None:
            checks.append(Check(name, CheckOutcome.PASSED))
        else:
            checks.append(Check(name, CheckOutcome.FAILED, error))
            blocked = is_gate
    return tuple(checks)
