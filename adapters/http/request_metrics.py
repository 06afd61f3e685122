"""Request counts and latencies by route TEMPLATE, as one pure ASGI middleware.

The route label is the template Starlette matched (`/v1/bdbs/{uid}`), never the raw
path: a client sending a million different paths adds no series. A path no route
matches is `unmatched`, a method outside HTTP's usual set is `other`.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .loop_histogram import LoopCounterChild, LoopHistogramChild
from .metrics import ServerMetrics

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
UNMATCHED = "unmatched"


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # prometheus_client's labels() costs more than the observation itself; the
        # children of each (method, route, status) are looked up once (a bounded set).
        self._children: dict[tuple[str, str, int], tuple[LoopCounterChild, LoopHistogramChild]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.record(scope, status, time.perf_counter() - started)

    def record(self, scope: Scope, status: int, seconds: float) -> None:
        """Counts one answered request (`RequestPipeline` calls it too)."""
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        # The router writes the matched route into the (shared) scope.
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = {"method": method, "route": route, "status": str(status)}
            children = self._children[key] = (
                self.metrics.requests.labels(**labels),
                self.metrics.request_duration.labels(**labels),
            )
        children[0].inc()
        children[1].observe(seconds)
