"""The database engine, chosen by URL, and what every connection must be set up with.

SQLite is the embedded default: one file, WAL, synchronous=FULL so that an acknowledged
issuance survives a power cut, a busy timeout so concurrent writers wait instead of failing,
and BEGIN IMMEDIATE so a write transaction takes the write lock up front (no deadlock on lock
upgrade). PostgreSQL is selected by a postgresql:// URL for several server replicas sharing one
database; its default synchronous commit gives the same durability.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import peewee
from playhouse.db_url import connect

from ..errors import ConfigurationError, Unavailable

__all__ = ["SQLITE_PRAGMAS", "database_unavailable", "open_database", "redact_url"]

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "busy_timeout": 30_000,  # milliseconds; a writer waits rather than answering "locked"
    "foreign_keys": 1,
}


def open_database(url: str) -> peewee.Database:
    """A Peewee database for `url` (sqlite:///PATH or postgresql://USER@HOST:PORT/NAME)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.parent.is_dir():
            raise ConfigurationError(f"the folder for the SQLite database does not exist: {path.parent}")
        return connect(url, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", timeout=30)
    if url.startswith(("postgresql://", "postgres://")):
        return connect(url, connect_timeout=5)
    raise ConfigurationError(
        f"unsupported database URL {redact_url(url)}: use sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for a log line or an error message."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


# Errors that mean "the database is not reachable now", as opposed to a constraint or a bug.
_CONNECTION_ERRORS = (peewee.OperationalError, peewee.InterfaceError)


@contextlib.contextmanager
def database_unavailable(db: peewee.Database) -> Iterator[None]:
    """Turn a lost connection into Unavailable, and drop it so the next call reconnects."""
    try:
        yield
    except _CONNECTION_ERRORS as exc:
        if _is_lock_timeout(exc):
            raise Unavailable("the database is busy; retry shortly", reason="DATABASE_BUSY") from exc
        with contextlib.suppress(Exception):
            db.close()
        raise Unavailable("the database cannot be reached; retry shortly") from exc


def _is_lock_timeout(exc: Exception) -> bool:
    return "database is locked" in str(exc)
