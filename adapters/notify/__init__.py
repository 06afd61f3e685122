"""Announcing the end of actions: the SMTP notifier and the event handler using it."""

from .handler import NotificationHandler
from .smtp import SmtpNotifier

__all__ = ["NotificationHandler", "SmtpNotifier"]
