"""What an action's queue item carries, so a worker elsewhere can run it.

The payload is JSON: the location (credentials included: the worker needs them, and
the queue lives in the store, which already holds the databases' own passwords), and
the `notify` and `flush` options of the start. Encoded by whoever enqueues (the API,
the scheduler), decoded by the worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, TypeAdapter

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.work_queue import Work

_LOCATION: TypeAdapter[ExportLocation] = TypeAdapter(ExportLocation)


@dataclass(frozen=True)
class Job:
    """A decoded queue item: what the worker needs besides the bdb itself."""

    kind: ActionKind
    bdb_uid: int
    action_uid: str
    location: ExportLocation
    notify: bool = False
    flush: bool = False


def _revealed(value: object) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode(job: Job) -> Work:
    """The queue item for `job`."""
    payload = {
        "location": job.location.model_dump(),
        "notify": job.notify,
        "flush": job.flush,
    }
    return Work(job.action_uid, job.kind.value, job.bdb_uid, json.dumps(payload, default=_revealed))


def decode(work: Work) -> Job:
    """The job a queue item carries; `ValueError` when it cannot be read."""
    payload = json.loads(work.payload)
    return Job(
        ActionKind(work.kind),
        work.bdb_uid,
        work.action_uid,
        _LOCATION.validate_python(payload["location"]),
        bool(payload.get("notify", False)),
        bool(payload.get("flush", False)),
    )
