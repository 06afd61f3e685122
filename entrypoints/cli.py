"""`bdbexport`: the console script's entry point.

It builds the CLI adapter's command tree over the composition root (`open_local`
opens a store's runtime for local mode) and adds the one command that is pure wiring:
`serve`, which starts the REST server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    host: Annotated[str, typer.Option(help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    store: Annotated[
        str | None,
        typer.Option(
            help=(
                "Store URL: sqlite:///path (default: the embedded file), redis://host:port/db"
                " (replicas share it) or memory://."
            ),
            show_default=False,
        ),
    ] = None,
    bootstrap: Annotated[
        Path | None,
        typer.Option(help="JSON file of users, modules and bdbs to create if missing."),
    ] = None,
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    insecure_http: Annotated[
        bool, typer.Option(help="Allow plain HTTP on a non-loopback address.")
    ] = False,
    exporter: Annotated[
        str,
        typer.Option(help="How exports run: 'rdb' (snapshots of the bdb's Redis) or 'simulated'."),
    ] = "rdb",
    importer: Annotated[
        str,
        typer.Option(
            help="How imports run: 'rdb' (into the bdb's Redis) or 'memory' (an in-memory"
            " dataset: demos, client tests)."
        ),
    ] = "rdb",
    simulated_duration: Annotated[
        float, typer.Option(help="Seconds a simulated export takes.")
    ] = 5.0,
    simulated_outcome: Annotated[
        str,
        typer.Option(help="succeed, or a failure reason (no-permission, wrong-file-path, ...)."),
    ] = "succeed",
    max_concurrent_exports: Annotated[
        int,
        typer.Option(
            "--max-concurrent-exports",
            "--concurrency",
            help="Actions run at once (in-process, or by the worker child).",
        ),
    ] = 4,
    worker_mode: Annotated[
        str,
        typer.Option(help="Where actions run: in-process, child (a worker process) or none."),
    ] = "in-process",
    no_worker: Annotated[
        bool,
        typer.Option(help="An API-only replica: actions are queued for workers run apart."),
    ] = False,
    shutdown_grace: Annotated[
        float, typer.Option(help="Seconds running exports get to finish when stopping.")
    ] = 10.0,
    export_lease_ttl: Annotated[
        float,
        typer.Option(help="Seconds a running export may go without a heartbeat before it fails."),
    ] = 60.0,
    smtp_url: Annotated[
        str | None,
        typer.Option(
            help="SMTP server for email_notification: smtp://host:port or smtps://.",
            show_default=False,
        ),
    ] = None,
    notify_from: Annotated[str, typer.Option(help="Sender of notifications.")] = (
        "bdbexport@localhost"
    ),
    notify_to: Annotated[
        list[str] | None, typer.Option(help="Recipient of notifications (repeatable).")
    ] = None,
    access_log: Annotated[
        str, typer.Option(help="Access log: '-' for stdout, a file path, or 'off'.")
    ] = "-",
    audit_log: Annotated[
        str, typer.Option(help="Audit log: '-' for stderr, a file path, or 'off'.")
    ] = "-",
    export_root: Annotated[
        list[Path] | None,
        typer.Option(
            help=(
                "Directory mount_point exports may write in (repeatable; default: 'exports'"
                " next to the store)."
            ),
            show_default=False,
        ),
    ] = None,
    allow_egress: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Host, address or CIDR network remote exports and imports may connect to although"
                " refused by default (loopback, link-local, the store's host); repeatable."
            ),
            show_default=False,
        ),
    ] = None,
    export_timeout: Annotated[
        float,
        typer.Option(
            help=(
                "Seconds each network step of an export or an FTP import may take before it fails."
            )
        ),
    ] = 30.0,
    s3_url: Annotated[
        str | None,
        typer.Option(
            help="An S3-compatible store for every s3 location (path-style), as Redis Software's"
            " cluster s3_url.",
            show_default=False,
        ),
    ] = None,
    s3_ca_cert: Annotated[
        Path | None,
        typer.Option(
            help="PEM file of the CA that signed --s3-url's certificate (cluster s3_ca_cert).",
            show_default=False,
        ),
    ] = None,
    gs_url: Annotated[
        str | None,
        typer.Option(
            help="Endpoint in place of Google Cloud Storage's (e.g. http://127.0.0.1:4443).",
            show_default=False,
        ),
    ] = None,
    abs_url: Annotated[
        str | None,
        typer.Option(
            help="Azure Blob service endpoint, account included (e.g."
            " http://127.0.0.1:10000/devstoreaccount1).",
            show_default=False,
        ),
    ] = None,
    sftp_known_hosts: Annotated[
        Path | None,
        typer.Option(
            help="OpenSSH known_hosts file SFTP host keys are checked against (default: the"
            " user's ~/.ssh/known_hosts; an unknown key is always refused).",
            show_default=False,
        ),
    ] = None,
    metrics_access: Annotated[
        str | None,
        typer.Option(
            help=(
                "Who may read /metrics: 'open' or 'authenticated' (default: open on a"
                " loopback address, authenticated otherwise)."
            ),
            show_default=False,
        ),
    ] = None,
    login_lockout_threshold: Annotated[
        int,
        typer.Option(help="Failed sign-ins that lock an account (0: never lock)."),
    ] = DEFAULT_LOCKOUT.threshold,
    login_lockout_duration: Annotated[
        float,
        typer.Option(help="Seconds a locked account stays locked (0: until an admin unlocks)."),
    ] = DEFAULT_LOCKOUT.duration,
    login_lockout_counter_reset_after: Annotated[
        float,
        typer.Option(help="Seconds without a failure after which the failure count restarts."),
    ] = DEFAULT_LOCKOUT.reset_after,
    login_throttle_threshold: Annotated[
        int,
        typer.Option(help="Failed sign-ins from one client address before it must wait (429)."),
    ] = DEFAULT_ADDRESS_THROTTLE.threshold,
    login_throttle_window: Annotated[
        float,
        typer.Option(help="Seconds an address's failures are remembered, and it then waits."),
    ] = DEFAULT_ADDRESS_THROTTLE.reset_after,
    token_lifetime: Annotated[
        int,
        typer.Option(help="Seconds a token, and any token traded for it, lives after sign-in."),
    ] = DEFAULT_TOKEN_LIFETIME,
    kdf_concurrency: Annotated[
        int | None,
        typer.Option(
            help="Password verifications (scrypt) run at once (default: CPU cores - 1).",
            show_default=False,
        ),
    ] = None,
    header_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds a client has to send a request's headers, and an idle connection"
            " stays open (slowloris; at most 60)."
        ),
    ] = DEFAULT_HEADER_TIMEOUT,
    max_header_bytes: Annotated[
        int,
        typer.Option(help="Bytes the request line and headers may take together (431; >= 8192)."),
    ] = DEFAULT_MAX_HEADER_BYTES,
    body_timeout: Annotated[
        float,
        typer.Option(help="Seconds a client has to send a request's body, after its headers."),
    ] = DEFAULT_BODY_TIMEOUT,
    write_timeout: Annotated[
        float,
        typer.Option(help="Seconds a client may leave a response unread before it is dropped."),
    ] = DEFAULT_WRITE_TIMEOUT,
    max_requests_per_address: Annotated[
        int,
        typer.Option(
            help="Requests one client address may have in flight at once (429; 0: no cap)."
        ),
    ] = DEFAULT_MAX_REQUESTS_PER_ADDRESS,
    forwarded_allow_ips: Annotated[
        list[str] | None,
        typer.Option(
            help="A reverse proxy's address whose X-Forwarded-For names the client"
            " (repeatable; none by default).",
            show_default=False,
        ),
    ] = None,
    max_connections_per_address: Annotated[
        int | None,
        typer.Option(
            help="Deprecated and ignored: caps on connections per address are the front"
            " proxy's (docs/security.md, the nginx front); see --max-requests-per-address.",
            show_default=False,
        ),
    ] = None,
    import_max_bytes: Annotated[
        int,
        typer.Option(help="Bytes an import may copy: a larger source file fails the import."),
    ] = ImportLimits.max_bytes,
    import_max_memory: Annotated[
        int,
        typer.Option(help="Bytes of memory the loader of an import file may use (its cage)."),
    ] = ImportLimits.max_memory,
    import_cpu_limit: Annotated[
        int,
        typer.Option(help="Seconds of CPU time the loader of an import file may use."),
    ] = ImportLimits.cpu_seconds,
    import_load_timeout: Annotated[
        float,
        typer.Option(help="Seconds the loader of an import file may take to load it."),
    ] = ImportLimits.load_timeout,
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Browser origin (https://host[:port]) whose cross-site requests may change"
                " things; others are refused (403). Repeatable."
            ),
            show_default=False,
        ),
    ] = None,
    throttle_summary_interval: Annotated[
        float,
        typer.Option(help="Seconds of throttled sign-ins from one address one audit line sums up."),
    ] = DEFAULT_SUMMARY_INTERVAL,
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
