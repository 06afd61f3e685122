"""The HTTP adapter: Redis Software's REST API for the export family, on Starlette."""

from .app import create_app
from .authentication import Authenticator
from .context import HttpContext

__all__ = ["Authenticator", "HttpContext", "create_app"]
