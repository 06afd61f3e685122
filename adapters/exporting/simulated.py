"""A *simulated* exporter: it copies nothing.

It exists for demos and for client CI that has no Redis to export: it takes a
configurable time, reports evenly spaced progress through the real state machine and
ends with a configurable outcome. Every status it produces is labelled as simulated in
the failure detail and in the server's startup banner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.statuses import ExportFailureReason

from .rdb_exporter import SUPPORTED_LOCATION_TYPES

SUCCEED = "succeed"


class SimulatedExporter:
    """Pretends to export in `duration` seconds over `steps` progress reports.

    `outcome` is "succeed" or an `ExportFailureReason` value. `stop` (an event the
    worker pool sets on shutdown) ends a running simulation early, as a failure.
    """

    location_types = SUPPORTED_LOCATION_TYPES
    """What the real exporter serves: a simulation refuses what a real export would
    (docs/exports.md), and the same start-time checks judge its locations."""

    def __init__(
        self,
        *,
        duration: float = 5.0,
        outcome: str = SUCCEED,
        steps: int = 10,
        stop: threading.Event | None = None,
        remote_types: frozenset[str] = frozenset(),
    ) -> None:
        """`remote_types`: the types the real exporter serves through the composition
        root's remote adapters (s3, abs, sftp), so the simulation accepts them too."""
        self.location_types = SUPPORTED_LOCATION_TYPES | remote_types
        if duration < 0 or steps < 1:
            raise ValueError("duration must be >= 0 and steps >= 1")
        if outcome != SUCCEED:
            ExportFailureReason(outcome)  # refuses anything else
        self.duration = duration
        self.outcome = outcome
        self.steps = steps
        self._stop = stop or threading.Event()

    def export(self, bdb: Bdb, location: ExportLocation, progress: Callable[[int], None]) -> None:
        """Returns None: it writes nothing, so there are no bytes to count."""
        pause = self.duration / self.steps
        for step in range(1, self.steps):
            if self._stop.wait(pause):
                raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, "server shutdown")
            progress(step * 100 // self.steps)
        if self._stop.wait(pause):
            raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, "server shutdown")
        if self.outcome != SUCCEED:
            raise ExportFailedError(
                ExportFailureReason(self.outcome), "simulated exporter: configured outcome"
            )
