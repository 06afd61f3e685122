"""Random start/progress/succeed/fail/reset calls through the use cases, recorded.

Run in threads (`hammer(...)`) or as a process (`python -m tests.support.hammer URL SEED
OPS OUT`). Each call is recorded with its arguments, whether it succeeded, and the
event it published: `reconcile` then proves from the records alone that no update was
lost and every refusal was right for the state it was decided on.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

from bdbexport.adapters.memory import InMemoryEventLog
from bdbexport.composition import build_service
from bdbexport.composition.stores import Store, open_store
from bdbexport.domain import DomainError, ExportFailureReason, MountPointLocation, Principal

ADMIN = Principal("hammer@example.com", "admin")
LOCATION = MountPointLocation(path="/backups")
UIDS = (1, 2, 3, 4)


def hammer(store: Store, seed: int, operations: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = InMemoryEventLog()
    service = build_service(bdbs=store.bdbs, modules=store.modules, events=events)
    records: list[dict[str, Any]] = []
    for _ in range(operations):
        uid = rng.choice(UIDS)
        op = rng.choice(["start", "progress", "succeed", "fail", "reset", "reset"])
        current = store.bdbs.get(uid)
        action = (current.action_uid if current else None) or "none"
        if rng.random() < 0.1:
            action = "stale-action"
        args: dict[str, Any] = {"action_uid": action}
        try:
            if op == "start":
                service.start_export(ADMIN, uid, LOCATION)
            elif op == "progress":
                base = current.export_progress if current else 0
                args["progress"] = min(100, max(0, base + rng.randint(-5, 30)))
                service.record_export_progress(uid, action, args["progress"])
            elif op == "succeed":
                service.record_export_success(uid, action)
            elif op == "fail":
                args["reason"] = rng.choice(list(ExportFailureReason)).value
                service.record_export_failure(uid, action, ExportFailureReason(args["reason"]))
            else:
                service.reset_export_status(ADMIN, uid)
            ok = True
        except DomainError:
            ok = False
        event = events.events[-1].to_record()
        records.append({"op": op, "uid": uid, "args": args, "ok": ok, "event": event})
    return records


def main() -> None:
    url, seed, operations, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    store = open_store(url)
    records = hammer(store, seed, operations)
    store.close()
    with open(out, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
