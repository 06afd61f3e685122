"""Refusals that need no route: oversized bodies and an `Accept` that excludes JSON.

The size limit is enforced twice: a declared `Content-Length` over the limit is
refused before any byte is read, and a chunked body is counted as it arrives and
refused the moment it crosses the limit, so a large body is never held in memory.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ProtocolError, error_response

MAX_BODY_BYTES = 64 * 1024


class BodyTooLargeError(ProtocolError):
    def __init__(self, limit: int) -> None:
        super().__init__("request_too_large", f"The request body exceeds {limit} bytes.")


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, self.counted(receive), send)

    def counted(self, receive: Receive) -> Receive:
        """`receive`, refusing the body the moment it crosses the limit."""
        received = 0
        max_body = self.max_body

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise BodyTooLargeError(max_body)
            return message

        return counted

    def refusal(self, scope: Scope) -> ASGIApp | None:
        """The answer to a request refused on its headers alone, else None."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return error_response("invalid_header", "Content-Length is not a number.")
                if declared > self.max_body:
                    return error_response(
                        "request_too_large", f"The request body exceeds {self.max_body} bytes."
                    )
            elif name == b"accept" and not accepts_json(value.decode("latin-1")):
                return error_response(
                    "invalid_header", "The Accept header must admit application/json."
                )
        return None


def accepts_json(accept: str) -> bool:
    """Whether an Accept header admits application/json (RFC 9110 media ranges, q > 0)."""
    if not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, raw = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
        if media.lower() in {"application/json", "application/*", "*/*"} and quality > 0:
            return True
    return False
