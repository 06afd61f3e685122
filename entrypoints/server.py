"""`bdbexport serve`: the REST server, launched.

The order is what makes a start harmless when it fails, and the event loop free once
it serves: the settings are checked (`server_config.py`), the listening socket bound
and the TLS files loaded, the logs opened (files created 0600), the store opened and
seeded (`server_seed.py`), `bootstrap` builds the application and `build_http_app` the
HTTP app over it (composition/http_app.py, the one wiring the tests and embedders use
too), the backup scheduler starts, and uvicorn serves the app behind our edge
protocol. Nothing here runs at import time.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from bdbexport.adapters.http.edge_protocol import EdgeObservers, edge_protocol
from bdbexport.adapters.http.metrics import ServerMetrics
from bdbexport.composition import Application, bootstrap
from bdbexport.composition.demo_data import seed_demo_actions
from bdbexport.composition.http_app import build_http_app
from bdbexport.composition.log_sinks import NonBlockingSink, open_sink
from bdbexport.composition.notifications import smtp_notifier
from bdbexport.composition.observability import instrument_store, metrics_access_for
from bdbexport.composition.scheduling import start_backup_scheduler
from bdbexport.composition.stores import Store, open_store
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.ports import Notifier

from .server_config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServerConfig,
    ServerConfigError,
    is_loopback,
    version,
)
from .server_seed import bootstrap_file_warning, seed_store

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Server",
    "ServerConfig",
    "ServerConfigError",
    "build_server",
    "is_loopback",
    "seed_store",
    "serve",
    "version",
]


@dataclass
class Server:
    app: Any
    application: Application
    close: Callable[[], None]
    announcement: str = ""
    """What seeding has to tell the operator, printed once the server serves."""
    edge: EdgeObservers = field(default_factory=EdgeObservers)
    """Where the HTTP edge tells its refusals: the same access log and metrics."""
    warnings: str = ""
    """What the operator should fix (a bootstrap file or a log others can read)."""

    @property
    def store(self) -> Store:
        return self.application.store


def build_server(config: ServerConfig, *, terminal: bool = False) -> Server:
    """Everything `serve` runs, built and wired but not listening yet. `terminal`: the
    announcement goes to a person's terminal (then it may show the demo's passwords)."""
    config.check()
    closing: list[Callable[[], None]] = []
    warnings = ""
    if config.bootstrap is not None:
        warnings += bootstrap_file_warning(config.bootstrap) or ""
    try:
        access_sink, close_access, warning = _sink(config.access_log, sys.stdout)
        closing.append(close_access)
        warnings += warning or ""
        audit_sink, close_audit, warning = _sink(config.audit_log, sys.stderr)
        closing.append(close_audit)
        warnings += warning or ""
        metrics = ServerMetrics()
        # The event loop's store calls are timed for /metrics (composition/observability.py).
        store = instrument_store(open_store(config.store_url), metrics)
        closing.insert(0, store.close)
        announcement = seed_store(store, config, terminal=terminal)
    except BaseException:
        for close_one in closing:
            close_one()
        raise
    # One policy for the use cases and the HTTP edge's permission-first check.
    policy = RoleTablePolicy()
    application = bootstrap(
        store,
        policy=policy,
        exporter=config.exporter,
        importer=config.importer,
        simulated_duration=config.simulated_duration,
        simulated_outcome=config.simulated_outcome,
        lease_ttl=config.lease_ttl,
        max_concurrent_exports=config.max_concurrent_exports,
        audit=audit_sink,
        notifier=_notifier(config),
        with_async=True,
        export_roots=config.export_roots,
        allow_egress=config.allow_egress,
        export_timeout=config.export_timeout,
        import_limits=config.import_limits(),
    )
    application.prepare_exports()
    if application.action_logs is not None:  # the demo's running export has its record
        seed_demo_actions(store.bdbs, application.action_logs.sync)

    # Periodic backups: each due moment started by one replica only (docs/backups.md).
    scheduler = start_backup_scheduler(application)
    closed = threading.Event()

    def close() -> None:
        if closed.is_set():
            return
        closed.set()
        scheduler.stop()
        application.close(grace=config.shutdown_grace)
        close_access()
        close_audit()

    built = build_http_app(
        application,
        auth=config.auth_settings(),
        metrics=metrics,
        access_log=access_sink,
        metrics_access=metrics_access_for(config.metrics_access, loopback=is_loopback(config.host)),
        policy=policy,
        version=version(),
        on_shutdown=[close],
        throttle_summary_interval=config.throttle_summary_interval,
        allowed_origins=config.allowed_origins,
    )
    return Server(
        app=built.app,
        application=application,
        close=close,
        announcement=announcement,
        edge=built.edge,
        warnings=warnings,
    )


def without_password(url: str) -> str:
    """`url` with the password of its user part, if any, shown as `***`: a store URL
    (`redis://:secret@host`) is printed at start, and no log line carries a secret."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***" if parts.username else ":***"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def serve(config: ServerConfig, out: TextIO = sys.stdout) -> None:
    """Run the server. The order is what makes a failed start harmless: the listening
    socket is bound and the TLS files are loaded first (a busy port or a bad certificate
    fails before anything is stored or printed), then the store is opened and seeded,
    and the one-time passwords and the `serving` line are printed only once uvicorn
    has started on that socket."""
    import uvicorn

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config.check()
    listening = bind(config.host, config.port)
    try:
        if config.tls:
            _load_tls(config)
        server = build_server(config, terminal=out.isatty())
    except BaseException:
        listening.close()
        raise
    if server.warnings:
        sys.stderr.write(server.warnings)
        sys.stderr.flush()
    scheme = "https" if config.tls else "http"
    # An IPv6 address goes in brackets in a URL: http://[::1]:9443.
    bare = config.host.strip("[]")
    host = f"[{bare}]" if ":" in bare else bare
    serving = (
        f"bdbexport {version()} serving {scheme}://{host}:{config.port}"
        f" (store {without_password(config.store_url)}, exporter {config.exporter})\n"
    )
    uvicorn_config = uvicorn.Config(
        server.app,
        host=config.host,
        port=config.port,
        ssl_certfile=str(config.certfile) if config.certfile else None,
        ssl_keyfile=str(config.keyfile) if config.keyfile else None,
        loop=_fastest("uvloop", "asyncio"),
        # Our subclass of uvicorn's protocol: header size and time limits, and our
        # error JSON wherever the HTTP parser itself refuses a request.
        http=edge_protocol(
            _fastest("httptools", "h11"),
            max_header_bytes=config.max_header_bytes,
            header_timeout=config.header_timeout,
            body_timeout=config.body_timeout,
            max_connections_per_address=config.max_connections_per_address,
            observers=server.edge,
        ),
        timeout_keep_alive=int(max(1, config.header_timeout)),
        access_log=False,
        log_level="warning",
        lifespan="on",
        server_header=False,
    )
    _announcing_server(uvicorn_config, server.announcement + serving, out).run(sockets=[listening])


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now: `OSError` (port busy, address not here) before
    anything else happens."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host.strip("[]"), port))
        listening.listen(2048)
        listening.set_inheritable(True)
    except BaseException:
        listening.close()
        raise
    return listening


