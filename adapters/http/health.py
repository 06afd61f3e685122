"""`GET /healthz` and `GET /readyz`, answered before anything else sees the request.

A probe every few seconds from a load balancer or an orchestrator is noise in the
access log and in the request metrics, and must never wait behind authentication or
the body limits: this pure ASGI middleware is placed outermost and answers the two
paths itself, so the access log, the metrics and the routes never see them.

- `/healthz`: the process is alive and its event loop turns (always 200).
- `/readyz`: the store can serve, checked within `bound` seconds (200), else 503
  with the usual error body and the reason; an orchestrator stops sending traffic to
  a replica that cannot use its store, and sends it again once it can. What "can
  serve" means is the store's to say (`ReadinessProbe`): its schema or data present
  and a write going through (issue 22, finding 11: reading one row said "ready" for
  a deleted, immutable or full store and after a `FLUSHALL`).

Both are unauthenticated and tell nothing an attacker could use: no address, no
version, no file name. A probe's `StoreUnavailableError` says which need failed
("the store's disk is full") in words that name nothing; any other error is logged
and answered as "cannot be reached".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from bdbexport.domain.errors import StoreUnavailableError

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
PROBE_PATHS = frozenset({HEALTH_PATH, READY_PATH})
DEFAULT_READY_BOUND = 1.0

ReadinessProbe = Callable[[], Awaitable[object]]
"""Checks that the store can serve; raises (`StoreUnavailableError` with the reason,
naming no file, host or port) or takes too long when it cannot."""

log = logging.getLogger("bdbexport.http")


class HealthEndpoints:
    def __init__(
        self,
        app: ASGIApp,
        *,
        probe: ReadinessProbe | None,
        bound: float = DEFAULT_READY_BOUND,
    ) -> None:
        self.app = app
        self.probe = probe
        self.bound = bound

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path not in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        await self.answer(scope, send)

    async def answer(self, scope: Scope, send: Send) -> None:
        """Answers a request for one of `PROBE_PATHS` (`RequestPipeline` calls it too)."""
        path = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            body = {
                "error_code": "method_not_allowed",
                "description": f"Method {scope['method']} is not allowed here; allowed: GET, HEAD.",
            }
            await _answer(send, scope, 405, body, extra=[(b"allow", b"GET, HEAD")])
            return
        if path == HEALTH_PATH:
            await _answer(send, scope, 200, {"status": "alive"})
            return
        failure = await self._readiness_failure()
        if failure is None:
            await _answer(send, scope, 200, {"status": "ready"})
        else:
            await _answer(
                send,
                scope,
                503,
                {"error_code": "store_unavailable", "description": failure},
                extra=[(b"retry-after", b"1")],
            )

    async def _readiness_failure(self) -> str | None:
        if self.probe is None:
            return None
        try:
            await asyncio.wait_for(self.probe(), timeout=self.bound)
        except TimeoutError:
            return f"The store did not answer within {self.bound:g} s."
        except StoreUnavailableError as error:
            log.warning("readiness probe failed: %s", error.detail)
            return error.description
        except Exception as error:
            # The cause goes to the server's log, never to an unauthenticated caller.
            log.warning("readiness probe failed: %s", type(error).__name__)
            return "The store cannot be reached."
        return None


async def _answer(
    send: Send,
    scope: Scope,
    status: int,
    body: dict[str, str],
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    encoded = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(encoded)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(
        {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else encoded}
    )
