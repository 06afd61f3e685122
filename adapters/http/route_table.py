"""The API's routes as a table compiled at start-up, in front of Starlette's router.

Starlette finds a route by trying each route's regular expression in turn, then runs
the endpoint inside two exception-handling layers (the app's `ExceptionMiddleware`
and the route's own), each with its `Request` and its `send` wrapper. For the API's
operations this layer does the same in one step: the path's segments are looked up
in dicts built once from the route templates, the endpoint is awaited, and an
exception is answered by the same handlers, once.

It answers only what it can answer exactly as the router would; everything else
(another method on a known path, an unknown path, a mounted app, a path ending in a
newline) goes down to Starlette's `ExceptionMiddleware` and router unchanged, so the
404 and 405 answers, HEAD, and the routes after the API's (OpenAPI document, operator
view) are Starlette's. A request it answers sees what the router gives: `route`,
`endpoint`, `path_params` and `router` in the scope (the request metrics read the
route's template from it).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]

_PARAMETER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::str)?\}")
"""A whole path segment that is a parameter with Starlette's default `str` convertor
(one or more characters, no `/`): the only kind the table compiles."""


@dataclass(frozen=True)
class _Entry:
    order: int
    """The route's place in the router: of two templates a path fits, the first wins."""
    route: Route
    endpoint: Endpoint
    methods: frozenset[str] | None
    parameters: tuple[tuple[str, int], ...]
    """Each parameter's name and the index of its segment."""


@dataclass(frozen=True)
class _Shape:
    """The templates of one segment count with literals at the same positions: a path
    of that count is looked up by its segments at those positions."""

    literals_of: Callable[[list[str]], Any]
    entries: dict[Any, _Entry]


class RouteTable:
    """An ASGI layer answering the routes `routes` names, which must be the first of
    the router's, in its order; `handlers` are the app's exception handlers (by
    class, not `Exception`: an unexpected error goes on up to Starlette's
    server-error handler, as from the router)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[Route],
        handlers: Mapping[type[Exception], Handler],
    ) -> None:
        self.app = app
        self._handlers = dict(handlers)
        for handler in self._handlers.values():
            assert inspect.iscoroutinefunction(handler), "handlers are awaited"
        self._shapes: dict[int, tuple[_Shape, ...]] = _compile(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.match(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        entry, path_params = found
        scope["router"] = scope["app"].router
        scope["route"] = entry.route
        scope["endpoint"] = entry.endpoint
        scope["path_params"] = path_params
        request = Request(scope, receive, send)
        try:
            response = await entry.endpoint(request)
        except Exception as error:
            handler = self._handler_of(error)
            if handler is None:
                raise
            response = await handler(request, error)
            error.__traceback__ = None  # a reused exception would pile up tracebacks
        try:
            await response(scope, receive, send)
        except Exception as error:
            if self._handler_of(error) is None:
                raise
            # As Starlette says it: our responses send their status line first, so
            # an error while sending comes after it, too late for a handler.
            raise RuntimeError("Caught handled exception, but response already started.") from error

    def match(self, scope: Scope) -> tuple[_Entry, dict[str, Any]] | None:
        """The route the router would run for this request and its path parameters,
        when the table can tell; None leaves the request to the router."""
        path: str = scope["path"]
        if scope.get("root_path") or "//" in path or path.endswith(("/", "\n")):
            # Mounted under a prefix: the router strips it. An empty segment: no
            # parameter matches it (so every one is filled below). A final newline:
            # the router's patterns end in `$`, which also matches before it.
            return None
        segments = path.split("/")
        best: _Entry | None = None
        for shape in self._shapes.get(len(segments), ()):
            entry = shape.entries.get(shape.literals_of(segments))
            if entry is not None and (best is None or entry.order < best.order):
                best = entry
        if best is None or (best.methods is not None and scope["method"] not in best.methods):
            return None  # no route, or another method: the router answers (404, 405)
        return best, {name: segments[index] for name, index in best.parameters}

    def _handler_of(self, error: Exception) -> Handler | None:
        for cls in type(error).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None


def _compile(routes: Sequence[Route]) -> dict[int, tuple[_Shape, ...]]:
    """The shapes by segment count; only the leading routes the table can match
    exactly are compiled (a later one could be shadowed by one it skipped)."""
    grouped: dict[tuple[int, tuple[int, ...]], dict[Any, _Entry]] = {}
    for order, route in enumerate(routes):
        compiled = _template(route)
        if compiled is None:
            break
        literals, parameters, count = compiled
        positions = tuple(sorted(literals))
        entries = grouped.setdefault((count, positions), {})
        entry = _Entry(
            order=order,
            route=route,
            endpoint=route.endpoint,
            methods=frozenset(route.methods) if route.methods is not None else None,
            parameters=parameters,
        )
        key = itemgetter(*positions)([literals.get(i, "") for i in range(count)])
        entries.setdefault(key, entry)
    shapes: dict[int, list[_Shape]] = {}
    for (count, positions), entries in grouped.items():
        shapes.setdefault(count, []).append(_Shape(itemgetter(*positions), entries))
    return {count: tuple(found) for count, found in shapes.items()}


def _template(route: Route) -> tuple[dict[int, str], tuple[tuple[str, int], ...], int] | None:
    """A route's literal segments by index, its parameters and its segment count; None
    when the table cannot match it exactly (not a plain `Route` of an async function,
    a parameter inside a segment or with another convertor)."""
    if type(route) is not Route or not inspect.iscoroutinefunction(route.endpoint):
        return None
    literals: dict[int, str] = {}
    parameters: list[tuple[str, int]] = []
    segments = route.path.split("/")
    for index, segment in enumerate(segments):
        parameter = _PARAMETER.fullmatch(segment)
        if parameter is not None:
            parameters.append((parameter.group(1), index))
        elif "{" in segment or "}" in segment:
            return None
        else:
            literals[index] = segment
    if {name for name, _ in parameters} != set(route.param_convertors):
        return None
    return literals, tuple(parameters), len(segments)
