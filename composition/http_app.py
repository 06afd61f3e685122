"""The HTTP app, wired: the one builder `serve`, the tests and embedders use.

`build_http_app(application, ...)` takes an `Application` (`bootstrap(...,
with_async=True)`) and adds everything the REST API needs around it: the
authenticator (its failed sign-ins counted in the store's `LoginAttempts`, its events
on the application's bus, throttled attempts summarized), the metrics (fed by the bus
and the worker pool) and the operators' view, the location checks run off the event
loop, the access log, the request guards, and what the edge rules report to. What
differs between `serve`, a test and an embedder is a keyword here, never a second
wiring: `serve` adds the edge rules, granian and the scheduler around the same app
(entrypoints/server.py), a test passes an in-memory `LoginAttempts` and records
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
from bdbexport.adapters.http.edge_rules import EdgeObservers
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
    """Where an HTTP edge in front of the app tells its refusals (`serve`'s edge
    rules): the same access log and metrics as the app's requests."""


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
    `guards`: None gives `request_guards(allowed_origins=...)`.
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
    edge = EdgeObservers(access_log, metrics.record_edge_refusal)
    return HttpApp(
        app=app, authenticator=authenticator, metrics=metrics, context=context, edge=edge
    )
