"""A raw socket read to its end: what the hostile-client tests share (they speak raw
bytes to the edge, where no HTTP client would send what they send, and read what it
answers before it closes)."""

from __future__ import annotations

import socket


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
