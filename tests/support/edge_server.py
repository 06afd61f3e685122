"""`python -m tests.support.edge_server PORT MARKER`: `EdgeRules` on granian, as `serve`
runs them, around a tiny app (a test process of its own: the write deadline is about
what the server does with a connection, so the server has to be real).

`GET /stream` answers an endless body of 64 KiB chunks; when the response ends (the
write deadline abandoned it) the app writes `abandoned` to MARKER.
`GET /` answers `{}`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from starlette.types import Receive, Scope, Send

from bdbexport.adapters.http.edge_rules import EdgeRules
from bdbexport.entrypoints.granian_launch import Listen, run

WRITE_TIMEOUT = 1.0
CHUNK = b"x" * 65536


def app_writing_to(marker: Path) -> EdgeRules:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(1_000_000):
                await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        finally:
            marker.write_text("abandoned")

    return EdgeRules(app, write_timeout=WRITE_TIMEOUT)


def main() -> None:
    port, marker = int(sys.argv[1]), Path(sys.argv[2])
    listen = Listen(host="127.0.0.1", port=port, header_timeout=10, max_header_bytes=16384)
    run(app_writing_to(marker), listen, "ready\n")


if __name__ == "__main__":
    main()
