"""An ASGI app on a real uvicorn in a thread, and a raw socket read to its end: what the
edge-protocol tests share (they speak raw bytes to the edge, where no HTTP client would
send what they send, and read what it answers before it closes)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def uvicorn_in_thread(
    app: Any, port: int, http: Any, *, log_level: str = "error"
) -> Iterator[uvicorn.Server]:
    """`app` served on 127.0.0.1:`port` with the protocol class `http`, until the block
    ends (ready within 10 s; stopped within 10 s)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=http, log_level=log_level, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.1)
        yield server
    finally:
        server.should_exit = True
        thread.join(10)


def read_until_closed(sock: socket.socket, timeout: float | None = None) -> bytes:
    """Everything the server sends until it closes the connection (bounded: the socket's
    timeout, or `timeout`, per read, and 1000 reads)."""
    if timeout is not None:
        sock.settimeout(timeout)
    received = b""
    for _ in range(1000):
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        received += chunk
    return received
