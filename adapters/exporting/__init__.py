"""Running exports: a bounded worker pool, and the exporters it drives."""

from .rdb_exporter import RdbExporter
from .simulated import SimulatedExporter
from .worker_pool import ActionRunner

__all__ = ["ActionRunner", "RdbExporter", "SimulatedExporter"]
