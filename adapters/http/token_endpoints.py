"""`POST /v1/users/authorize`: trade credentials for a JWT, as Redis Software does;
`POST /v1/users/unlock`: an admin lifts a sign-in lock.

A token traded for a new one (`Authorization: JWT <t>`) keeps the time of the
password sign-in it descends from: no chain of renewals outlives the token lifetime
counted from that sign-in (docs/http-api.md, "Tokens").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bdbexport.domain.errors import ForbiddenError, UnauthenticatedError
from bdbexport.domain.permissions import Role

from .access_log import PRINCIPAL_KEY
from .context import caller_of, context_of, json_object_body, principal_of
from .errors import ProtocolError
from .family_endpoints import describe_validation
from .proofs import Authenticated
from .schemas import TokenRequest, TokenResponse


class UnlockRequest(BaseModel):
    """`POST /v1/users/unlock`: whose lock to lift."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=254, strict=True)


class UnlockResponse(BaseModel):
    email: str
    was_locked: bool


UNLOCK_PERMISSION = "unlock_user"
"""Held by the `admin` role only: lifting a lock undoes a brute-force defence."""


async def authorize(request: Request) -> Response:
    """Credentials come as Basic auth or as `username`/`password` in the body."""
    authenticator = context_of(request).authenticator
    caller = caller_of(request)
    header = request.headers.get("authorization")
    proven: Authenticated | None = None
    if header is not None:
        # Who asks is settled before the body is read (a bad body of an anonymous
        # caller is 401, not 400), unless the body itself carries the credentials.
        proven = await authenticator.authenticate_with_time(header, caller)
    document = await json_object_body(request, required=False)
    try:
        asked = TokenRequest.model_validate(document)
    except ValidationError as error:
        raise ProtocolError("invalid_schema", describe_validation(error)) from error
    if asked.username is not None and asked.password is not None:
        principal = await authenticator.verify_password(asked.username, asked.password, caller)
        proven = Authenticated(principal, None)
    if proven is None:
        raise UnauthenticatedError()
    request.scope[PRINCIPAL_KEY] = proven.principal.name
    token = await authenticator.issue_token(
        proven.principal, asked.ttl, auth_time=proven.auth_time, caller=caller
    )
    return JSONResponse(TokenResponse(access_token=token).model_dump())


async def unlock_user(request: Request) -> Response:
    """Lift the sign-in lock of the body's `email` and forget its failures (admins
    only). Any name may be unlocked: unknown names lock too (so locks say nothing
    about which names exist)."""
    principal = await principal_of(request)
    if principal is None:
        raise UnauthenticatedError()
    if principal.role != Role.ADMIN:
        raise ForbiddenError(principal.role, UNLOCK_PERMISSION)
    document = await json_object_body(request, required=True)
    try:
        email = UnlockRequest.model_validate(document).email
    except ValidationError as error:
        raise ProtocolError("invalid_schema", describe_validation(error)) from error
    was_locked = await context_of(request).authenticator.unlock(
        email, by=principal, caller=caller_of(request)
    )
    return JSONResponse(UnlockResponse(email=email, was_locked=was_locked).model_dump())
