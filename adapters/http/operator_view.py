"""What operators get beside the API: `/metrics`, `/healthz`, `/readyz`, `/dashboard`.

`create_app` takes one `OperatorView`, adds its routes, and hands its metrics and
readiness probe to the request pipeline (health probes, request metrics);
the server's wiring fills it (the metrics the composition root feeds, the store's
readiness probe, who may scrape), an embedder may leave it out and still gets the
health endpoints, request metrics and the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from prometheus_client import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bdbexport.domain.errors import ForbiddenError, UnauthenticatedError
from bdbexport.domain.permissions import Permission, RoleTablePolicy
from bdbexport.domain.ports import PermissionPolicy

from .context import principal_of
from .dashboard_page import dashboard_routes
from .health import DEFAULT_READY_BOUND, ReadinessProbe
from .metrics import ServerMetrics

METRICS_PATH = "/metrics"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""What `generate_latest` writes is the classic text format, 0.0.4; said so, rather than
`prometheus_client`'s `CONTENT_TYPE_LATEST` (`version=1.0.0` since 0.22, announcing the
escaping of UTF-8 names that this server's names never need). Every Prometheus reads it."""
METRICS_PERMISSION = Permission.VIEW_ALL_BDBS_INFO
"""Who may scrape when credentials are needed: whoever may see every bdb's status,
which is what the action metrics summarise."""


class MetricsAccess(StrEnum):
    OPEN = "open"
    """Anyone who reaches the port: the default on a loopback address."""
    AUTHENTICATED = "authenticated"
    """Basic or JWT credentials of a user with `view_all_bdbs_info`: the default
    elsewhere, and for an app built without saying."""


@dataclass(frozen=True)
class OperatorView:
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    metrics_access: MetricsAccess = MetricsAccess.AUTHENTICATED
    readiness: ReadinessProbe | None = None
    """None: `/readyz` answers ready as soon as the process serves."""
    readiness_bound: float = DEFAULT_READY_BOUND
    policy: PermissionPolicy = field(default_factory=RoleTablePolicy)
    """Decides who may scrape `/metrics`: the built-in role table by default, the one
    the server's use cases decide with too."""

    def routes(self) -> list[Route]:
        return [
            Route(METRICS_PATH, self._metrics, methods=["GET"], name="metrics"),
            *dashboard_routes(),
        ]

    async def _metrics(self, request: Request) -> Response:
        if self.metrics_access is MetricsAccess.AUTHENTICATED:
            principal = await principal_of(request)
            if principal is None:
                raise UnauthenticatedError()
            if not self.policy.permits(principal, METRICS_PERMISSION):
                raise ForbiddenError(principal.role, METRICS_PERMISSION)
        self.metrics.refresh()
        return Response(
            generate_latest(self.metrics.registry),
            media_type=METRICS_CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )
