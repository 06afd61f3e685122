"""`bdbexport serve`: the entry point of the REST server.

It opens the store named by a URL, seeds it (a bootstrap file, or the demo dataset on
first start), has `bootstrap` build the application (with the asynchronous use cases
for the event loop), adds the authenticator and the logs, mounts the Starlette app
and runs it on uvicorn with the fastest event loop and HTTP parser installed.
Nothing here runs at import time.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.http import Authenticator, HttpContext, create_app
from bdbexport.adapters.http.authentication import (
    DEFAULT_TOKEN_LIFETIME,
    AuthSettings,
    default_kdf_concurrency,
)
from bdbexport.adapters.http.cross_site import normalize_origin
from bdbexport.adapters.http.edge_protocol import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_HEADER_BYTES,
    EdgeObservers,
    edge_protocol,
)
from bdbexport.adapters.http.metrics import ServerMetrics
from bdbexport.adapters.http.operator_view import MetricsAccess
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.adapters.notify import SmtpNotifier
from bdbexport.composition import EXPORTERS, Application, bootstrap
from bdbexport.composition.bootstrap_file import apply_bootstrap, read_bootstrap_file
from bdbexport.composition.demo_data import (
    demo_document,
    find_local_redis,
    seed_demo_actions,
)
from bdbexport.composition.importers import IMPORTERS
from bdbexport.composition.log_sinks import PeriodicFlush
from bdbexport.composition.login_attempts import open_async_login_attempts
from bdbexport.composition.observability import (
    instrument_store,
    metrics_access_for,
    operator_view,
    subscribe_metrics,
)
from bdbexport.composition.readiness import open_readiness_probe
from bdbexport.composition.scheduling import start_backup_scheduler
from bdbexport.composition.stores import Store, open_store
from bdbexport.domain.auth.lockout import DEFAULT_ADDRESS_THROTTLE, DEFAULT_LOCKOUT, LockoutPolicy
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.ports import Notifier

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9443
"""Redis Software's REST API port."""


class ServerConfigError(ValueError):
    """The server cannot start with these settings; the message says why."""


