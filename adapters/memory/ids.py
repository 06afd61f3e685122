"""Action uid generators: random ones for real use, sequential ones for readable tests."""

from __future__ import annotations

import itertools
import threading
import uuid


class UuidIds:
    """Random UUID4 strings: unique across replicas without coordination."""

    def new_action_uid(self) -> str:
        return str(uuid.uuid4())


class SequentialIds:
    """`<prefix>-1`, `<prefix>-2`, ...: predictable, for tests and examples."""

    def __init__(self, prefix: str = "action") -> None:
        self._prefix = prefix
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new_action_uid(self) -> str:
        with self._lock:
            return f"{self._prefix}-{next(self._counter)}"
