"""Scheduling: periodic backups, each started exactly once across replicas."""
