"""The client's address as a trusted proxy saw it (`X-Forwarded-For`), as plain ASGI.

Behind a reverse proxy every request comes from the proxy's address, and the rules that
count by client address (the sign-in throttle, the in-flight cap, the access log's
`client`) would count every client as one. When the connection's peer is one of the
`trusted` proxies, the scope's client becomes the address the proxy appended last to
`X-Forwarded-For` (the proxy sets it: docs/nginx-front.md); from any other peer the
header is ignored, so a client cannot choose its own address. Nothing is trusted by
default (`serve --forwarded-allow-ips`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class TrustedForwardedFor:
    def __init__(self, app: ASGIApp, *, trusted: frozenset[str]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if client and client[0] in self.trusted:
                scope = self.rewritten(scope)
        await self.app(scope, receive, send)

    @staticmethod
    def rewritten(scope: Scope) -> Scope:
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                address = value.decode("latin-1").rsplit(",", 1)[-1].strip()
                if address:
                    return {**scope, "client": (address, 0)}
        return scope
