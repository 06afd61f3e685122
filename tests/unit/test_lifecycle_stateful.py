"""Random sequences of start/progress/succeed/fail/reset from every role, checked step by step.

Hypothesis drives the real use cases over in-memory adapters, through the synchronous
shell and (a second machine) the asynchronous one: both drive the same plans, and this
proves they agree. After every step the invariants of the core must hold, the outcome
must match an independent oracle of the rules, and exactly one event must have been
published for the step.
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bdbexport.domain import (
    ActionRefused,
    Bdb,
    DomainError,
    ExportFailureReason,
    ExportStatus,
    ModuleRef,
    MountPointLocation,
    Principal,
    Role,
)
from tests.support.thoroughness import examples
from tests.support.world import make_world

OPERATORS = {Role.ADMIN, Role.CLUSTER_MEMBER, Role.DB_MEMBER}
PRINCIPALS = st.one_of(
    st.none(), st.sampled_from([Principal(f"{role}@example.com", role) for role in Role])
)
UIDS = st.sampled_from([1, 2, 3, 4, 404])
LOCATION = MountPointLocation(path="/backups")


class ExportLifecycle(RuleBasedStateMachine):
    shell = "sync"

    def __init__(self) -> None:
        super().__init__()
        self.world = make_world(
            [
                Bdb(uid=1, name="one"),
                Bdb(uid=2, name="two"),
                Bdb(uid=3, name="graph", module_list=(ModuleRef(module_name="graph"),)),
                Bdb(uid=4, name="busy", action_uid="resharding-4"),
            ]
        )
        self.last_progress: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()

    def teardown(self) -> None:
        self.loop.close()

    def use_case(self, name: str, *args: Any) -> Any:
        """Call use case `name` on this machine's shell, to its end."""
        if self.shell == "sync":
            return getattr(self.world.service, name)(*args)
        awaitable = getattr(self.world.async_service, name)(*args)
        assert inspect.isawaitable(awaitable)
        return self.loop.run_until_complete(awaitable)

    # --- time, and the leases it wears out ---------------------------------------------

    @rule(seconds=st.integers(0, 90))
    def time_passes(self, seconds: int) -> None:
        self.world.clock.advance(timedelta(seconds=seconds))

    def expiring(self, uid: int) -> bool:
        """Whether the next call on `uid` will first fail an export whose lease ran out."""
        bdb = self.world.bdbs.get(uid)
        return (
            bdb is not None
            and bdb.export_status is ExportStatus.EXPORTING
            and bdb.action_lease_expires is not None
            and bdb.action_lease_expires <= self.world.clock.now()
        )

    def view(self, uid: int) -> Bdb | None:
        """The bdb as the next call will see it (after any lease expiry)."""
        bdb = self.world.bdbs.get(uid)
        if bdb is not None and self.expiring(uid):
            return bdb.model_copy(
                update={
                    "export_status": ExportStatus.FAILED,
                    "export_failure_reason": ExportFailureReason.GENERAL_ERROR,
                    "export_failure_detail": (
                        f"export lease expired at {bdb.action_lease_expires.isoformat()}:"  # type: ignore[union-attr]
                        " its worker stopped reporting"
                    ),
                    "action_uid": None,
                    "action_lease_expires": None,
                    "revision": bdb.revision + 1,
                }
            )
        return bdb

    # --- the oracle: the rules restated independently of the implementation -------------

    def expected_refusal(self, principal: Principal | None, uid: int, action: str) -> str | None:
        if principal is None:
            return "unauthenticated"
        if principal.role not in OPERATORS:
            return "forbidden"
        bdb = self.view(uid)
        if bdb is None:
            return "db_not_exist"
        if uid == 3:
            return "unsupported_module_capabilities"
        if bdb.action_uid is not None:
            exporting = bdb.export_status is ExportStatus.EXPORTING
            return "export_in_progress" if action == "reset" and exporting else "busy"
        return None

    def run(self, call: Any, expected: str | None, uid: int) -> Bdb | None:
        """Make the call; check its outcome against the oracle and its one event (two
        when a lease expiry comes first)."""
        before = self.view(uid)
        published = len(self.world.events) + (1 if self.expiring(uid) else 0)
        try:
            result: Bdb = call()
        except DomainError as error:
            assert len(self.world.events) == published + 1, "a refusal must publish one event"
            assert error.code == expected, (error.code, expected)
            assert self.world.bdbs.get(uid) == before, "a refusal changed state"
            event = self.world.events.events[-1]
            assert isinstance(event, ActionRefused)
            assert event.error_code == error.code
            return None
        assert expected is None, f"expected {expected}, got success"
        assert len(self.world.events) == published + 1, "a change must publish one event"
        event = self.world.events.events[-1]
        assert not isinstance(event, ActionRefused)
        assert event.uid == uid
        return result

    # --- principals' requests -----------------------------------------------------------

    @rule(principal=PRINCIPALS, uid=UIDS)
    def start(self, principal: Principal | None, uid: int) -> None:
        expected = self.expected_refusal(principal, uid, "start")
        bdb = self.run(
            lambda: self.use_case("start_export", principal, uid, LOCATION), expected, uid
        )
        if bdb is not None:
            assert bdb.export_status is ExportStatus.EXPORTING
            assert bdb.export_progress == 0
            assert bdb.export_failure_reason is None
            assert bdb.action_uid is not None
            self.last_progress[bdb.action_uid] = 0

    @rule(principal=PRINCIPALS, uid=UIDS)
    def reset(self, principal: Principal | None, uid: int) -> None:
        before = self.view(uid)
        expected = self.expected_refusal(principal, uid, "reset")
        bdb = self.run(lambda: self.use_case("reset_export_status", principal, uid), expected, uid)
        if bdb is not None:
            assert before is not None
            assert before.export_status is not ExportStatus.EXPORTING
            assert bdb.export_status is ExportStatus.IDLE
            assert bdb.export_failure_reason is None
            assert bdb.last_export_time == before.last_export_time

    # --- the export worker's reports ----------------------------------------------------

    def current_action(self, uid: int, stale: bool) -> str:
        bdb = self.view(uid)
        if stale or bdb is None or bdb.action_uid is None:
            return "stale-action"
        return bdb.action_uid

    def worker_expectation(self, uid: int, action_uid: str) -> str | None:
        bdb = self.view(uid)
        if bdb is None:
            return "db_not_exist"
        if bdb.export_status is not ExportStatus.EXPORTING:
            return "invalid_transition"
        if bdb.action_uid != action_uid:
            return "action_mismatch"
        return None

    @rule(uid=UIDS, stale=st.booleans(), progress=st.integers(-5, 105))
    def progress(self, uid: int, stale: bool, progress: int) -> None:
        action = self.current_action(uid, stale)
        expected = self.worker_expectation(uid, action)
        if expected is None:
            current = self.view(uid).export_progress  # type: ignore[union-attr]
            if not current <= progress <= 100:
                expected = "invalid_progress"
        bdb = self.run(
            lambda: self.use_case("record_export_progress", uid, action, progress), expected, uid
        )
        if bdb is not None:
            assert bdb.export_progress == progress
            assert progress >= self.last_progress[action]
            self.last_progress[action] = progress

    @rule(uid=UIDS, stale=st.booleans())
    def succeed(self, uid: int, stale: bool) -> None:
        action = self.current_action(uid, stale)
        expected = self.worker_expectation(uid, action)
        bdb = self.run(lambda: self.use_case("record_export_success", uid, action), expected, uid)
        if bdb is not None:
            assert bdb.export_status is ExportStatus.SUCCEEDED
            assert bdb.export_progress == 100
            assert bdb.last_export_time == self.world.clock.now()
            assert bdb.action_uid is None

    @rule(uid=UIDS, stale=st.booleans(), reason=st.sampled_from(ExportFailureReason))
    def fail(self, uid: int, stale: bool, reason: ExportFailureReason) -> None:
        action = self.current_action(uid, stale)
        expected = self.worker_expectation(uid, action)
        bdb = self.run(
            lambda: self.use_case("record_export_failure", uid, action, reason), expected, uid
        )
        if bdb is not None:
            assert bdb.export_failure_reason is reason
            assert bdb.action_uid is None

    # --- invariants after every step ------------------------------------------------------

    @invariant()
    def stored_bdbs_obey_the_aggregate_rules(self) -> None:
        for bdb in self.world.bdbs.list():
            assert (bdb.export_status is ExportStatus.FAILED) == (
                bdb.export_failure_reason is not None
            )
            assert 0 <= bdb.export_progress <= 100
            if bdb.export_status is ExportStatus.EXPORTING:
                assert bdb.action_uid is not None
            # Revalidating proves the stored record is one the model would accept.
            assert Bdb.model_validate(bdb.model_dump()) == bdb


class AsyncExportLifecycle(ExportLifecycle):
    shell = "async"


# Step counts come from the hypothesis profile (tests/conftest.py); 2.5 times its
# examples: under `ci`, the 250 plans of 30 steps per shell this test always ran.
ExportLifecycle.TestCase.settings = settings(max_examples=examples(2.5))
AsyncExportLifecycle.TestCase.settings = settings(max_examples=examples(2.5))
TestExportLifecycle = ExportLifecycle.TestCase
TestAsyncExportLifecycle = AsyncExportLifecycle.TestCase
