"""The audit trail: domain events written as JSON lines."""

from .json_lines import JsonLinesEventLog

__all__ = ["JsonLinesEventLog"]
