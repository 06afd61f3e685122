"""One order of checks: authenticated -> permitted -> exists -> modules -> busy -> transition."""

from __future__ import annotations

import pytest

from bdbexport.domain import (
    CHECK_ORDER,
    Action,
    Bdb,
    CheckOutcome,
    ExportStatus,
    ModuleRef,
    Principal,
)
from tests.support.world import ADMIN, VIEWER, World, make_world

NOBODY = Principal("nobody@example.com", "none")


def test_the_documented_order_for_each_action() -> None:
    names = {action: [name for name, _, _ in CHECK_ORDER[action]] for action in Action}
    assert names[Action.RESET] == [
        "authenticated",
        "permitted",
        "exists",
        "module_capabilities",
        "not_busy",
        "transition",
    ]
    assert names[Action.START] == names[Action.RESET]
    assert names[Action.VIEW] == ["authenticated", "permitted", "exists"]
    assert names[Action.LIST] == ["authenticated", "permitted"]
    assert names[Action.VIEW_MODULES] == ["authenticated", "permitted"]


@pytest.mark.parametrize(
    ("principal", "uid", "code"),
    [
        (None, 999, "unauthenticated"),
        (None, 1, "unauthenticated"),
        (VIEWER, 999, "forbidden"),  # permission before existence: nothing leaks
        (NOBODY, 1, "forbidden"),
        (ADMIN, 999, "db_not_exist"),
        (ADMIN, 5, "unsupported_module_capabilities"),
        (ADMIN, 4, "export_in_progress"),
        (ADMIN, 6, "busy"),
        (ADMIN, 2, None),
    ],
)
def test_the_first_failed_check_decides(
    world: World, principal: Principal | None, uid: int, code: str | None
) -> None:
    decision = world.service.evaluate(principal, Action.RESET, uid)
    assert (decision.error.code if decision.error else None) == code
    assert decision.allowed == (code is None)


def test_a_viewer_asking_about_a_missing_uid_learns_nothing_more(world: World) -> None:
    decision = world.service.evaluate(VIEWER, Action.RESET, 999)
    outcomes = {check.name: check.outcome for check in decision.checks}
    assert outcomes["permitted"] is CheckOutcome.FAILED
    assert outcomes["exists"] is CheckOutcome.SKIPPED
    assert outcomes["transition"] is CheckOutcome.SKIPPED
    assert decision.reasons == (decision.error.description,)  # type: ignore[union-attr]


def test_modules_are_checked_before_business() -> None:
    world = make_world(
        [Bdb(uid=1, name="db", module_list=(ModuleRef(module_name="graph"),), action_uid="x")]
    )
    decision = world.service.evaluate(ADMIN, Action.START, 1)
    assert decision.error is not None
    assert decision.error.code == "unsupported_module_capabilities"
    # Every non-gate check still reports: the busy reason is there too.
    assert [c.error.code for c in decision.checks if c.error] == [
        "unsupported_module_capabilities",
        "busy",
    ]


def test_reset_while_exporting_reports_both_in_progress_and_the_refused_transition(
    world: World,
) -> None:
    decision = world.service.evaluate(ADMIN, Action.RESET, 4)
    assert [c.error.code for c in decision.checks if c.error] == [
        "export_in_progress",
        "invalid_transition",
    ]
    assert world.bdbs.get(4).export_status is ExportStatus.EXPORTING  # type: ignore[union-attr]


def test_an_allowed_decision_lists_every_check_as_passed(world: World) -> None:
    decision = world.service.evaluate(ADMIN, Action.START, 1)
    assert decision.allowed
    assert all(check.passed for check in decision.checks)
    assert decision.reasons == ()
    as_dict = decision.to_dict()
    assert as_dict["allowed"] is True
    assert as_dict["principal"] == {"name": ADMIN.name, "role": "admin"}
    assert [c["outcome"] for c in as_dict["checks"]] == ["passed"] * 6


def test_evaluate_changes_nothing_and_publishes_nothing(world: World) -> None:
    before = list(world.bdbs.list())
    for action in Action:
        for principal in (None, VIEWER, ADMIN):
            for uid in (1, 2, 4, 5, 6, 999):
                world.service.evaluate(principal, action, uid)
    assert list(world.bdbs.list()) == before
    assert len(world.events) == 0


def test_a_refused_decision_serialises_its_error(world: World) -> None:
    decision = world.service.evaluate(None, Action.LIST)
    assert decision.to_dict()["error"] == {
        "error_code": "unauthenticated",
        "description": "Authentication is required.",
    }
    assert decision.to_dict()["principal"] is None
    assert decision.uid is None


def test_out_of_range_uids_name_no_database(world: World) -> None:
    for uid in (0, -1, 2**63):
        assert world.service.evaluate(ADMIN, Action.VIEW, uid).error.code == "db_not_exist"  # type: ignore[union-attr]