def _load_tls(config: ServerConfig) -> None:
    """Load the certificate and key as uvicorn will: a bad file fails the start here."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(config.certfile), str(config.keyfile))
    except (ssl.SSLError, OSError) as error:
        raise ServerConfigError(
            f"TLS certificate {config.certfile} or key {config.keyfile} cannot be loaded ({error})."
        ) from error


def _announcing_server(config: Any, announce: str, out: TextIO) -> Any:
    """uvicorn's server, printing `announce` once it serves (its startup done)."""
    import uvicorn

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                out.write(announce)
                out.flush()

    return AnnouncingServer(config)


def _fastest(preferred: str, fallback: str) -> Any:
    try:
        __import__(preferred)
    except ImportError:
        return fallback
    return preferred


def _notifier(config: ServerConfig) -> Notifier | None:
    try:
        return smtp_notifier(
            config.smtp_url, sender=config.notify_from, recipients=config.notify_to
        )
    except ValueError as error:
        raise ServerConfigError(str(error)) from error


def _sink(
    target: str, default: TextIO
) -> tuple[NonBlockingSink | None, Callable[[], None], str | None]:
    try:
        return open_sink(target, default)
    except OSError as error:
        raise ServerConfigError(f"Cannot open log file {target}: {error.strerror}.") from error
