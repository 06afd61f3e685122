"""Importing: an RDB file from a location, loaded into a bdb's live Redis."""

from .rdb_importer import RdbImporter

__all__ = ["RdbImporter"]
