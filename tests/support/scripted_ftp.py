"""A hostile FTP server on a free loopback port: each connection gets a scripted
behaviour (an endless multi-line reply, a banner trickled byte by byte, a hang-up
after USER), and the server counts the connections still open, so a test can see
when the client let go."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable

Behaviour = Callable[[socket.socket, threading.Event], None]


def peer_closed(client: socket.socket) -> bool:
    """Whether the client hung up (a readable socket with nothing left to read)."""
    try:
        readable, _, _ = select.select([client], [], [], 0)
        if not readable:
            return False
        return client.recv(4096, socket.MSG_PEEK) == b""
    except OSError:
        return True


def endless_multiline(pause: float = 0.2) -> Behaviour:
    """`220-still here N` every `pause` seconds, never the last line of the reply."""

    def run(client: socket.socket, stop: threading.Event) -> None:
        count = 0
        while not stop.is_set() and not peer_closed(client):
            client.sendall(f"220-still here {count}\r\n".encode())
            count += 1
            stop.wait(pause)

    return run


def flood(line: int = 1000) -> Behaviour:
    """`220-AAA...` lines of `line` bytes as fast as the client reads them, never the
    last line of the reply (issue 22, finding 3)."""

    def run(client: socket.socket, stop: threading.Event) -> None:
        chunk = b"220-" + b"A" * (line - 6) + b"\r\n"
        client.settimeout(0.5)
        while not stop.is_set():
            try:
                client.sendall(chunk * 64)
            except TimeoutError:
                if peer_closed(client):
                    return
            except OSError:
                return

    return run


def trickle(pause: float = 0.5) -> Behaviour:
    """A banner that never ends: one byte every `pause` seconds."""

    def run(client: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set() and not peer_closed(client):
            client.sendall(b"2")
            stop.wait(pause)

    return run


def hang_up_after_user(client: socket.socket, stop: threading.Event) -> None:
    """A welcome, then the connection closed as soon as USER arrives."""
    client.sendall(b"220 ready\r\n")
    client.settimeout(10)
    received = b""
    while b"\n" not in received and not stop.is_set():
        data = client.recv(1024)
        if not data:
            return
        received += data


def lying_size(announced: int | None) -> Behaviour:
    """A server that logs anyone in, answers `SIZE` with `announced` (None: refuses
    it), then sends an RDB header and zeros on the data connection until the client
    hangs up (issue 22, finding 4)."""

    def run(client: socket.socket, stop: threading.Event) -> None:
        client.settimeout(10)
        reader = client.makefile("rb")
        client.sendall(b"220 ready\r\n")
        passive: socket.socket | None = None
        answers = {b"USER": b"331 ok", b"PASS": b"230 ok", b"TYPE": b"200 ok"}
        answers[b"SIZE"] = b"550 no size" if announced is None else b"213 %d" % announced
        while not stop.is_set():
            verb = reader.readline().split(b" ")[0].strip().upper()
            if not verb:
                return
            if verb == b"PASV":
                passive = socket.create_server(("127.0.0.1", 0))
                port = passive.getsockname()[1]
                client.sendall(b"227 Passive (127,0,0,1,%d,%d)\r\n" % (port >> 8, port & 255))
            elif verb == b"RETR" and passive is not None:
                client.sendall(b"150 here it comes\r\n")
                passive.settimeout(10)
                data, _ = passive.accept()
                data.settimeout(10)
                with data, passive, contextlib.suppress(OSError):
                    data.sendall(b"REDIS0010")
                    zeros = bytes(64 * 1024)
                    while not stop.is_set():
                        data.sendall(zeros)
                return
            else:
                client.sendall(answers.get(verb, b"502 no") + b"\r\n")

    return run


class ScriptedFtpServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        self.open = 0
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"ftp://user:password@{host}:{self.port}{path}"

    def __enter__(self) -> ScriptedFtpServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._acceptor.join(10)
        for thread in self._threads:
            thread.join(10)
        self._listener.close()

    def wait_for(self, condition: Callable[[], bool], within: float) -> bool:
        """Whether `condition` (on the counters) held within `within` seconds."""
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.open += 1
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with client, contextlib.suppress(OSError):
                self._behaviour(client, self._stop)
        finally:
            with self._lock:
                self.open -= 1
