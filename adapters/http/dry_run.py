"""`?dry_run=true` on the action endpoints: the decision, with every reason, and nothing
done.

Redis Software offers `dry_run` on several endpoints; here it answers what the same
request would get — the same status (200, or the 4xx of the first failed check) — with
the rules engine's whole decision as the body: every check, passed, failed or skipped.
A refusal's body also carries `error_code` and `description` at the top, so a client
that reads error objects reads this one too. The body is validated and authentication
checked exactly as for the real call; the store is read, never written.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bdbexport.domain.actions import Action
from bdbexport.domain.decision import Decision
from bdbexport.domain.principal import Principal

from .context import context_of, parse_uid
from .errors import ProtocolError, error_response

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def dry_run_requested(request: Request) -> bool:
    """Whether the request asks for a dry run. Only `true`/`1` and `false`/`0` are
    answers: anything else — empty, bare, repeated, another word — is a 400, so a client
    that meant to ask for a dry run never gets the real action by a typo."""
    if not request.scope["query_string"]:
        return False  # no query: nothing to parse (the common call)
    values = request.query_params.getlist("dry_run")
    if not values:
        return False
    if len(values) == 1 and values[0].lower() in _TRUE:
        return True
    if len(values) == 1 and values[0].lower() in _FALSE:
        return False
    raise ProtocolError("invalid_request", "dry_run must be given once, as true or false.")


async def dry_run_response(
    request: Request, principal: Principal | None, action: Action
) -> Response:
    """The decision `action` would meet on the uid the path names, as the response."""
    uid = parse_uid(request.path_params["uid"])
    decision = await context_of(request).service.evaluate(principal, action, uid)
    return decision_response(decision)


def decision_response(decision: Decision) -> Response:
    body: dict[str, Any] = {"dry_run": True, **decision.to_dict()}
    if decision.error is None:
        return JSONResponse(body)
    refused = error_response(
        decision.error.code, decision.error.description, retryable=decision.error.retryable
    )
    return JSONResponse(
        {**decision.error.as_dict(), **body},
        status_code=refused.status_code,
        headers={
            name: value
            for name, value in refused.headers.items()
            if name.lower() in {"retry-after", "www-authenticate"}
        },
    )
