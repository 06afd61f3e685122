"""What every request goes through before its route, as ONE pure ASGI layer.

Health probes, the request id and access log, the request metrics and the request
limits were four nested middlewares: four coroutine frames and three `send` wrappers
per request, each re-reading the scope (docs/performance.md: the profile). This layer
does the same work in the same order with one frame and one `send` wrapper; the four
classes stay the parts it calls, each still usable alone.

The order is the one the layers had, outermost first:

1. `/healthz` and `/readyz` are answered here and never logged or counted;
2. the request id is chosen and put in the scope (routes and error handlers quote it);
3. the request limits refuse on headers alone, or count the body as it arrives;
4. once answered (or failed: an exception is counted and logged as 500, then
   propagates to Starlette's server-error handler), one access line and one metrics
   observation with the same status and duration.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .access_log import REQUEST_ID_HEADER, AccessLogMiddleware, LineSink
from .health import DEFAULT_READY_BOUND, PROBE_PATHS, HealthEndpoints, ReadinessProbe
from .metrics import ServerMetrics
from .request_limits import MAX_BODY_BYTES, RequestLimitsMiddleware
from .request_metrics import RequestMetricsMiddleware


class RequestPipeline:
    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: LineSink | None,
        metrics: ServerMetrics,
        readiness: ReadinessProbe | None = None,
        readiness_bound: float = DEFAULT_READY_BOUND,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.health = HealthEndpoints(app, probe=readiness, bound=readiness_bound)
        self.access = AccessLogMiddleware(app, sink=access_log)
        self.limits = RequestLimitsMiddleware(app, max_body=max_body)
        self.metrics = RequestMetricsMiddleware(app, metrics=metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):  # mounted under a prefix (docs/embedding.md)
            path = path[len(root) :]
            if path in PROBE_PATHS:
                await self.health.answer({**scope, "path": path}, send)
                return
        if path in PROBE_PATHS:
            await self.health.answer(scope, send)
            return
        request_id = self.access.request_id_for(scope)
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # The message is built for this send; the header list may be a
                # response's own (`raw_headers`), so it is copied, not appended to.
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            refusal = self.limits.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
            else:
                await self.app(scope, self.limits.counted(receive), send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self.access.record(scope, request_id, status, seconds)
            self.metrics.record(scope, status, seconds)
