"""Logging an unexpected error without the values it may quote.

A driver's exception text can quote the row it choked on (PostgreSQL: `Key (order_ref)=(…)`),
and logs are for trends, never tied to a person. So an unexpected error is logged as its type
and the frames it came through (file, line, source line: where, not what), never its message.
"""

from __future__ import annotations

import logging
import traceback

__all__ = ["log_unexpected"]


def log_unexpected(log: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        message + ": %s (message withheld: it may quote stored values)\n%s", *args, type(exc).__name__, frames
    )
