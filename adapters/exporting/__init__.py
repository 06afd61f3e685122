"""Running exports: a bounded worker pool, and the exporters it drives."""

from .simulated import SimulatedExporter
from .worker_pool import ExportWorkerPool

__all__ = ["ExportWorkerPool", "SimulatedExporter"]
