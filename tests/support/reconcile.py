"""Proofs over hammer records: no lost update, the final state is the replay of every
committed change, and every refusal was legitimate for the revision it was decided on."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from bdbexport.domain import Bdb


@dataclass(frozen=True)
class Snapshot:
    status: str = "idle"
    progress: int = 0
    reason: str | None = None
    action: str | None = None


def apply(state: Snapshot, event: dict[str, Any]) -> Snapshot:
    kind = event["event"]
    if kind == "ExportStarted":
        return Snapshot("exporting", 0, None, event["action_uid"])
    if kind == "ExportProgressed":
        return replace(state, progress=event["progress"])
    if kind == "ExportLeaseRenewed":
        return state
    if kind == "ExportSucceeded":
        return Snapshot("succeeded", 100, None, None)
    if kind == "ExportFailed":
        return replace(state, status="failed", reason=event["reason"], action=None)
    if kind == "ExportStatusReset":
        return Snapshot("idle", 0, None, None)
    raise AssertionError(f"unexpected change event {kind}")


def expected_refusal(record: dict[str, Any], state: Snapshot) -> set[str]:
    """The codes the rules allow for this call on this state."""
    op, args = record["op"], record["args"]
    if op == "start":
        return {"busy"} if state.action else set()
    if op == "reset":
        return {"export_in_progress"} if state.status == "exporting" else set()
    if state.status != "exporting":
        return {"invalid_transition"}
    if args["action_uid"] != state.action:
        return {"action_mismatch"}
    if op == "progress" and not state.progress <= args["progress"] <= 100:
        return {"invalid_progress"}
    return set()


def reconcile(records: list[dict[str, Any]], final: dict[int, Bdb]) -> dict[str, int]:
    changes: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    counts = {"calls": len(records), "changes": 0, "refusals": 0, "no_ops": 0, "conflicts": 0}
    for record in records:
        event = record["event"]
        if record["ok"] and event["revision"] is not None:
            revisions = changes[record["uid"]]
            assert event["revision"] not in revisions, f"revision committed twice: {event}"
            revisions[event["revision"]] = event
            counts["changes"] += 1
        elif record["ok"]:
            counts["no_ops"] += 1
    for uid, bdb in final.items():
        revisions = changes[uid]
        assert sorted(revisions) == list(range(1, bdb.revision + 1)), (
            f"bdb {uid}: a committed change is missing (lost update)"
        )
        history = [Snapshot()]
        for revision in range(1, bdb.revision + 1):
            history.append(apply(history[-1], revisions[revision]))
        end = history[-1]
        assert (end.status, end.progress, end.reason, end.action) == (
            bdb.export_status.value,
            bdb.export_progress,
            None if bdb.export_failure_reason is None else bdb.export_failure_reason.value,
            bdb.action_uid,
        ), f"bdb {uid}: the stored state is not the replay of its changes"
        for record in records:
            if record["uid"] != uid or record["ok"]:
                continue
            event = record["event"]
            if event["error_code"] == "concurrent_update":
                counts["conflicts"] += 1
                continue
            state = history[event["revision"]]
            assert event["error_code"] in expected_refusal(record, state), (
                f"refusal {event['error_code']} of {record} was not legitimate at"
                f" revision {event['revision']}: {state}"
            )
            counts["refusals"] += 1
    return counts
