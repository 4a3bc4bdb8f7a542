"""The database engine, chosen by URL, and what every connection must be set up with.

SQLite is the embedded default: one file, WAL, synchronous=FULL so that an acknowledged
issuance survives a power cut, a busy timeout so concurrent writers wait instead of failing,
and BEGIN IMMEDIATE so a write transaction takes the write lock up front (no deadlock on lock
upgrade). PostgreSQL is selected by a postgresql:// URL for several server replicas sharing one
database; its default synchronous commit gives the same durability.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import peewee
from playhouse.db_url import connect, parse
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase, PooledPostgresqlDatabase

from ..errors import ConfigurationError
from .files import private_sqlite_file

__all__ = [
    "CONNECTION_ERRORS",
    "SQLITE_PRAGMAS",
    "CheckpointBusy",
    "close_before_fork",
    "is_pooled",
    "is_transaction_conflict",
    "open_database",
    "purge_deleted_rows",
    "redact_url",
    "release_connection",
    "use_writer_cache",
]

# Peewee logs every statement with its parameters at DEBUG, license keys included. Logs are for
# trends and never tied to a person, so its statement log stays off even when we debug.
logging.getLogger("peewee").setLevel(logging.INFO)

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "busy_timeout": 30_000,  # milliseconds; a writer waits rather than answering "locked"
    "foreign_keys": 1,
    # Deleted and overwritten content is zeroed, not just unlinked, so an erased data key, a
    # cleared note or a dropped column leaves no trace in either database file.
    "secure_delete": 1,
}
_BUSY_TIMEOUT_MS = SQLITE_PRAGMAS["busy_timeout"]


class CheckpointBusy(Exception):
    """A reader (a running backup, a long query) kept the write-ahead log from being emptied."""


def open_database(url: str, *, max_connections: int = 16) -> peewee.Database:
    """A Peewee database for `url` (sqlite:///PATH or postgresql://USER@HOST:PORT/NAME).

    PostgreSQL connections come from a bounded pool and go back to it after every call, so a
    replica holds at most `max_connections` however many threads it has served from; several
    replicas then fit within the server's own connection limit.
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.parent.is_dir():
            raise ConfigurationError(
                f"the folder for the SQLite database does not exist: {path.parent}; "
                "run `licensing init` there first (`make serve` does it for var/home)"
            )
        private_sqlite_file(path)
        sqlite: peewee.Database = connect(url, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", timeout=30)
        return sqlite
    if url.startswith(("postgresql://", "postgres://")):
        pool: peewee.Database = PooledPostgresqlDatabase(
            **parse(url),
            max_connections=max_connections,
            stale_timeout=300,
            timeout=10,  # seconds to wait for a free connection before giving up
            connect_timeout=5,
        )
        return pool
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
CONNECTION_ERRORS = (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded)


_ROLLED_BACK = frozenset({"40P01", "40001"})  # SQLSTATEs of psycopg2's TransactionRollbackError


def is_transaction_conflict(exc: BaseException) -> bool:
    """Whether a database error is PostgreSQL undoing a transaction that conflicted with another
    (deadlock_detected 40P01, serialization_failure 40001): the connection is fine, and the work
    can be tried again. Peewee reports it as an OperationalError, like a lost connection."""
    return getattr(getattr(exc, "orig", None), "pgcode", None) in _ROLLED_BACK


WRITER_CACHE_KIB = 64 * 1024


def use_writer_cache(db: peewee.Database) -> None:
    """Give the writer's SQLite connection a page cache of WRITER_CACHE_KIB (the default is 2 MiB).

    Every new purchaser dirties a leaf page of each random-key index (blind index, public id, data
    key, serial); once those indexes outgrow the cache, each group reads them back from the file
    and its commits write and checkpoint more. Only the writer's connection, the one that touches
    them all, gets the larger cache: the readers' pooled connections keep the default. Run in the
    writer's transaction (one cheap PRAGMA per group: a connection reopened after an error gets
    it too). PostgreSQL's cache is the server's."""
    if isinstance(db, peewee.SqliteDatabase):
        db.execute_sql(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")


def is_pooled(db: peewee.Database) -> bool:
    return isinstance(db, PooledPostgresqlDatabase)


def release_connection(db: peewee.Database, *, broken: bool = False) -> None:
    """End this thread's use of `db`: a pooled connection goes back to its pool, a broken one is
    dropped so the next call reconnects. SQLite keeps its per-thread connection open."""
    try:
        if broken and isinstance(db, PooledPostgresqlDatabase) and not db.is_closed():
            db.manual_close()
        elif (broken or is_pooled(db)) and not db.in_transaction():
            db.close()
    except (peewee.DatabaseError, peewee.InterfaceError, OSError) as exc:
        # A connection that is already gone may fail to close; it is dropped all the same.
        logging.getLogger("licensing.storage").debug(
            "closing a broken connection failed: %s", type(exc).__name__
        )


def close_before_fork(*databases: peewee.Database) -> None:
    """Close every connection this process holds to `databases`, pooled or not, before a fork:
    a socket or file handle inherited through fork would be used by two processes at once. Each
    process opens its own again on its first query."""
    for db in databases:
        if isinstance(db, PooledDatabase):
            db.close_all()
        else:
            db.close()


def purge_deleted_rows(
    db: peewee.Database, *tables: str, attempts: int = 5, wait_ms: int = 250, rewrite: bool = False
) -> None:
    """Make deleted rows of `tables` unreadable in the live files, not just invisible; or raise.

    SQLite (secure_delete on) has zeroed them in the pages it wrote, but until a checkpoint the
    old page can still sit in the database file and the write-ahead log. A TRUNCATE checkpoint
    copies the log back and empties it; a reader holding an older snapshot (a running `.backup`)
    makes it report busy, and then the old page is still on disk: after `attempts` tries of
    `wait_ms` each, CheckpointBusy says so instead of pretending.

    PostgreSQL: a plain VACUUM frees dead tuples but can leave their bytes in the page's free
    space, so `rewrite` (for the small key-store table) runs VACUUM FULL, which writes the live
    rows to a new file. Neither can drop a tuple that a transaction begun earlier may still see
    (a running pg_dump), so such a transaction, or a lock that VACUUM FULL cannot get within
    `wait_ms`, is CheckpointBusy too. What PostgreSQL's own WAL keeps is in docs/operations.md.
    """
    log = logging.getLogger("licensing.storage")
    if isinstance(db, peewee.SqliteDatabase):
        for attempt in range(attempts):
            if attempt:
                # Another checkpoint running (a concurrent erase) answers busy at once, without
                # the busy handler: give it time to finish, as a reader gets in the handler.
                time.sleep(wait_ms / 1000)
            db.execute_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
            try:
                busy, log_frames, checkpointed = db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                db.execute_sql(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            # TRUNCATE that succeeds leaves an empty log: (0, 0, 0). -1 frames: not in WAL mode.
            if busy == 0 and log_frames in (0, -1) and checkpointed in (0, -1):
                return
            log.info("checkpoint busy (attempt %d of %d)", attempt + 1, attempts)
        raise CheckpointBusy(
            "the write-ahead log could not be emptied: another connection holds a read transaction"
        )
    if isinstance(db, peewee.PostgresqlDatabase):
        if not rewrite:
            for table in tables:
                db.execute_sql(f'VACUUM "{table}"')
            return
        for attempt in range(attempts):
            if attempt:
                time.sleep(wait_ms / 1000)
            if _older_snapshots(db):
                log.info("vacuum deferred by an older snapshot (attempt %d of %d)", attempt + 1, attempts)
                continue
            try:
                db.execute_sql(f"SET lock_timeout = '{int(wait_ms)}ms'")
                kept = sum(_rewrite(db, table) for table in tables)
            except peewee.OperationalError:  # lock_timeout: a reader holds the table
                log.info("vacuum full waited too long for its lock (attempt %d of %d)", attempt + 1, attempts)
                continue
            finally:
                db.execute_sql("RESET lock_timeout")
            if kept == 0 and not _older_snapshots(db):
                return
            log.info(
                "vacuum full kept %d dead row version(s) (attempt %d of %d)", kept, attempt + 1, attempts
            )
        raise CheckpointBusy(
            "the deleted rows could not be rewritten away: another transaction still sees them"
        )


_KEPT = re.compile(r"(\d+) dead row versions cannot be removed yet")


def _rewrite(db: peewee.Database, table: str) -> int:
    """VACUUM FULL `table`; how many dead row versions it had to copy into the new file because a
    snapshot may still see them (from VERBOSE's report; 0 when the report is not in English,
    and then the snapshot check alone decides)."""
    connection = db.connection()
    notices = getattr(connection, "notices", None)
    if notices is not None:
        del notices[:]
    db.execute_sql(f'VACUUM (FULL, VERBOSE) "{table}"')
    return sum(int(n) for notice in (notices or ()) for n in _KEPT.findall(notice))


def _older_snapshots(db: peewee.Database) -> bool:
    """Whether another client session of this database holds a snapshot begun before now
    (pg_stat_activity shows every session's xmin to a superuser or a member of pg_read_all_stats).
    Autovacuum workers are left out: VACUUM FULL waits for their lock, and they hold no snapshot
    that keeps a deleted row visible to anyone."""
    row = db.execute_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' AND backend_xmin IS NOT NULL AND xact_start < statement_timestamp()"
    ).fetchone()
    return bool(row[0])
