"""The composition root: the one place that chooses adapters and wires them to the
domain. `bootstrap` builds whole applications (server, CLI local mode, tests);
`build_service` / `build_async_service` give embedders the use cases over the ports
they own, with in-memory adapters for the rest. Nothing happens at import time."""

from .application import EXPORTERS, Application, bootstrap, choose_exporter
from .services import DEFAULT_EVENT_LOG_SIZE, build_async_service, build_service

__all__ = [
    "DEFAULT_EVENT_LOG_SIZE",
    "EXPORTERS",
    "Application",
    "bootstrap",
    "build_async_service",
    "build_service",
    "choose_exporter",
]
