"""An `EventPublisher` that keeps every event, in order, for reading back."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

from bdbexport.domain.events import DomainEvent


class InMemoryEventLog:
    """Events in publication order; bounded by `maxlen` when given (oldest dropped)."""

    def __init__(self, maxlen: int | None = None) -> None:
        self._events: deque[DomainEvent] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def publish(self, event: DomainEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[DomainEvent]:
        with self._lock:
            return list(self._events)

    def of_type(self, kind: type[DomainEvent]) -> list[DomainEvent]:
        return [event for event in self.events if isinstance(event, kind)]

    def __iter__(self) -> Iterator[DomainEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
