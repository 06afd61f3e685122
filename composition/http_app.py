"""The HTTP app, wired: the one builder `serve`, the tests and embedders use.

`build_http_app(application, ...)` takes an `Application` (`bootstrap(...,
with_async=True)`) and adds everything the REST API needs around it: the
authenticator (its failed sign-ins counted in the store's `LoginAttempts`, its events
on the application's bus, throttled attempts summarized), the metrics (fed by the bus
and the worker pool) and the operators' view, the location checks run off the event
loop, the access log, the request guards, and the edge rules outermost (body and
write deadlines, requests in flight per client address, a trusted proxy's
`X-Forwarded-For`: `EdgeSettings`), which report to the same access log and metrics.
What differs between `serve`, a test and an embedder is a keyword here, never a second
wiring: `serve` passes its edge settings and runs the app on granian with the
scheduler beside it (entrypoints/server.py), a test passes an in-memory `LoginAttempts` and records
launches instead of running them, an embedder mounts `HttpApp.app` under its own
Starlette or ASGI application (docs/embedding.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware

from bdbexport.adapters.audit.throttle_summary import DEFAULT_SUMMARY_INTERVAL, ThrottleSummaries
from bdbexport.adapters.http import Authenticator, HttpContext, create_app
from bdbexport.adapters.http.access_log import LineSink
from bdbexport.adapters.http.authentication import AuthSettings
from bdbexport.adapters.http.context import LaunchAction
from bdbexport.adapters.http.cross_site import CrossSiteRefusal
from bdbexport.adapters.http.edge_rules import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_REQUESTS_PER_ADDRESS,
    DEFAULT_WRITE_TIMEOUT,
    EdgeObservers,
    EdgeRules,
)
from bdbexport.adapters.http.forwarded import TrustedForwardedFor
from bdbexport.adapters.http.metrics import ServerMetrics
from bdbexport.adapters.http.operator_view import MetricsAccess
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.auth.ports import AsyncLoginAttempts
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.ports import PermissionPolicy
from bdbexport.domain.work_queue import WorkQueue

from .application import Application
from .login_attempts import open_async_login_attempts
from .observability import operator_view, subscribe_metrics
from .off_loop import OffLoop
from .readiness import open_readiness_probe


@dataclass
class HttpApp:
    """The ASGI app and the parts a caller may want to reach."""

    app: Starlette
    """Mount it, or serve it: Starlette's app, with its lifespan (run it: the shutdown
    stops the workers and closes the store's connections)."""
    authenticator: Authenticator
    metrics: ServerMetrics
    context: HttpContext
    edge: EdgeObservers = field(default_factory=EdgeObservers)
    """Where the edge rules tell their refusals (those `app` applies, or an edge an
    embedder puts in front): the same access log and metrics as the app's requests."""


@dataclass(frozen=True)
class EdgeSettings:
    """The app's edge rules (adapters/http/edge_rules.py, forwarded.py); the defaults are
    `serve`'s. The protocol's own limits (header deadline and size) are the server's."""

    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds a request may wait for its body to arrive (then 408)."""
    write_timeout: float = DEFAULT_WRITE_TIMEOUT
    """Seconds a response may wait for the client to take it (then abandoned)."""
    max_requests_per_address: int = DEFAULT_MAX_REQUESTS_PER_ADDRESS
    """Requests in flight per client address (then 429); 0: no cap."""
    forwarded_allow_ips: frozenset[str] = frozenset()
    """Proxies whose `X-Forwarded-For` names the client (none by default)."""


DEFAULT_EDGE = EdgeSettings()
"""`serve`'s edge rules with its defaults."""


def apply_edge(app: Starlette, settings: EdgeSettings, observers: EdgeObservers) -> None:
    """Put the edge rules outermost in `app`'s middleware (inside only Starlette's
    last-resort error layer), the trusted proxy's client address first, so the in-flight
    cap and the access log count the real client."""
    app.add_middleware(
        EdgeRules,
        body_timeout=settings.body_timeout,
        write_timeout=settings.write_timeout,
        max_requests_per_address=settings.max_requests_per_address,
        observers=observers,
    )
    if settings.forwarded_allow_ips:
        app.add_middleware(TrustedForwardedFor, trusted=settings.forwarded_allow_ips)


