"""`bdbexport`: the console script's entry point.

It builds the CLI adapter's command tree over the composition root (`open_local`
opens a store's runtime for local mode) and adds the one command that is pure wiring:
`serve`, which starts the REST server.
"""

from __future__ import annotations

import typer

from bdbexport.adapters.audit.throttle_summary import DEFAULT_SUMMARY_INTERVAL
from bdbexport.adapters.cli.errors import CliError
from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.adapters.cli.main import build_app
from bdbexport.adapters.cli.runtime import State, run_command
from bdbexport.adapters.cli.wiring import CliWiring, LocalRuntime
from bdbexport.adapters.http.authentication import DEFAULT_TOKEN_LIFETIME, default_kdf_concurrency
from bdbexport.adapters.http.edge_rules import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_REQUESTS_PER_ADDRESS,
    DEFAULT_WRITE_TIMEOUT,
)
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.composition.bootstrap_file import BootstrapError
from bdbexport.composition.local import MissingStoreError, open_local_runtime
from bdbexport.composition.stores import StoreUrlError, default_store_url
from bdbexport.domain.auth.lockout import DEFAULT_ADDRESS_THROTTLE, DEFAULT_LOCKOUT
from bdbexport.domain.errors import DomainError

from .serve_options import (
    AbsUrl,
    AccessLog,
    AllowedOrigin,
    AllowEgress,
    AuditLog,
    BodyTimeout,
    Bootstrap,
    Certfile,
    Exporter,
    ExportLeaseTtl,
    ExportRoot,
    ExportTimeout,
    ForwardedAllowIps,
    GsUrl,
    HeaderTimeout,
    Host,
    ImportCpuLimit,
    Importer,
    ImportLoadTimeout,
    ImportMaxBytes,
    ImportMaxMemory,
    InsecureHttp,
    KdfConcurrency,
    Keyfile,
    LoginLockoutCounterResetAfter,
    LoginLockoutDuration,
    LoginLockoutThreshold,
    LoginThrottleThreshold,
    LoginThrottleWindow,
    MaxConcurrentExports,
    MaxConnectionsPerAddress,
    MaxHeaderBytes,
    MaxRequestsPerAddress,
    MetricsAccess,
    NotifyFrom,
    NotifyTo,
    NoWorker,
    Port,
    S3CaCert,
    S3Url,
    SftpKnownHosts,
    ShutdownGrace,
    SimulatedDuration,
    SimulatedOutcome,
    SmtpUrl,
    Store,
    ThrottleSummaryInterval,
    TokenLifetime,
    WorkerMode,
    WriteTimeout,
)
from .server import DEFAULT_HOST, DEFAULT_PORT, ServerConfig, ServerConfigError, serve
from .worker import add_worker_command


def open_local(store_url: str | None, create: bool) -> LocalRuntime:
    """The store's runtime, its failures as the CLI's errors and exit codes."""
    try:
        return open_local_runtime(store_url, create)
    except MissingStoreError as missing:
        raise CliError(
            "incompatible_store",
            f"store file {missing} does not exist (run `bdbexport serve` once to create it,"
            " or pass --store)",
            exit_code=ExitCode.STORE,
        ) from None
    except StoreUrlError as error:
        raise CliError("config_error", str(error), exit_code=ExitCode.USAGE) from error
    except DomainError as error:
        raise CliError(error.code, error.description) from error


app = build_app(CliWiring(open_local=open_local))
add_worker_command(app)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Host = DEFAULT_HOST,
    port: Port = DEFAULT_PORT,
    store: Store = None,
    bootstrap: Bootstrap = None,
    certfile: Certfile = None,
    keyfile: Keyfile = None,
    insecure_http: InsecureHttp = False,
    exporter: Exporter = "rdb",
    importer: Importer = "rdb",
    simulated_duration: SimulatedDuration = 5.0,
    simulated_outcome: SimulatedOutcome = "succeed",
    max_concurrent_exports: MaxConcurrentExports = 4,
    worker_mode: WorkerMode = "in-process",
    no_worker: NoWorker = False,
    shutdown_grace: ShutdownGrace = 10.0,
    export_lease_ttl: ExportLeaseTtl = 60.0,
    smtp_url: SmtpUrl = None,
    notify_from: NotifyFrom = "bdbexport@localhost",
    notify_to: NotifyTo = None,
    access_log: AccessLog = "-",
    audit_log: AuditLog = "-",
    export_root: ExportRoot = None,
    allow_egress: AllowEgress = None,
    export_timeout: ExportTimeout = 30.0,
    s3_url: S3Url = None,
    s3_ca_cert: S3CaCert = None,
    gs_url: GsUrl = None,
    abs_url: AbsUrl = None,
    sftp_known_hosts: SftpKnownHosts = None,
    metrics_access: MetricsAccess = None,
    login_lockout_threshold: LoginLockoutThreshold = DEFAULT_LOCKOUT.threshold,
    login_lockout_duration: LoginLockoutDuration = DEFAULT_LOCKOUT.duration,
    login_lockout_counter_reset_after: LoginLockoutCounterResetAfter = DEFAULT_LOCKOUT.reset_after,
    login_throttle_threshold: LoginThrottleThreshold = DEFAULT_ADDRESS_THROTTLE.threshold,
    login_throttle_window: LoginThrottleWindow = DEFAULT_ADDRESS_THROTTLE.reset_after,
    token_lifetime: TokenLifetime = DEFAULT_TOKEN_LIFETIME,
    kdf_concurrency: KdfConcurrency = None,
    header_timeout: HeaderTimeout = DEFAULT_HEADER_TIMEOUT,
    max_header_bytes: MaxHeaderBytes = DEFAULT_MAX_HEADER_BYTES,
    body_timeout: BodyTimeout = DEFAULT_BODY_TIMEOUT,
    write_timeout: WriteTimeout = DEFAULT_WRITE_TIMEOUT,
    max_requests_per_address: MaxRequestsPerAddress = DEFAULT_MAX_REQUESTS_PER_ADDRESS,
    forwarded_allow_ips: ForwardedAllowIps = None,
    max_connections_per_address: MaxConnectionsPerAddress = None,
    import_max_bytes: ImportMaxBytes = ImportLimits.max_bytes,
    import_max_memory: ImportMaxMemory = ImportLimits.max_memory,
    import_cpu_limit: ImportCpuLimit = ImportLimits.cpu_seconds,
    import_load_timeout: ImportLoadTimeout = ImportLimits.load_timeout,
    allowed_origin: AllowedOrigin = None,
    throttle_summary_interval: ThrottleSummaryInterval = DEFAULT_SUMMARY_INTERVAL,
) -> None:
    """Run the REST server (Redis Software's export endpoints)."""

    def body(state: State) -> None:
        config = ServerConfig(
            store_url=store or state.settings.store or default_store_url(),
            host=host,
            port=port,
            bootstrap=bootstrap,
            certfile=certfile,
            keyfile=keyfile,
            insecure_http=insecure_http,
            exporter=exporter,
            importer=importer,
            simulated_duration=simulated_duration,
            simulated_outcome=simulated_outcome,
            max_concurrent_exports=max_concurrent_exports,
            worker_mode="none" if no_worker else worker_mode,
            shutdown_grace=shutdown_grace,
            export_lease_ttl=export_lease_ttl,
            smtp_url=smtp_url,
            notify_from=notify_from,
            notify_to=tuple(notify_to or ()),
            access_log=access_log,
            audit_log=audit_log,
            export_roots=tuple(export_root or ()),
            allow_egress=tuple(allow_egress or ()),
            export_timeout=export_timeout,
            s3_url=s3_url,
            s3_ca_cert=s3_ca_cert,
            gs_url=gs_url,
            abs_url=abs_url,
            sftp_known_hosts=sftp_known_hosts,
            metrics_access=metrics_access,
            login_lockout_threshold=login_lockout_threshold,
            login_lockout_duration=login_lockout_duration,
            login_lockout_counter_reset_after=login_lockout_counter_reset_after,
            login_throttle_threshold=login_throttle_threshold,
            login_throttle_window=login_throttle_window,
            token_lifetime=token_lifetime,
            kdf_concurrency=kdf_concurrency or default_kdf_concurrency(),
            header_timeout=header_timeout,
            max_header_bytes=max_header_bytes,
            body_timeout=body_timeout,
            write_timeout=write_timeout,
            max_requests_per_address=max_requests_per_address,
            forwarded_allow_ips=tuple(forwarded_allow_ips or ()),
            import_max_bytes=import_max_bytes,
            import_max_memory=import_max_memory,
            import_cpu_limit=import_cpu_limit,
            import_load_timeout=import_load_timeout,
            allowed_origins=tuple(allowed_origin or ()),
            throttle_summary_interval=throttle_summary_interval,
        )
        if max_connections_per_address is not None:
            typer.echo(
                "warning: --max-connections-per-address is deprecated and ignored: serve no"
                " longer caps connections per address; put the documented nginx front before"
                " it (docs/security.md) and see --max-requests-per-address.",
                err=True,
            )
        try:
            serve(config)
        except (ServerConfigError, StoreUrlError, BootstrapError, ValueError) as error:
            raise CliError("config_error", str(error), exit_code=ExitCode.USAGE) from error
        except DomainError as error:
            raise CliError(error.code, error.description) from error
        except OSError as error:
            raise CliError(
                "connection_error",
                f"cannot listen on {host}:{port}: {error.strerror}",
                hint="is another server on that port? choose another with --port.",
            ) from error

    run_command(ctx, body)


def run() -> None:
    """The console script's entry point.

    The global options may go anywhere on the command line (`bdbexport db show 1 --json`):
    the app's root group moves them to the front before Click parses
    (`bdbexport.adapters.cli.argv`). It does so in its own `main`, so this call and tests
    that run `app` with `typer.testing.CliRunner` get the same normalisation."""
    app()
