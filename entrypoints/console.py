"""The `bdbexport` console script's first step: is the command line installed?

The base install (`pip install .`) brings the domain only; the command line needs the
`server` extra (Typer, Rich, the HTTP client and server). Without it, the script says
so in one line and exits 2 (a usage error: how it was installed), instead of a
traceback about a module nobody asked for.
"""

from __future__ import annotations

import importlib.util
import sys

NEEDED = ("typer", "rich", "httpx", "starlette", "granian")
EXIT_MISSING_EXTRA = 2
EXIT_INTERRUPTED = 130
"""The CLI table's `INTERRUPTED`: Ctrl-C while the command line is still loading (its
imports take a moment) ends the same way as Ctrl-C during a command."""


def run() -> None:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        sys.stderr.write(
            "error: config_error: the command line needs the 'server' extra"
            f" (missing: {', '.join(missing)}); install it with: pip install '.[server]'"
            " from a clone, or pip install 'bdbexport[server]'.\n"
        )
        raise SystemExit(EXIT_MISSING_EXTRA)
    try:
        from .cli import run as run_cli

        run_cli()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
