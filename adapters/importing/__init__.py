"""Importing: an RDB file from a location, loaded into a bdb's live Redis."""

from .limits import ImportLimits
from .rdb_importer import RdbImporter

__all__ = ["ImportLimits", "RdbImporter"]
