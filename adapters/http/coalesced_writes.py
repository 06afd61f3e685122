"""A connection's transport whose writes of one event-loop turn leave as one `send`.

uvicorn writes a response's head and its body with two `transport.write` calls, and the
event loop's transport sends each at once: two `send` syscalls and two TCP segments for
a response of a few hundred bytes, and on the client's side two wake-ups. The syscall is
the largest single cost of a small request (docs/performance.md: the profile). Here a
write is held until the end of the current loop turn (`call_soon`) and what was written
in that turn goes to the transport in one `write`: one syscall for a small response.

Nothing is held for long or without bound: at most one loop turn, and never more than
`HOLD_LIMIT` bytes (a larger write, or one that would pass the limit, sends what is
held at once, so a streamed body meets the transport's flow control as before). Ending
the connection (`close`, `write_eof`) sends what is held first; `abort` drops it, as it
drops the transport's own buffer. A transport also closes itself, when the protocol's
`eof_received` returns (the peer's FIN, which may follow the request at once): the
protocol calls `flush` there first, so the answer written before it is still sent (the
edge protocols do). Order is kept: every write of the connection, the app's and the
edge's refusals alike, goes through here.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

HOLD_LIMIT = 64 * 1024


class CoalescedWrites:
    __slots__ = ("_held", "_held_bytes", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        size = len(data)
        if self._held_bytes + size > HOLD_LIMIT or self._transport.is_closing():
            # Past the limit, or once the transport is closing (holding would only
            # delay what the transport decides): what is held and this write go now.
            self.flush()
            self._transport.write(data)
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._held_bytes += size

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is held, as the straight writes would have been sent (a transport
        that closed meanwhile still sends it; one already gone drops it)."""
        if not self._held:
            return
        held = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held = []
        self._held_bytes = 0
        with contextlib.suppress(RuntimeError):  # uvloop: gone (asyncio drops it silently)
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = []
        self._held_bytes = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def __getattr__(self, name: str) -> Any:
        # Everything else (is_closing, get_extra_info, pause/resume_reading, ...) is the
        # transport's own.
        return getattr(self._transport, name)
