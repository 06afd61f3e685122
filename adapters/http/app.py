"""The app factory: a Starlette application over the use cases, mountable anywhere."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bdbexport.domain.errors import DomainError

from .access_log import REQUEST_ID_KEY, LineSink
from .context import HttpContext, parse_uid
from .errors import ProtocolError, error_response
from .openapi import openapi_document
from .operations import OPERATIONS, Operation
from .operator_view import OperatorView
from .permission_first import permission_first
from .request_limits import MAX_BODY_BYTES
from .request_pipeline import RequestPipeline
from .route_table import RouteTable

log = logging.getLogger("bdbexport.http")


def create_app(
    context: HttpContext,
    *,
    access_log: LineSink | None = None,
    max_body: int = MAX_BODY_BYTES,
    version: str = "0",
    on_shutdown: Sequence[Callable[[], None]] = (),
    on_shutdown_async: Sequence[Callable[[], Awaitable[None]]] = (),
    operator: OperatorView | None = None,
    guards: Sequence[Middleware] = (),
) -> Starlette:
    """The REST API of the export family, wired to `context`'s use cases.

    `access_log` receives one JSON line per request (None: no access log).
    `on_shutdown` runs when the server stops (e.g. the export worker pool's grace),
    then `on_shutdown_async` on the loop (closing connections that belong to it).
    `operator` adds /metrics, /healthz, /readyz and /dashboard (docs/operations.md);
    None gives them with their defaults. `guards` are ASGI layers every request
    passes after the request pipeline (so what they refuse is logged, counted and
    carries a request id) and before any route, outermost first.
    """
    operator = operator if operator is not None else OperatorView()
    document = openapi_document(version=version)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    routes = operation_routes()
    api_routes = tuple(routes)  # first in the router: the route table compiles them
    routes.append(Route("/v1/openapi.json", openapi, methods=["GET"], name="openapi"))
    routes.extend(operator.routes())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for callback in on_shutdown:
            callback()
        for closing in on_shutdown_async:
            await closing()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                RequestPipeline,
                access_log=access_log,
                metrics=operator.metrics,
                readiness=operator.readiness,
                readiness_bound=operator.readiness_bound,
                max_body=max_body,
            ),
            *guards,
            Middleware(RouteTable, routes=api_routes, handlers=ERROR_HANDLERS),
        ],
        exception_handlers={**ERROR_HANDLERS, Exception: _unexpected_error},
        lifespan=lifespan,
    )
    # A trailing slash is a 404, not a redirect: Starlette would build the redirect's
    # Location from the Host header, which any client chooses (an open redirect).
    app.router.redirect_slashes = False
    app.state.bdbexport = context
    return app


def _guarded(op: Operation) -> Callable[[Request], Awaitable[Response]]:
    """An action with a body asks the permission before the body is judged (403 first)."""
    if op.permission is None or op.method not in {"POST", "PUT", "PATCH"}:
        return op.endpoint
    return permission_first(op.endpoint, op.permission)


def operation_routes() -> list[Route]:
    """One route per path of `OPERATIONS`: a path with several methods (GET and DELETE
    of an action) is one route dispatching on the method, so a 405 names them all."""
    by_path: dict[str, dict[str, Operation]] = {}
    for op in OPERATIONS:
        by_path.setdefault(op.path, {})[op.method] = op
    routes = []
    for path, methods in by_path.items():
        if len(methods) == 1:
            (op,) = methods.values()
            routes.append(Route(path, _guarded(op), methods=[op.method], name=op.operation_id))
        else:
            routes.append(Route(path, _by_method(methods), methods=list(methods)))
    return routes


def _by_method(methods: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await _guarded(methods[method])(request)

    return dispatch


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    description = exc.description
    raw_uid = request.path_params.get("uid", request.path_params.get("bdb_uid"))
    if exc.code == "db_not_exist" and raw_uid is not None and parse_uid(raw_uid) == 0:
        # The domain saw "no such uid"; the client should see the uid it sent.
        description = f"Database {raw_uid!r} does not exist: uids are positive 64-bit integers."
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error_response(exc.code, description, retryable=exc.retryable, headers=headers)


async def _protocol_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProtocolError)
    return error_response(exc.code, exc.description)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response("not_found", f"No such path: {request.url.path}.")
    if exc.status_code == 405:
        # Starlette builds Allow from a set; sorted, it reads the same every time.
        methods = (exc.headers or {}).get("Allow", "").split(",")
        allowed = ", ".join(sorted(method.strip() for method in methods if method.strip()))
        return error_response(
            "method_not_allowed",
            f"Method {request.method} is not allowed here; allowed: {allowed}.",
            headers={"Allow": allowed},
        )
    # Any other protocol error Starlette raises keeps its status; the code is generic.
    return error_response("invalid_request", exc.detail, status=exc.status_code)


ERROR_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    DomainError: _domain_error,
    ProtocolError: _protocol_error,
    HTTPException: _http_error,
}
"""The answers to the errors a route raises, for Starlette's handlers and the route
table alike (an unexpected error is `_unexpected_error`'s, at the outermost layer)."""


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get(REQUEST_ID_KEY, "unknown")
    log.error("unexpected error in request %s", request_id, exc_info=exc)
    # This response leaves through Starlette's outermost middleware, around the request
    # pipeline's, so it carries its request id itself.
    return error_response(
        "internal_error",
        f"An unexpected error occurred; quote request id {request_id} to the operator.",
        headers={"X-Request-Id": request_id},
    )
