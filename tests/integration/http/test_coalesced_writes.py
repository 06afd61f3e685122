"""`CoalescedWrites` over a real event-loop transport on a real socket pair: what one
loop turn writes arrives together once the turn ends; nothing is held past the limit,
past a close, or through an abort."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import cast

import pytest
from starlette.types import Receive, Scope, Send

from bdbexport.adapters.http.coalesced_writes import HOLD_LIMIT, CoalescedWrites
from bdbexport.adapters.http.edge_protocol import edge_protocol
from tests.support.server_process import free_port
from tests.support.threaded_uvicorn import read_until_closed, uvicorn_in_thread


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


async def answer_at_once(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.parametrize("flavour", ["httptools", "h11"])
def test_a_request_then_a_half_close_still_gets_its_answer(flavour: str) -> None:
    # `printf 'GET / HTTP/1.0\r\n\r\n' | nc -N`: the request and the client's FIN arrive
    # in one read; the transport closes on the EOF before the app's answer is written.
    port = free_port()
    with uvicorn_in_thread(answer_at_once, port, edge_protocol(flavour)):
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
                sock.shutdown(socket.SHUT_WR)
                answer = read_until_closed(sock)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
            assert answer.endswith(b"\r\n\r\n{}")


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_an_answer_written_after_the_peers_eof_closed_the_transport_is_still_sent(
    loop_kind: str,
) -> None:
    """The peer sends its request and its FIN at once: the app's answer is written (and
    held) before the EOF is read, and the transport closes itself when `eof_received`
    returns. Written straight to the transport the answer was sent; held, it must be
    flushed from `eof_received` (without that flush this test fails: b'' arrives)."""
    import uvloop

    async def run() -> bytes:
        ours, peer = socket.socketpair()
        with peer:
            peer.sendall(b"request")
            peer.shutdown(socket.SHUT_WR)  # before the loop reads: data and EOF together
            loop = asyncio.get_running_loop()
            holder: list[CoalescedWrites] = []

            class Answering(asyncio.Protocol):
                def connection_made(self, transport: asyncio.BaseTransport) -> None:
                    # (uvloop's transports are not asyncio.Transport subclasses)
                    holder.append(CoalescedWrites(cast(asyncio.Transport, transport), loop))

                def data_received(self, data: bytes) -> None:
                    # The app answers in a later turn (its task), as uvicorn's does.
                    loop.call_soon(holder[0].write, b"answer")

                def eof_received(self) -> None:
                    holder[0].flush()  # as the edge protocols do: then the transport closes

            transport, _ = await loop.create_connection(Answering, sock=ours)
            peer.setblocking(False)
            try:
                return await read_until_eof(peer)
            finally:
                transport.close()

    runner = uvloop.run if loop_kind == "uvloop" else asyncio.run
    assert runner(run()) == b"answer"
