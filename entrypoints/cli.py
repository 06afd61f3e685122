"""`bdbexport`: the console script's entry point.

It builds the CLI adapter's command tree over the composition root (`open_local`
opens a store's runtime for local mode) and adds the two commands that are pure wiring:
`serve`, which starts the REST server (`serve_command.py`), and `worker` (`worker.py`).
"""

from __future__ import annotations

from bdbexport.adapters.cli.errors import CliError
from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.adapters.cli.main import build_app
from bdbexport.adapters.cli.wiring import CliWiring, LocalRuntime
from bdbexport.composition.local import MissingStoreError, open_local_runtime
from bdbexport.composition.stores import StoreUrlError
from bdbexport.domain.errors import DomainError

from .serve_command import add_serve_command
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
add_serve_command(app)
add_worker_command(app)


def run() -> None:
    """The console script's entry point.

    The global options may go anywhere on the command line (`bdbexport db show 1 --json`):
    the app's root group moves them to the front before Click parses
    (`bdbexport.adapters.cli.argv`). It does so in its own `main`, so this call and tests
    that run `app` with `typer.testing.CliRunner` get the same normalisation."""
    app()
