"""Busy rule: one action at a time on a database.

`action_uid` names the action running on the bdb. While a member of the family runs
it is that member's own; otherwise it belongs to some other action (a resharding) the
control plane started. Starting anything while an action runs is `busy`; resetting a
lifecycle while its own action runs is `<kind>_in_progress`; resetting while another
action runs is `busy`. All of them are temporary: the same request may succeed later.
"""

from __future__ import annotations

from .action_kind import Trigger
from .actions import ACTIONS, Action, ActionRule
from .bdb import Bdb
from .errors import IN_PROGRESS_ERRORS, BusyError, DomainError


def busy_refusal(bdb: Bdb, action: Action | ActionRule) -> DomainError | None:
    """The refusal for `action` (a lifecycle move) given what runs on `bdb`, or None."""
    if bdb.action_uid is None:
        return None
    rule = action if isinstance(action, ActionRule) else ACTIONS[action]
    lifecycle = rule.lifecycle
    assert lifecycle is not None, f"{action} moves no lifecycle"
    if rule.trigger is Trigger.RESET and lifecycle.is_running(bdb):
        return IN_PROGRESS_ERRORS[lifecycle.name](bdb.uid)
    return BusyError(bdb.uid, bdb.action_uid)
