"""A decision is the tuple of its five fields, read by name."""

from __future__ import annotations

import pickle

from bdbexport.domain import Action, Check, CheckOutcome, Decision, Principal
from bdbexport.domain.errors import ForbiddenError

VIEWER = Principal("v@example.com", "db_viewer")
REFUSAL = ForbiddenError("db_viewer", "reset_bdb_current_export_status")
CHECKS = (
    Check("authenticated", CheckOutcome.PASSED),
    Check("permitted", CheckOutcome.FAILED, REFUSAL),
)


def test_the_fields_read_by_name_in_their_order() -> None:
    decision = Decision((Action.RESET, 7, VIEWER, CHECKS, REFUSAL))
    assert (decision.action, decision.uid, decision.principal) == (Action.RESET, 7, VIEWER)
    assert decision.checks == CHECKS
    assert decision.error is REFUSAL
    assert not decision.allowed
    assert decision.reasons == (REFUSAL.description,)
    assert Decision((Action.RESET, 7, VIEWER, CHECKS[:1], None)).allowed


def test_it_names_its_fields_when_shown_and_survives_pickling() -> None:
    decision = Decision((Action.RESET, None, None, (), None))
    assert repr(decision) == (
        f"Decision(action={Action.RESET!r}, uid=None, principal=None, checks=(), error=None)"
    )
    copy = pickle.loads(pickle.dumps(decision))
    assert type(copy) is Decision
    assert copy == decision
    assert copy.allowed
