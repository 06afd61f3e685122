"""`CoalescedWrites` over a real event-loop transport on a real socket pair: what one
loop turn writes arrives together once the turn ends; nothing is held past the limit,
past a close, or through an abort."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from bdbexport.adapters.http.coalesced_writes import HOLD_LIMIT, CoalescedWrites


def with_transport(
    body: Callable[[CoalescedWrites, socket.socket, asyncio.Transport], Awaitable[None]],
) -> None:
    async def run() -> None:
        ours, peer = socket.socketpair()
        peer.setblocking(False)
        with peer:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
            try:
                await body(CoalescedWrites(transport, loop), peer, transport)
            finally:
                transport.close()

    asyncio.run(run())


def pending(peer: socket.socket) -> bytes:
    try:
        return peer.recv(1 << 20)
    except BlockingIOError:
        return b""


async def read_until_eof(peer: socket.socket) -> bytes:
    received = b""
    for _ in range(200):  # at most ~2 s
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            await asyncio.sleep(0.01)
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return received


def test_what_one_turn_writes_leaves_together_when_the_turn_ends() -> None:
    async def body(writes: CoalescedWrites, peer: socket.socket, _: asyncio.Transport) -> None:
        writes.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        writes.write(b"{}")
        assert pending(peer) == b""  # held during the turn
        assert writes.get_write_buffer_size() == 40
        await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert pending(peer) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
        assert writes.get_write_buffer_size() == 0

    with_transport(body)


def test_a_write_past_the_limit_sends_what_is_held_and_itself_at_once() -> None:
    async def body(writes: CoalescedWrites, peer: socket.socket, _: asyncio.Transport) -> None:
        writes.write(b"head;")
        big = b"x" * HOLD_LIMIT
        writes.write(big)
        received = pending(peer)
        assert received.startswith(b"head;x")  # no turn has ended: sent at once, in order
        for _attempt in range(100):
            if len(received) == len(big) + 5:
                break
            await asyncio.sleep(0.01)
            received += pending(peer)
        assert received == b"head;" + big

    with_transport(body)


def test_close_sends_what_is_held_first() -> None:
    async def body(writes: CoalescedWrites, peer: socket.socket, _: asyncio.Transport) -> None:
        writes.write(b"last words")
        writes.close()
        assert writes.is_closing()  # the transport's own answer
        assert await read_until_eof(peer) == b"last words"

    with_transport(body)


def test_write_eof_sends_what_is_held_first() -> None:
    async def body(writes: CoalescedWrites, peer: socket.socket, _: asyncio.Transport) -> None:
        writes.write(b"answer")
        writes.write_eof()
        assert await read_until_eof(peer) == b"answer"

    with_transport(body)


def test_abort_drops_what_is_held() -> None:
    async def body(writes: CoalescedWrites, peer: socket.socket, _: asyncio.Transport) -> None:
        writes.write(b"never sent")
        writes.abort()
        await asyncio.sleep(0.01)
        assert await read_until_eof(peer) == b""

    with_transport(body)


def test_nothing_is_written_to_a_transport_closed_meanwhile() -> None:
    async def body(
        writes: CoalescedWrites, peer: socket.socket, transport: asyncio.Transport
    ) -> None:
        writes.write(b"late")
        transport.close()  # closed underneath (e.g. the peer went away)
        await asyncio.sleep(0.01)  # the held flush runs and writes nothing
        assert await read_until_eof(peer) == b""

    with_transport(body)
