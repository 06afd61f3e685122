"""Who may ask, before what they ask: a role lacking an action's permission gets 403
before its body is read or judged.

The use cases check the permission first too, but an endpoint reads its body before
it calls them, so a viewer's malformed export request used to be a 400 that told the
viewer how its body was judged. This wrapper authenticates (the endpoint reuses the
result), asks the same policy, and refuses at once. Dry runs are left to the
endpoint: their answer is the whole decision, with the failed permission in it. A
request without a body goes straight to the endpoint (the use case checks first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from bdbexport.domain.errors import ForbiddenError

from .context import body_headers, context_of, principal_of
from .dry_run import dry_run_requested

Endpoint = Callable[[Request], Awaitable[Response]]


def permission_first(endpoint: Endpoint, permission: str) -> Endpoint:
    async def guarded(request: Request) -> Response:
        if (
            _has_body(request)
            and (permits := context_of(request).permits) is not None
            and not dry_run_requested(request)
        ):
            principal = await principal_of(request)
            if principal is not None and not permits(principal, permission):
                raise ForbiddenError(principal.role, permission)
        return await endpoint(request)

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    guarded.__doc__ = endpoint.__doc__
    return guarded


def _has_body(request: Request) -> bool:
    """Whether a body is announced: without one there is nothing to judge first (and the
    common bodiless reset pays for one scan of the raw headers, nothing more)."""
    return body_headers(request.scope["headers"])[1]
