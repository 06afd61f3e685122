"""`POST /v1/users/authorize`: trade credentials for a JWT, as Redis Software does."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bdbexport.domain.errors import UnauthenticatedError
from bdbexport.domain.principal import Principal

from .context import context_of, json_object_body, principal_of
from .errors import ProtocolError
from .export_endpoints import describe_validation
from .schemas import TokenRequest, TokenResponse


async def authorize(request: Request) -> Response:
    """Credentials come as Basic auth or as `username`/`password` in the body."""
    document = await json_object_body(request, required=False)
    try:
        asked = TokenRequest.model_validate(document)
    except ValidationError as error:
        raise ProtocolError("invalid_schema", describe_validation(error)) from error
    authenticator = context_of(request).authenticator
    principal: Principal | None
    if asked.username is not None and asked.password is not None:
        principal = await authenticator.verify_password(asked.username, asked.password)
    else:
        principal = await principal_of(request)
    if principal is None:
        raise UnauthenticatedError()
    token = authenticator.issue_token(principal, asked.ttl)
    return JSONResponse(TokenResponse(access_token=token).model_dump())
