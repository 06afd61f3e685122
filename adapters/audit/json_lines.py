"""An `EventPublisher` that appends one JSON object per event to a text stream.

Events carry no secrets (the domain sees to it), so the record is written whole. A
write that fails is reported to the logging system and dropped: the change it
describes is already committed, and the use case must not fail after the fact. When
lines reach the disk is the sink's business (the server's flushes a few times a
second, and at shutdown).

The line is `json.dumps(event.to_record(), separators=(",", ":"))`, built in one step:
each event class gets a `LineEncoder` the first time it is seen (its keys encoded once,
its fields read in one `attrgetter` call), and each value is written by the encoder of
its type. One event a request reaches this code, so building a dict and encoding it
again, with a datetime and an Enum conversion on the way, was a cost every request paid.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from enum import Enum
from operator import attrgetter
from typing import Any, Protocol

from bdbexport.domain.events import DomainEvent

log = logging.getLogger("bdbexport.audit")
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_string: Callable[[str], str] = json.encoder.encode_basestring_ascii  # what json.dumps uses


_constant: Callable[[bool | None], str] = {None: "null", True: "true", False: "false"}.__getitem__
"""JSON's three constants, looked up in C (no Python call for the commonest values)."""


def _timestamp(value: datetime) -> str:
    return '"' + value.isoformat() + '"'


def _other(value: Any) -> str:
    """Types without an entry of their own: Enums as their value (a `StrEnum` member
    is its string, and its class is remembered as one), the rest as `json` writes it."""
    if isinstance(value, Enum):
        if isinstance(value, str):
            _BY_TYPE[type(value)] = _string
            return _string(value)
        return _ENCODER.encode(value.value)
    if isinstance(value, datetime):
        return _timestamp(value)
    return _ENCODER.encode(value)


_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _string,
    int: int.__repr__,
    bool: _constant,
    type(None): _constant,
    datetime: _timestamp,
}
"""How a value of exactly this type is written (`_other` for any other type)."""


class LineEncoder:
    """One event class's JSON line, compiled from its fields once."""

    __slots__ = ("_keys", "_outcome", "_values")

    def __init__(self, kind: type[DomainEvent]) -> None:
        names = tuple(field.name for field in fields(kind))
        self._keys = tuple("," + _string(name) + ":" for name in names)
        getter = attrgetter(*names)
        # attrgetter of one name returns the value itself, not a 1-tuple.
        self._values: Callable[[DomainEvent], tuple[Any, ...]] = (
            getter if len(names) > 1 else lambda event: (getter(event),)
        )
        self._outcome = ',"outcome":' + _string(kind.outcome)

    def __call__(self, event: DomainEvent) -> str:
        parts = ['{"event":', _string(event.name), self._outcome]
        by_type = _BY_TYPE
        for key, value in zip(self._keys, self._values(event), strict=True):
            parts.append(key)
            parts.append(by_type.get(type(value), _other)(value))
        parts.append("}\n")
        return "".join(parts)


_LINE_ENCODERS: dict[type[DomainEvent], LineEncoder] = {}


def json_line(event: DomainEvent) -> str:
    """The event's audit line, newline included."""
    encoder = _LINE_ENCODERS.get(type(event))
    if encoder is None:
        encoder = _LINE_ENCODERS[type(event)] = LineEncoder(type(event))
    return encoder(event)


class TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...


class JsonLinesEventLog:
    def __init__(self, sink: TextSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def publish(self, event: DomainEvent) -> None:
        line = json_line(event)
        try:
            with self._lock:
                self._sink.write(line)
        except (OSError, ValueError):
            log.exception("audit event %s could not be written", event.name)