@dataclass(frozen=True)
class ServerConfig:
    store_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    bootstrap: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    insecure_http: bool = False
    exporter: str = "rdb"
    importer: str = "rdb"
    simulated_duration: float = 5.0
    simulated_outcome: str = "succeed"
    max_concurrent_exports: int = 4
    access_log: str = "-"
    audit_log: str = "-"
    credential_cache_ttl: float = 60.0
    shutdown_grace: float = 10.0
    export_lease_ttl: float = 60.0
    smtp_url: str | None = None
    notify_from: str = "bdbexport@localhost"
    notify_to: tuple[str, ...] = ()
    export_roots: tuple[Path, ...] = ()
    """Where `mount_point` exports may write; none: `exports` next to the store."""
    allow_egress: tuple[str, ...] = ()
    """Hosts and networks exports may connect to despite the default refusals."""
    export_timeout: float = 30.0
    """Seconds every network step of an export may take (docs/exports.md)."""
    metrics_access: str | None = None
    """`open` or `authenticated`; None: open on a loopback address, else authenticated."""
    login_lockout_threshold: int = DEFAULT_LOCKOUT.threshold
    login_lockout_duration: float = DEFAULT_LOCKOUT.duration
    login_lockout_counter_reset_after: float = DEFAULT_LOCKOUT.reset_after
    login_throttle_threshold: int = DEFAULT_ADDRESS_THROTTLE.threshold
    login_throttle_window: float = DEFAULT_ADDRESS_THROTTLE.reset_after
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    kdf_concurrency: int = field(default_factory=default_kdf_concurrency)
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections_per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS
    allowed_origins: tuple[str, ...] = ()
    """Browser origins whose cross-site requests may change things (`--allowed-origin`)."""
    # What one import may take from the machine (issue 22, docs/security.md "Imports").
    import_max_bytes: int = ImportLimits.max_bytes
    import_max_memory: int = ImportLimits.max_memory
    import_cpu_limit: int = ImportLimits.cpu_seconds
    import_load_timeout: float = ImportLimits.load_timeout

    def import_limits(self) -> ImportLimits:
        """The import limits these settings give (`ServerConfigError` when not positive)."""
        try:
            return ImportLimits(
                max_bytes=self.import_max_bytes,
                max_memory=self.import_max_memory,
                cpu_seconds=self.import_cpu_limit,
                load_timeout=self.import_load_timeout,
            )
        except ValueError:
            raise ServerConfigError(
                "--import-max-bytes, --import-max-memory, --import-cpu-limit and"
                " --import-load-timeout must be positive."
            ) from None

    def auth_settings(self) -> AuthSettings:
        """The sign-in rules these settings give (`ValueError` when out of range)."""
        return AuthSettings(
            lockout=LockoutPolicy(
                threshold=self.login_lockout_threshold,
                duration=self.login_lockout_duration,
                reset_after=self.login_lockout_counter_reset_after,
            ),
            address_throttle=LockoutPolicy(
                threshold=self.login_throttle_threshold,
                duration=self.login_throttle_window,
                reset_after=self.login_throttle_window,
            ),
            token_lifetime=self.token_lifetime,
            kdf_concurrency=self.kdf_concurrency,
            cache_ttl=self.credential_cache_ttl,
        )

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.export_lease_ttl)

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    def _check_importer(self) -> None:
        self.import_limits()
        if self.importer not in IMPORTERS:
            raise ServerConfigError(
                f"Unknown importer {self.importer!r}; choose one of: {', '.join(IMPORTERS)}."
            )

    def check(self) -> None:
        if (self.certfile is None) != (self.keyfile is None):
            raise ServerConfigError("--certfile and --keyfile go together.")
        for path in (self.certfile, self.keyfile):
            if path is not None and not path.is_file():
                raise ServerConfigError(f"TLS file {path} does not exist.")
        if not self.tls and not self.insecure_http and not is_loopback(self.host):
            raise ServerConfigError(
                f"Refusing to serve plain HTTP on non-loopback address {self.host}: configure"
                " TLS with --certfile/--keyfile, or pass --insecure-http explicitly."
            )
        self._check_importer()
        if self.exporter not in EXPORTERS:
            raise ServerConfigError(
                f"Unknown exporter {self.exporter!r}; choose one of: {', '.join(EXPORTERS)}."
            )
        if self.smtp_url is not None and not self.notify_to:
            raise ServerConfigError("--smtp-url needs at least one --notify-to address.")
        if self.export_lease_ttl <= 0:
            raise ServerConfigError("--export-lease-ttl must be positive.")
        self._check_exports()
        if not 1 <= self.port <= 65535:
            raise ServerConfigError(f"Port {self.port} is out of range.")
        if self.metrics_access is not None and self.metrics_access not in set(MetricsAccess):
            raise ServerConfigError(
                f"Unknown --metrics-access {self.metrics_access!r}; choose open or authenticated."
            )
        try:
            self.auth_settings()
        except ValueError as error:
            raise ServerConfigError(f"Sign-in settings: {error}.") from error
        if self.token_lifetime < 1 or self.kdf_concurrency < 1:
            raise ServerConfigError("--token-lifetime and --kdf-concurrency must be at least 1.")
        self._check_edge()
        self._check_origins()

    def _check_origins(self) -> None:
        for origin in self.allowed_origins:
            try:
                normalize_origin(origin)
            except ValueError as error:
                raise ServerConfigError(f"{error}.") from error

    def _check_edge(self) -> None:
        if self.header_timeout <= 0 or self.max_header_bytes < 1024:
            raise ServerConfigError(
                "--header-timeout must be positive and --max-header-bytes at least 1024."
            )
        if self.body_timeout <= 0 or self.max_connections_per_address < 0:
            raise ServerConfigError(
                "--body-timeout must be positive and --max-connections-per-address"
                " at least 0 (0: no cap)."
            )

    def _check_exports(self) -> None:
        if self.export_timeout <= 0:
            raise ServerConfigError("--export-timeout must be positive.")
        for root in self.export_roots:
            if not root.is_dir():
                raise ServerConfigError(f"Export root {root} is not a directory.")
        try:
            EgressPolicy.build(self.allow_egress)
        except ValueError as error:
            raise ServerConfigError(f"{error}.") from error


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def version() -> str:
    try:
        return metadata.version("bdbexport")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0+unknown"


