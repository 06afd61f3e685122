"""The compiled pass tables never change a decision: for any principal, action, bdb and
catalog, the engine refuses exactly as its readable checks do, one after the other."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from hypothesis import given
from hypothesis import strategies as st

from bdbexport.domain import (
    ACTIONS,
    CHECK_ORDER,
    Action,
    BackupStatus,
    Bdb,
    CatalogModule,
    Check,
    CheckOutcome,
    ExportStatus,
    ImportStatus,
    ModuleRef,
    Principal,
    RulesEngine,
)
from bdbexport.domain.errors import DomainError
from bdbexport.domain.permissions import BUILTIN_ROLE_PERMISSIONS, RoleTablePolicy

ROLES = [*BUILTIN_ROLE_PERMISSIONS, "unknown_role"]


class CallerPolicy:
    """A policy that decides per caller, not per role: the engine cannot compile it
    into role tables and must ask it on every request."""

    def permits(self, principal: Principal, permission: str) -> bool:
        return principal.name.startswith("ops") and not permission.startswith("reset")


principals = st.one_of(
    st.none(),
    st.builds(
        Principal, st.sampled_from(["ops@example.com", "dev@example.com"]), st.sampled_from(ROLES)
    ),
)
RESTING: dict[str, list[StrEnum]] = {
    "export_status": [ExportStatus.IDLE, ExportStatus.SUCCEEDED, ExportStatus.FAILED],
    "import_status": [ImportStatus.IDLE, ImportStatus.SUCCEEDED, ImportStatus.FAILED],
    "backup_status": [BackupStatus.IDLE, BackupStatus.SUCCEEDED, BackupStatus.FAILED],
}
RUNNING: dict[str, list[StrEnum]] = {
    "export_status": [ExportStatus.EXPORTING],
    "import_status": [ImportStatus.INITIALIZING, ImportStatus.IMPORTING],
    "backup_status": [BackupStatus.EXPORTING],
}


@st.composite
def some_bdb(draw: st.DrawFn) -> Bdb:
    """A valid bdb: at most one member of the family runs, and then it holds the
    action uid; otherwise another action (a resharding) may hold one."""
    runner: str | None = draw(st.sampled_from([None, *RESTING]))
    fields = {
        field: draw(st.sampled_from(RUNNING[field] if field == runner else RESTING[field]))
        for field in RESTING
    }
    action_uid = "a-1" if runner else draw(st.sampled_from([None, "reshard-1"]))
    modules = draw(
        st.lists(
            st.builds(ModuleRef, module_name=st.sampled_from(["search", "graph", "nosuch"])),
            max_size=2,
        )
    )
    reasons = {
        field.replace("_status", "_failure_reason"): "general-error"
        for field, status in fields.items()
        if status == "failed"
    }
    return Bdb.model_validate(
        {
            "uid": 7,
            "name": "orders",
            "action_uid": action_uid,
            "module_list": modules,
            **fields,
            **reasons,
        }
    )


bdbs = st.one_of(st.none(), some_bdb())
CATALOG = {
    "search": CatalogModule(
        module_name="search", semantic_version="2.8.0", capabilities=["backup_restore"]
    ),
    "graph": CatalogModule(module_name="graph", semantic_version="2.10.0", capabilities=[]),
}


def _same(first: DomainError | None, second: DomainError | None) -> bool:
    if first is None or second is None:
        return first is second
    return (type(first), first.code, first.description) == (
        type(second),
        second.code,
        second.description,
    )


def _engines() -> Iterable[RulesEngine]:
    yield RulesEngine(policy=RoleTablePolicy())
    yield RulesEngine(policy=CallerPolicy())


@given(principal=principals, action=st.sampled_from(list(Action)), bdb=bdbs)
def test_the_tables_refuse_exactly_as_the_checks_do(
    principal: Principal | None, action: Action, bdb: Bdb | None
) -> None:
    for engine in _engines():
        tabled = engine.first_refusal(principal, action, 7, bdb, CATALOG)
        checked = engine.sequential_refusal(principal, action, 7, bdb, CATALOG)
        assert _same(tabled, checked)
        decision = engine.decide(principal, action, 7, bdb, CATALOG)
        assert _same(decision.error, checked)
        assert decision.allowed == (checked is None)
        assert [_seen(check) for check in decision.checks] == [
            _seen(check) for check in _explained(engine, principal, action, bdb)
        ]


def _seen(check: Check) -> tuple[str, CheckOutcome, str | None]:
    return check.name, check.outcome, None if check.error is None else check.error.code


def _explained(
    engine: RulesEngine, principal: Principal | None, action: Action, bdb: Bdb | None
) -> list[Check]:
    """What `decide` must list, worked out from the documented order: each check of
    `CHECK_ORDER` run by hand, and everything after a failed gate skipped."""
    checks: list[Check] = []
    blocked = False
    for name, check, is_gate in CHECK_ORDER[action]:
        if blocked:
            checks.append(Check(name, CheckOutcome.SKIPPED))
            continue
        error = check(ACTIONS[action], engine.policy, principal, 7, bdb, CATALOG)
        checks.append(
            Check(name, CheckOutcome.PASSED if error is None else CheckOutcome.FAILED, error)
        )
        blocked = error is not None and is_gate
    return checks


def test_a_new_policy_recompiles_the_tables() -> None:
    admin = Principal("a@example.com", "admin")
    bdb = Bdb(uid=1, name="orders")
    engine = RulesEngine(policy=RoleTablePolicy())
    assert engine.first_refusal(admin, Action.RESET, 1, bdb) is None
    engine.policy = RoleTablePolicy({"admin": []})
    refusal = engine.first_refusal(admin, Action.RESET, 1, bdb)
    assert refusal is not None
    assert refusal.code == "forbidden"
