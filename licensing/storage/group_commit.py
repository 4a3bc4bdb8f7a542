"""Group commit: many callers' writes share one durable transaction, each still answered alone.

A durable commit costs a disk flush (SQLite FULL, PostgreSQL synchronous commit), and one flush
per request caps issuance at the disk's flush rate. Here one writer thread takes every write
waiting in the queue, hands the whole group to a `flush` function that writes it with a few
set-wise statements inside one transaction, commits once, and only then wakes the callers:
nobody is answered before their row is durable, and the group grows by itself with the load
(no timer, no added latency when the server is idle).

Set-wise matters in Python: every statement releases and re-takes the interpreter lock, and
under load each re-take waits behind the request threads; a few statements per group instead
of several per write is what lets the writer keep up.

`flush` decides each write's own outcome (a conflict fails that write alone). Writes to the key
store (profiles' data keys) are batched in one key-store transaction committed before the main
one, so a crash in between leaves at most unused data keys, never a profile whose email cannot
be opened. If the group fails because the connection is gone, it is retried once on a fresh
connection (every write is idempotent), then every caller gets UNAVAILABLE; if it fails for
another reason (a PostgreSQL deadlock between replicas), each write is retried in a
transaction of its own so that one cannot fail its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import peewee

from ..errors import LicensingError, Unavailable
from .compiled import insert_ignoring_conflicts
from .database import CONNECTION_ERRORS, release_connection
from .models import DataKey, utcnow

__all__ = ["GroupCommitter", "PendingWrite"]

log = logging.getLogger("licensing.storage")

_STOP = object()


@dataclass(eq=False)
class PendingWrite:
    """One caller's write waiting for its group; `flush` sets `result` or `error`."""

    data_keys: Sequence[tuple[str, bytes]] = ()  # (profile public id, wrapped data key)
    result: Any = None
    error: BaseException | None = None
    done: threading.Event | None = None  # set by submit; submit_many waits on its last write only


W = TypeVar("W", bound=PendingWrite)


class GroupCommitter(Generic[W]):
    def __init__(
        self,
        db: peewee.Database,
        keystore_db: peewee.Database,
        flush: Callable[[list[W]], None],
        *,
        max_group: int = 512,
    ) -> None:
        self.db = db
        self.keystore_db = keystore_db
        self.flush = flush
        self.max_group = max_group
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.groups = 0  # committed transactions, for benchmarks
        self.writes = 0

    def submit(self, write: W) -> Any:
        """Queue `write`; return its result once its group has committed, or raise its error."""
        self._ensure_started()
        write.done = threading.Event()
        # Give this thread's pooled connection back while waiting: the writer needs one too, and
        # a full pool of waiting callers would otherwise starve it.
        release_connection(self.db)
        release_connection(self.keystore_db)
        self._queue.put(write)
        write.done.wait()
        if write.error is not None:
            raise write.error
        return write.result

    def submit_many(self, writes: Sequence[W]) -> None:
        """Queue several writes at once and wait for all; each keeps its own result or error."""
        if not writes:
            return
        self._ensure_started()
        release_connection(self.db)
        release_connection(self.keystore_db)
        # One writer commits groups in queue order, so once the last write is done, all are.
        last = writes[-1]
        last.done = threading.Event()
        for write in writes:
            self._queue.put(write)
        last.done.wait()

    def _ensure_started(self) -> None:
        if not self._started:
            with self._lock:
                if not self._started:
                    self._thread.start()
                    self._started = True

    def stop(self) -> None:
        """Finish what is queued, then stop the writer."""
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)

    # -- the writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group: list[W] = [first]
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
            except BaseException:  # the writer must never die: fail this group, serve the next
                log.exception("group commit failed unexpectedly")
                self._reset(group)
                self._fail(group, Unavailable("the write could not be completed; retry", reason="WRITE_FAILED"))
            for write in group:
                if write.done is not None:
                    write.done.set()
            if stop_after:
                return

    def _commit_group(self, group: list[W], *, retry: bool = True) -> None:
        try:
            self._store_data_keys([pair for write in group for pair in write.data_keys])
            with self.db.atomic():
                self.flush(group)
        except CONNECTION_ERRORS as exc:
            release_connection(self.db, broken=True)
            release_connection(self.keystore_db, broken=True)
            self._reset(group)
            if retry:
                # The writer keeps its connection between groups, so after an outage the first
                # group meets a dead one. Retrying on a fresh connection is safe: every write is
                # idempotent (unique keys), even if the lost commit had in fact gone through.
                self._commit_group(group, retry=False)
                return
            log.warning("group of %d writes failed: %s", len(group), type(exc).__name__)
            self._fail(group, Unavailable("the database cannot be reached; retry shortly"))
            return
        except peewee.DatabaseError as exc:
            log.warning("group of %d writes failed (%s); retrying each alone", len(group), type(exc).__name__)
            self._reset(group)
            if len(group) == 1:
                self._fail(group, Unavailable("the database refused the write; retry", reason="WRITE_CONFLICT"))
                return
            for write in group:
                self._commit_group([write], retry=retry)
            return
        self.groups += 1
        self.writes += len(group)

    def _store_data_keys(self, pairs: list[tuple[str, bytes]]) -> None:
        if not pairs:
            return
        with self.keystore_db.atomic():
            insert_ignoring_conflicts(
                self.keystore_db,
                DataKey,
                [{"profile_public_id": pid, "wrapped_key": wrapped, "create_time": utcnow()} for pid, wrapped in pairs],
            )

    @staticmethod
    def _reset(group: Sequence[PendingWrite]) -> None:
        for write in group:
            write.result = write.error = None

    @staticmethod
    def _fail(group: Sequence[PendingWrite], error: LicensingError) -> None:
        for write in group:
            if write.result is None and write.error is None:
                write.error = error