def seed_store(store: Store, config: ServerConfig) -> str:
    """Load the bootstrap file, or the demo dataset into an empty store (first start).

    Returns what to tell the operator (the demo users' one-time passwords among it);
    `serve` prints it only once the server is really serving, so a start that fails
    after seeding never shows passwords for a server nobody can reach."""
    if config.bootstrap is not None:
        # An `exporting` bdb of the operator's document has no worker here: its lease
        # starts now, so it fails like an abandoned export unless something renews it.
        lease_until = datetime.now(UTC) + config.lease_ttl
        report = apply_bootstrap(
            read_bootstrap_file(config.bootstrap), store, lease_until=lease_until
        )
        created = ", ".join(f"{len(v)} {k}" for k, v in report.created.items())
        return f"bootstrap {config.bootstrap}: created {created}; existing entries kept\n"
    if not store.is_new:
        return ""
    local_redis = find_local_redis()
    document, passwords = demo_document(local_redis)
    # The demo's export (db 4) carries its own lease, which never ends (demo_data.py):
    # the demo answers the same on any day, not only in the first minute.
    report = apply_bootstrap(document, store)
    new_users = set(report.created["users"])
    if not new_users:
        return ""  # another replica seeded the same empty store a moment earlier
    lines = ["First start: the store was seeded with the demo dataset (docs/http-api.md).\n"]
    if local_redis is not None:
        lines.append(
            f"Database 1 (orders) exports the Redis found at {local_redis.addr[0]}:"
            f"{local_redis.port}.\n"
        )
    lines.append("These passwords are shown once; keep them now:\n")
    # Only the users this process created: a replica that lost the race to seed an
    # empty shared store must not show passwords that were never stored.
    for user in document.users:
        if user.email in new_users:
            lines.append(f"  {user.role.value:<15} {user.email:<28} {passwords[user.email]}\n")
    return "".join(lines)


@dataclass
class Server:
    app: Any
    application: Application
    close: Callable[[], None]
    announcement: str = ""
    """What seeding has to tell the operator, printed once the server serves."""
    edge: EdgeObservers = field(default_factory=EdgeObservers)
    """Where the HTTP edge tells its refusals: the same access log and metrics."""

    @property
    def store(self) -> Store:
        return self.application.store


def build_server(config: ServerConfig) -> Server:
    """Everything `serve` runs, built and wired but not listening yet."""
    config.check()
    access_sink, close_access = _sink(config.access_log, sys.stdout)
    try:
        audit_sink, close_audit = _sink(config.audit_log, sys.stderr)
    except BaseException:
        close_access()
        raise
    metrics = ServerMetrics()
    try:
        # The event loop's store calls are timed for /metrics (composition/observability.py).
        store = instrument_store(open_store(config.store_url), metrics)
    except BaseException:
        close_access()
        close_audit()
        raise
    try:
        announcement = seed_store(store, config)
    except BaseException:
        store.close()
        close_access()
        close_audit()
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
    assert application.async_store is not None
    assert application.async_service is not None
    subscribe_metrics(application.bus, metrics, workers_busy=application.pool.running)
    # Failed sign-ins are counted in the store, so every replica sees the same locks.
    attempts, close_attempts = open_async_login_attempts(config.store_url)
    authenticator = Authenticator(
        application.async_store.users,
        attempts=attempts,
        token_key=store.secret("jwt"),
        settings=config.auth_settings(),
        publish=application.bus.publish,
    )
    authenticator.prepare()
    context = HttpContext(
        service=application.async_service,
        authenticator=authenticator,
        launch=application.pool.submit,
        check_location=application.check_location,
        permits=policy.permits,
    )

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

    operator = operator_view(
        metrics,
        async_store=application.async_store,
        access=metrics_access_for(config.metrics_access, loopback=is_loopback(config.host)),
    )
    # /readyz checks what serving needs: the schema or data present, a write going through.
    readiness, close_readiness = open_readiness_probe(config.store_url, reads=operator.readiness)
    operator = dataclasses.replace(operator, readiness=readiness)
    app = create_app(
        context,
        access_log=access_sink,
        version=version(),
        on_shutdown=[close],
        on_shutdown_async=[application.aclose, close_attempts, close_readiness],
        operator=operator,
        allowed_origins=config.allowed_origins,
    )
    edge = EdgeObservers(access_sink, metrics.record_edge_refusal)
    return Server(
        app=app, application=application, close=close, announcement=announcement, edge=edge
    )


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
        server = build_server(config)
    except BaseException:
        listening.close()
        raise
    scheme = "https" if config.tls else "http"
    # An IPv6 address goes in brackets in a URL: http://[::1]:9443.
    bare = config.host.strip("[]")
    host = f"[{bare}]" if ":" in bare else bare
    serving = (
        f"bdbexport {version()} serving {scheme}://{host}:{config.port}"
        f" (store {config.store_url}, exporter {config.exporter})\n"
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
    if config.smtp_url is None:
        return None
    try:
        return SmtpNotifier(
            config.smtp_url, sender=config.notify_from, recipients=list(config.notify_to)
        )
    except ValueError as error:
        raise ServerConfigError(str(error)) from error


def _sink(target: str, default: TextIO) -> tuple[PeriodicFlush | None, Callable[[], None]]:
    if target == "off":
        return None, lambda: None
    try:
        stream = default if target == "-" else Path(target).open("a", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise ServerConfigError(f"Cannot open log file {target}: {error.strerror}.") from error
    sink = PeriodicFlush(stream)

    def close() -> None:
        sink.close()
        if stream is not default:
            stream.close()

    return sink, close
