"""An `EventPublisher` that appends one JSON object per event to a text stream.

Events carry no secrets (the domain sees to it), so the record is written whole. A
write that fails is reported to the logging system and dropped: the change it
describes is already committed, and the use case must not fail after the fact. When
lines reach the disk is the sink's business (the server's flushes a few times a
second, and at shutdown).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from bdbexport.domain.events import DomainEvent

log = logging.getLogger("bdbexport.audit")
_ENCODER = json.JSONEncoder(separators=(",", ":"))


class TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...


class JsonLinesEventLog:
    def __init__(self, sink: TextSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def publish(self, event: DomainEvent) -> None:
        line = _ENCODER.encode(event.to_record()) + "\n"
        try:
            with self._lock:
                self._sink.write(line)
        except (OSError, ValueError):
            log.exception("audit event %s could not be written", event.name)
