"""Our app as an ASGI factory, for running it on a server other than `serve`'s.

`python -m benchmarks.servers` measures the same app on uvicorn and on granian (one
worker each): the server, not the app, is the variable. The store and logs come from
the environment: BDBEXPORT_BENCH_STORE (default `memory://`), BDBEXPORT_BENCH_BOOTSTRAP
and BDBEXPORT_BENCH_LOGS (a directory).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bdbexport.entrypoints.server import ServerConfig, build_server


def app() -> Any:
    logs = Path(os.environ.get("BDBEXPORT_BENCH_LOGS", "."))
    bootstrap = os.environ.get("BDBEXPORT_BENCH_BOOTSTRAP")
    config = ServerConfig(
        store_url=os.environ.get("BDBEXPORT_BENCH_STORE", "memory://"),
        bootstrap=Path(bootstrap) if bootstrap else None,
        exporter="simulated",
        access_log=str(logs / "access.log"),
        audit_log=str(logs / "audit.log"),
    )
    return build_server(config).app
