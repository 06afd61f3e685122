"""`bdbexport serve`'s settings: what the flags say, checked before anything starts.

`ServerConfig` holds every setting of `serve` with its default; `check()` refuses
settings the server cannot start with (`ServerConfigError`, whose message the CLI
prints with exit code 2) before a socket is bound or a store opened.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import metadata
from pathlib import Path

from bdbexport.adapters.audit.throttle_summary import DEFAULT_SUMMARY_INTERVAL
from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.http.authentication import (
    DEFAULT_TOKEN_LIFETIME,
    AuthSettings,
    default_kdf_concurrency,
)
from bdbexport.adapters.http.cross_site import normalize_origin
from bdbexport.adapters.http.edge_rules import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_REQUESTS_PER_ADDRESS,
    DEFAULT_WRITE_TIMEOUT,
    MAX_HEADER_TIMEOUT,
    MIN_HEADER_BYTES,
)
from bdbexport.adapters.http.operator_view import MetricsAccess
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.composition import EXPORTERS
from bdbexport.composition.importers import IMPORTERS
from bdbexport.domain.auth.lockout import DEFAULT_ADDRESS_THROTTLE, DEFAULT_LOCKOUT, LockoutPolicy

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
    worker_mode: str = "in-process"
    """Where actions run: `in-process`, `child` or `none` (entrypoints/server_workers.py)."""
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
    s3_url: str | None = None
    s3_ca_cert: Path | None = None
    gs_url: str | None = None
    abs_url: str | None = None
    sftp_known_hosts: Path | None = None
    """The remote location types' endpoints and host keys (docs/exports.md)."""
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
    write_timeout: float = DEFAULT_WRITE_TIMEOUT
    max_requests_per_address: int = DEFAULT_MAX_REQUESTS_PER_ADDRESS
    forwarded_allow_ips: tuple[str, ...] = ()
    """Proxies whose `X-Forwarded-For` names the client (none by default)."""
    throttle_summary_interval: float = DEFAULT_SUMMARY_INTERVAL
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

    """Seconds of throttled sign-ins one audit line per address sums up."""

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

    def _check_worker_mode(self) -> None:
        if self.worker_mode not in ("in-process", "child", "none"):
            raise ServerConfigError(
                f"Unknown worker mode {self.worker_mode!r}; choose in-process, child or none."
            )
        if self.worker_mode != "in-process" and self.store_url.startswith("memory:"):
            raise ServerConfigError(
                "A memory:// store lives in one process: its actions run in-process"
                " (--worker-mode in-process)."
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
        self._check_worker_mode()
        if self.export_lease_ttl <= 0:
            raise ServerConfigError("--export-lease-ttl must be positive.")
        if self.throttle_summary_interval <= 0:
            raise ServerConfigError("--throttle-summary-interval must be positive.")
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
        if not 0 < self.header_timeout <= MAX_HEADER_TIMEOUT:
            raise ServerConfigError(
                f"--header-timeout must be positive and at most {MAX_HEADER_TIMEOUT:g} seconds."
            )
        if self.max_header_bytes < MIN_HEADER_BYTES:
            raise ServerConfigError(f"--max-header-bytes must be at least {MIN_HEADER_BYTES}.")
        if self.body_timeout <= 0 or self.write_timeout <= 0:
            raise ServerConfigError("--body-timeout and --write-timeout must be positive.")
        if self.max_requests_per_address < 0:
            raise ServerConfigError("--max-requests-per-address must be at least 0 (0: no cap).")

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
        for flag, url in (
            ("--s3-url", self.s3_url),
            ("--gs-url", self.gs_url),
            ("--abs-url", self.abs_url),
        ):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ServerConfigError(f"{flag} must be an http:// or https:// URL.")
        for flag, path in (
            ("--s3-ca-cert", self.s3_ca_cert),
            ("--sftp-known-hosts", self.sftp_known_hosts),
        ):
            if path is not None and not path.is_file():
                raise ServerConfigError(f"{flag} {path} is not a readable file.")

    def remote_settings(self) -> RemoteSettings:
        """The s3, abs and sftp adapters' endpoints and bounds."""
        ca = None if self.s3_ca_cert is None else self.s3_ca_cert.read_text()
        return RemoteSettings(
            s3_url=self.s3_url,
            s3_ca_cert=ca,
            gs_url=self.gs_url,
            abs_url=self.abs_url,
            sftp_known_hosts=self.sftp_known_hosts,
            timeout=self.export_timeout,
        )


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
