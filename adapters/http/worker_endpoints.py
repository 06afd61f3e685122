"""`GET /v1/workers`: the workers running actions apart from the API, and the queue
they share (docs/workers.md).

Both are read from the store, so every replica answers the same: each worker's id,
host, pid, concurrency, last heartbeat and the actions it holds; the queue's depth by
kind, its running count and its counters (claims, retries, lapsed leases, releases,
completions). A server that runs its actions in-process has no queue: the answer says
so with empty `workers` and a null `queue`. The store is read on a worker thread, never
on the event loop.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bdbexport.domain.errors import ForbiddenError, UnauthenticatedError
from bdbexport.domain.permissions import Permission, RoleTablePolicy
from bdbexport.domain.work_queue import QueueStats, WorkerInfo

from .context import context_of, principal_of

PERMISSION = Permission.VIEW_STATUS_OF_CLUSTER_ACTION


async def list_workers(request: Request) -> Response:
    context = context_of(request)
    principal = await principal_of(request, context)
    if principal is None:
        raise UnauthenticatedError()
    permits = context.permits or RoleTablePolicy().permits
    if not permits(principal, PERMISSION):
        raise ForbiddenError(principal.role, PERMISSION)
    queue = context.work_queue
    if queue is None:
        return JSONResponse({"workers": [], "queue": None})
    workers, stats = await run_in_threadpool(lambda: (queue.workers(), queue.stats()))
    return JSONResponse({"workers": [_worker(info) for info in workers], "queue": _queue(stats)})


def _worker(info: WorkerInfo) -> dict[str, object]:
    return {
        "id": info.worker,
        "host": info.host,
        "pid": info.pid,
        "concurrency": info.concurrency,
        "heartbeat": info.heartbeat.isoformat().replace("+00:00", "Z"),
        "running": list(info.running),
    }


def _queue(stats: QueueStats) -> dict[str, object]:
    return {"queued": stats.queued, "running": stats.running, "counters": stats.counters}
