"""Scheduling: periodic backups, each started exactly once across replicas."""

from .backup_scheduler import BackupScheduler

__all__ = ["BackupScheduler"]
