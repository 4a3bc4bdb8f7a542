"""Errors of the libraries underneath become the project's, here and nowhere else.

httpx's `map_exceptions` is the model: a command runs inside `mapped_errors()`, and a Peewee or
driver error (the database is down, missing or unreadable) or a failed outbound gRPC call comes
out as a LicensingError that says what is wrong and what to do, with the original chained
(`raise … from exc`) so that `-v` still shows the whole story. Anything not listed here is a bug
and keeps its traceback.

The libraries are looked up in `sys.modules` rather than imported: a command that never loaded
Peewee cannot have raised one of its errors, and `licensing --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import LicensingError, Unavailable

__all__ = ["DATABASE_HINT", "licensing_error_of", "mapped_errors"]

DATABASE_HINT = (
    "check that the database server is running and that LICENSING_DATABASE_URL and "
    "LICENSING_KEYSTORE_URL (or --database-url, --keystore-url) name databases that exist"
)


@contextmanager
def mapped_errors() -> Iterator[None]:
    """Run a block; a known library error leaves it as the matching LicensingError."""
    try:
        yield
    except LicensingError:
        raise
    except Exception as exc:
        mapped = licensing_error_of(exc)
        if mapped is None:
            raise
        raise mapped from exc


def licensing_error_of(exc: BaseException) -> LicensingError | None:
    """The project's error for a library error, or None when it is not one we know."""
    peewee = sys.modules.get("peewee")
    if peewee is not None and isinstance(exc, peewee.OperationalError | peewee.InterfaceError):
        return Unavailable(f"cannot use the database: {_first_line(exc)}; {DATABASE_HINT}")
    pool = sys.modules.get("playhouse.pool")
    if pool is not None and isinstance(exc, pool.MaxConnectionsExceeded):
        return Unavailable("every database connection is busy; try again, or raise --workers")
    grpc = sys.modules.get("grpc")
    if grpc is not None and isinstance(exc, grpc.RpcError):
        from .client import error_of_call  # only a command that made a call gets here

        return error_of_call(exc, address=None)
    return None


def _first_line(exc: BaseException) -> str:
    """The driver's first line (psycopg2 adds indented hints below it), whitespace squeezed."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return " ".join(text.split()).rstrip(".")
