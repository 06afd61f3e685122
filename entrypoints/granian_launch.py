"""`serve` on granian: the server chosen by measurement (docs/performance.md).

granian (hyper, in Rust) parses HTTP/1.1 and enforces the protocol's limits with its own
public options: `http1_header_read_timeout` (the request head's deadline, which also
closes an idle keep-alive connection), `http1_buffer_size` (a head larger than the buffer
is refused 431), `backpressure` (requests served at once; more wait in the kernel's
backlog, not in memory) and keep-alive. The app's own rules are in the app (plain
ASGI middleware, `EdgeRules`, put there by `build_http_app`). It runs in this process,
on this event loop (uvloop when installed), through granian's embedding API
(`granian.server.embed`), so `serve` keeps its order: the app is built and seeded
first, the one-time passwords and the `serving` line are printed once the socket
listens.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from granian.constants import HTTPModes, Interfaces, SSLProtocols
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server as EmbeddedServer

BACKPRESSURE = 1024
"""Requests served at once (granian's default for one worker: its backlog)."""


@dataclass(frozen=True)
class Listen:
    """Where and how `serve` listens: the server's own, public settings."""

    host: str
    port: int
    header_timeout: float
    max_header_bytes: int
    certfile: Path | None = None
    keyfile: Path | None = None
    backpressure: int = BACKPRESSURE


def run(app: Any, listen: Listen, announce: str, out: TextIO = sys.stdout) -> None:
    """Serve `app` until SIGTERM or SIGINT, printing `announce` once the socket listens."""
    server = EmbeddedServer(
        app,
        address=listen.host.strip("[]"),
        port=listen.port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        websockets=False,
        runtime_threads=1,
        backlog=2048,
        backpressure=listen.backpressure,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(listen.header_timeout * 1000)),
            keep_alive=True,
            max_buffer_size=listen.max_header_bytes,
        ),
        # granian's own log: its warnings (the embedding API says it is experimental at
        # every start) would only be noise in the operator's log; errors stay.
        log_level=LogLevels.error,
        log_access=False,
        ssl_cert=listen.certfile,
        ssl_key=listen.keyfile,
        ssl_protocol_min=SSLProtocols.tls12,
    )

    def announced() -> None:
        out.write(announce)
        out.flush()

    server.on_startup(announced)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.stop)
        await server.serve()

    _run_on_fastest_loop(main)


def _run_on_fastest_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    uvloop.run(main())
