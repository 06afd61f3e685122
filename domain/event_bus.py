"""Event handlers: side effects (audit, notification, metrics) subscribe to events.

The shells publish each committed use case's events to an `EventPublisher`; an
`EventBus` is the publisher that hands each event to the handlers subscribed to its
class (or a base class of it), in subscription order. A handler that raises does not
reach the use case, which has already committed, and is not silently swallowed
either: the failure goes to `on_error` (by default the `bdbexport.events` logger).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from .events import DomainEvent

E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[DomainEvent], None]

log = logging.getLogger("bdbexport.events")


def _log_failure(event: DomainEvent, error: Exception) -> None:
    log.error("handler failed on %s of bdb %s", event.name, event.uid, exc_info=error)


class EventBus:
    """An `EventPublisher` that dispatches events to subscribed handlers."""

    def __init__(self, on_error: Callable[[DomainEvent, Exception], None] = _log_failure) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = {}
        self._routes: dict[type[DomainEvent], tuple[Handler, ...]] = {}
        self._on_error = on_error

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Call `handler` with every published event that is an `event_type`."""
        self._handlers.setdefault(event_type, []).append(handler)  # type: ignore[arg-type]
        self._routes.clear()

    def publish(self, event: DomainEvent) -> None:
        for handler in self._route(type(event)):
            try:
                handler(event)
            except Exception as error:
                self._on_error(event, error)

    def _route(self, event_type: type[DomainEvent]) -> tuple[Handler, ...]:
        # Resolved once per event class: which subscriptions match it, in order.
        route = self._routes.get(event_type)
        if route is None:
            route = self._routes[event_type] = tuple(
                handler
                for subscribed, handlers in self._handlers.items()
                if issubclass(event_type, subscribed)
                for handler in handlers
            )
        return route
