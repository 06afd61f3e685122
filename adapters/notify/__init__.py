"""Announcing the end of exports."""

from .smtp import SmtpNotifier

__all__ = ["SmtpNotifier"]
