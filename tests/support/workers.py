"""What keeps parallel test workers apart: ports, Redis key prefixes, names.

pytest-xdist runs the suite in several worker processes at once (`-n auto`). Each
worker takes its loopback ports from a slice of its own, below the kernel's ephemeral
range (so neither another worker nor an outgoing connection is handed the same port
between our probe and the server's bind), and names its Redis key prefixes and other
shared names with its worker id. Without xdist the process is worker `gw0` of one.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

FIRST_PORT = 20_000
LAST_PORT = 32_000
"""Linux hands out ephemeral ports from 32768 up: stay under them."""


def worker_id() -> str:
    """`gw0`, `gw1`, ... under pytest-xdist; `gw0` without it."""
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def worker_index() -> int:
    return int(worker_id().removeprefix("gw") or 0)


def worker_count() -> int:
    return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def _slice() -> range:
    width = (LAST_PORT - FIRST_PORT) // worker_count()
    start = FIRST_PORT + worker_index() * width
    return range(start, start + width)


def _candidates() -> itertools.cycle[int]:
    ports = _slice()
    # A random starting point: two test runs on one machine (two developers, two
    # worktrees) rarely walk the same ports at the same time.
    offset = random.randrange(len(ports))
    return itertools.cycle([*ports[offset:], *ports[:offset]])


_ports: list[itertools.cycle[int]] = []


def free_port() -> int:
    """A loopback port of this worker's slice that nothing is bound to right now.

    Ports are handed out in turn, so a port comes back to this worker only after the
    whole slice (over a thousand ports) has been used."""
    if not _ports:  # not at import time: the worker's id must be known first
        _ports.append(_candidates())
    for _ in range(LAST_PORT - FIRST_PORT):
        port = next(_ports[0])
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port in this worker's slice")


_names = itertools.count(1)


def unique_name(stem: str) -> str:
    """`stem` with this worker's id and a counter: unique across the whole run."""
    return f"{stem}-{worker_id()}-{next(_names)}"
