"""Group commit: many callers' writes share one durable transaction, each still answered alone.

A durable commit costs a disk flush (SQLite FULL, PostgreSQL synchronous commit), and one flush
per request caps issuance at the disk's flush rate. Here one writer thread takes every write
waiting in the queue, runs each in its own savepoint inside one transaction, commits once, and
only then wakes the callers: nobody is answered before their row is durable, a failing write
rolls back its savepoint and fails alone, and the batch grows by itself with the load (no timer
and no added latency when the server is idle).

Writes to the key store (profiles' data keys) are batched the same way, in one key-store
transaction committed before the main one, so a crash in between leaves at most unused data
keys, never a profile whose email cannot be opened.

If the group's commit itself fails because the connection is gone, every caller gets the
error; if it fails for another reason (a PostgreSQL deadlock between replicas), each write is
retried in a transaction of its own so that one conflict cannot fail its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import peewee

from ..errors import LicensingError, Unavailable
from .database import CONNECTION_ERRORS, release_connection
from .models import DataKey

__all__ = ["GroupCommitter"]

log = logging.getLogger("licensing.storage")
T = TypeVar("T")

_STOP = object()


@dataclass(eq=False)
class _Write(Generic[T]):
    work: Callable[[], T]
    data_keys: Sequence[tuple[str, bytes]]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, db: peewee.Database, keystore_db: peewee.Database, *, max_group: int = 256) -> None:
        self.db = db
        self.keystore_db = keystore_db
        self.max_group = max_group
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.groups = 0  # how many transactions were committed (for benchmarks)
        self.writes = 0

    def submit(self, work: Callable[[], T], data_keys: Sequence[tuple[str, bytes]] = ()) -> T:
        """Run `work` in the next group's transaction; return its result once committed.

        `data_keys` are (profile public id, wrapped key) pairs to store in the key store first.
        """
        if not self._started:
            with self._lock:
                if not self._started:
                    self._thread.start()
                    self._started = True
        write: _Write[T] = _Write(work, data_keys)
        self._queue.put(write)
        write.done.wait()
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)

    # -- the writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group: list[_Write[Any]] = [first]
            stop_after = False
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop_after = True
                    break
                group.append(item)
            try:
                self._commit_group(group)
            except BaseException as exc:  # the writer must never die: fail this group, serve the next
                log.exception("group commit failed unexpectedly")
                for write in group:
                    if not write.done.is_set():
                        write.error = exc if isinstance(exc, LicensingError) else Unavailable("the write failed; retry")
                        write.done.set()
            if stop_after:
                return

    def _commit_group(self, group: list[_Write[Any]], *, retry: bool = True) -> None:
        try:
            self._store_data_keys([pair for write in group for pair in write.data_keys])
            with self.db.atomic():
                for write in group:
                    self._run_in_savepoint(write)
        except CONNECTION_ERRORS as exc:
            release_connection(self.db, broken=True)
            release_connection(self.keystore_db, broken=True)
            if retry:
                # The writer keeps its connection between groups, so after an outage the first
                # group meets a dead one. Retrying on a fresh connection is safe: every write is
                # idempotent (unique keys), even if the lost commit had in fact gone through.
                for write in group:
                    write.error = write.result = None
                self._commit_group(group, retry=False)
                return
            self._fail(group, Unavailable("the database cannot be reached; retry shortly"), exc)
            return
        except peewee.DatabaseError:
            log.warning("group of %d writes failed to commit; retrying each alone", len(group))
            release_connection(self.db, broken=True)
            self._commit_one_by_one(group)
            return
        self.groups += 1
        self.writes += len(group)
        for write in group:
            write.done.set()

    def _run_in_savepoint(self, write: _Write[Any]) -> None:
        try:
            with self.db.atomic():
                write.result = write.work()
        except LicensingError as exc:
            write.error = exc
        except (peewee.IntegrityError, ValueError) as exc:  # a bug, not the caller's fault: fail it alone
            log.error("a write failed: %s", type(exc).__name__)
            write.error = Unavailable("the write could not be completed; retry", reason="WRITE_FAILED")

    def _commit_one_by_one(self, group: list[_Write[Any]]) -> None:
        for write in group:
            write.error = None
            try:
                with self.db.atomic():
                    self._run_in_savepoint(write)
            except CONNECTION_ERRORS:
                release_connection(self.db, broken=True)
                write.error = Unavailable("the database cannot be reached; retry shortly")
            except peewee.DatabaseError:
                write.error = Unavailable("the database refused the write; retry", reason="WRITE_CONFLICT")
            write.done.set()

    def _store_data_keys(self, pairs: list[tuple[str, bytes]]) -> None:
        if not pairs:
            return
        with self.keystore_db.atomic():
            DataKey.insert_many(
                [{"profile_public_id": public_id, "wrapped_key": wrapped} for public_id, wrapped in pairs]
            ).on_conflict_ignore().execute()

    @staticmethod
    def _fail(group: list[_Write[Any]], error: LicensingError, cause: BaseException) -> None:
        log.warning("group of %d writes failed: %s", len(group), type(cause).__name__)
        for write in group:
            write.error = error
            write.done.set()
