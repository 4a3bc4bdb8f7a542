"""The support console: a web application for support staff, a plain gRPC client of the server.

Every page runs its calls with the signed-in person's own token, so roles, rate limits and the
audit log work exactly as they do for `licensing support …`.
"""

from .app import ConsoleOptions, create_app

__all__ = ["ConsoleOptions", "create_app"]