def request_guards(*, allowed_origins: Sequence[str] = ()) -> list[Middleware]:
    """The layers every request passes after the request pipeline and before its route
    (outermost first): add a guard here and every app this module builds has it. Today
    the cross-site request check (`allowed_origins`: the browser origins whose
    cross-site requests may change things, `serve --allowed-origin`)."""
    return [Middleware(CrossSiteRefusal, allowed=allowed_origins)]


def build_http_app(
    application: Application,
    *,
    attempts: AsyncLoginAttempts | None = None,
    auth: AuthSettings | None = None,
    metrics: ServerMetrics | None = None,
    access_log: LineSink | None = None,
    metrics_access: MetricsAccess = MetricsAccess.AUTHENTICATED,
    policy: PermissionPolicy | None = None,
    version: str = "0",
    launch: LaunchAction | None = None,
    on_shutdown: Sequence[Callable[[], None]] | None = None,
    throttle_summary_interval: float = DEFAULT_SUMMARY_INTERVAL,
    guards: Sequence[Middleware] | None = None,
    allowed_origins: Sequence[str] = (),
    check_location: Callable[[ExportLocation, ActionKind], None] | None = None,
    location_check_threads: int = 4,
    work_queue: WorkQueue | None = None,
    edge: EdgeSettings | None = DEFAULT_EDGE,
) -> HttpApp:
    """The REST API over `application` (built `with_async=True`).

    `attempts` counts failed sign-ins (None: in the store, through its URL, so replicas
    share locks); `auth` sets lockout, throttling, tokens and the KDF. `metrics` is the
    `ServerMetrics` the store was instrumented with (None: new ones). `policy` must be
    the one the use cases apply (None: the built-in roles). `launch` hands started
    actions to a runner (None: the application's worker pool). `on_shutdown` runs when
    the app's lifespan ends (None: `application.close`). `check_location` replaces the
    application's start-time location check (tests that judge types only). `work_queue`
    is the queue workers apart from the API claim from (`GET /v1/workers` reads it).
    `guards`: None gives `request_guards(allowed_origins=...)`. `edge`: the edge rules
    the app applies (`serve`'s defaults); None: none (an embedder whose own edge does).
    """
    if application.async_service is None or application.async_store is None:
        raise ValueError("build_http_app needs an application built with_async=True")
    policy = policy if policy is not None else RoleTablePolicy()
    metrics = metrics if metrics is not None else ServerMetrics()
    subscribe_metrics(application.bus, metrics, workers_busy=application.pool.running)
    closers: list[Callable[[], Awaitable[None]]] = [application.aclose]
    if attempts is None:
        attempts, close_attempts = open_async_login_attempts(application.store.url)
        closers.append(close_attempts)
    summaries = ThrottleSummaries(application.bus.publish, interval=throttle_summary_interval)
    authenticator = Authenticator(
        application.async_store.users,
        attempts=attempts,
        token_key=application.store.secret("jwt"),
        settings=auth if auth is not None else AuthSettings(),
        publish=summaries.publish,
    )
    authenticator.prepare()
    checks = OffLoop(threads=location_check_threads, name="bdbexport-location-check")
    sync_check = check_location if check_location is not None else application.check_location

    async def check_off_loop(location: ExportLocation, kind: ActionKind) -> None:
        await checks.run(lambda: sync_check(location, kind))

    context = HttpContext(
        service=application.async_service,
        authenticator=authenticator,
        launch=launch if launch is not None else application.pool.submit,
        check_location=check_off_loop,
        work_queue=work_queue,
        permits=policy.permits,
    )
    operator = operator_view(
        metrics, async_store=application.async_store, access=metrics_access, policy=policy
    )
    # /readyz checks what serving needs: the schema or data present, a write going through.
    readiness, close_readiness = open_readiness_probe(
        application.store.url, reads=operator.readiness
    )
    operator = dataclasses.replace(operator, readiness=readiness)
    closers.append(close_readiness)
    app = create_app(
        context,
        access_log=access_log,
        version=version,
        on_shutdown=[
            summaries.close,
            *(on_shutdown if on_shutdown is not None else [application.close]),
        ],
        on_shutdown_async=closers,
        operator=operator,
        guards=guards if guards is not None else request_guards(allowed_origins=allowed_origins),
    )
    observers = EdgeObservers(access_log, metrics.record_edge_refusal)
    if edge is not None:
        apply_edge(app, edge, observers)
    return HttpApp(
        app=app, authenticator=authenticator, metrics=metrics, context=context, edge=observers
    )
