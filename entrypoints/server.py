"""`bdbexport serve`: the REST server, launched.

The order is what makes a start harmless when it fails, and the event loop free once
it serves: the settings are checked (`server_config.py`), the listening socket bound
and the TLS files loaded, the logs opened (files created 0600), the store opened and
seeded (`server_seed.py`), `bootstrap` builds the application and `build_http_app` the
HTTP app over it (composition/http_app.py, the one wiring the tests and embedders use
too), the backup scheduler starts, and granian serves the app inside its edge rules
(`granian_launch.py`, adapters/http/edge_rules.py). Nothing here runs at import time.
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

from bdbexport.adapters.http.edge_rules import EdgeObservers
from bdbexport.composition import Application, bootstrap
from bdbexport.composition.demo_data import seed_demo_actions
from bdbexport.composition.http_app import EdgeSettings, build_http_app
from bdbexport.composition.log_sinks import NonBlockingSink, open_sink
from bdbexport.composition.notifications import smtp_notifier
from bdbexport.composition.observability import metrics_access_for, open_served_store
from bdbexport.composition.scheduling import start_backup_scheduler
from bdbexport.composition.stores import Store
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
from .server_workers import start_workers

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
        # The event loop's store calls are timed for /metrics (composition/observability.py).
        store, metrics = open_served_store(config.store_url)
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
        remote_settings=config.remote_settings(),
    )
    application.prepare_exports()
    if application.action_logs is not None:  # the demo's running export has its record
        seed_demo_actions(store.bdbs, application.action_logs.sync)

    # Where actions run: here, or enqueued for a worker child or workers apart.
    workers = start_workers(config, metrics.registry)
    if workers is not None:
        application.launch = workers.launcher.submit
    # Periodic backups: each due moment started by one replica only (docs/backups.md).
    scheduler = start_backup_scheduler(application)
    closed = threading.Event()

    def close() -> None:
        if closed.is_set():
            return
        closed.set()
        scheduler.stop()
        if workers is not None:
            workers.close()
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
        launch=None if workers is None else workers.launcher.submit,
        work_queue=None if workers is None else workers.queue,
        edge=EdgeSettings(
            body_timeout=config.body_timeout,
            write_timeout=config.write_timeout,
            max_requests_per_address=config.max_requests_per_address,
            forwarded_allow_ips=frozenset(config.forwarded_allow_ips),
        ),
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
    and the one-time passwords and the `serving` line are printed only once granian
    listens on that port."""
    from .granian_launch import Listen, run

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
    # The app applies its own edge rules (build_http_app); the protocol's are granian's.
    listen = Listen(
        host=config.host,
        port=config.port,
        header_timeout=config.header_timeout,
        max_header_bytes=config.max_header_bytes,
        certfile=config.certfile,
        keyfile=config.keyfile,
    )
    listening.close()  # the port was free a moment ago: granian binds it now
    run(server.app, listen, server.announcement + serving, out)


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
    """Load the certificate and key as the server will: a bad file fails the start here."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(config.certfile), str(config.keyfile))
    except (ssl.SSLError, OSError) as error:
        raise ServerConfigError(
            f"TLS certificate {config.certfile} or key {config.keyfile} cannot be loaded ({error})."
        ) from error


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
