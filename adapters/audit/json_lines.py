"""An `EventPublisher` that appends one JSON object per event to a text stream.

Events carry no secrets (the domain sees to it), so the record is written whole. A
write that fails is reported to the logging system and dropped: the change it
describes is already committed, and the use case must not fail after the fact.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from bdbexport.domain.events import DomainEvent

log = logging.getLogger("bdbexport.audit")


class TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


class JsonLinesEventLog:
    def __init__(self, sink: TextSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def publish(self, event: DomainEvent) -> None:
        line = json.dumps(event.to_record(), separators=(",", ":")) + "\n"
        try:
            with self._lock:
                self._sink.write(line)
                self._sink.flush()
        except (OSError, ValueError):
            log.exception("audit event %s could not be written", event.name)
