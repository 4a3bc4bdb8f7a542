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

`flush` decides each write's own outcome (a conflict fails that write alone). The queue knows
nothing of what it writes: a `before_commit` hook runs first, outside the main transaction, and
what it returns is handed to `flush` (the issuer stores new profiles' data keys there, committed
before the main transaction, so a crash in between leaves at most unused data keys, never a
profile whose email cannot be opened; flush creates the profiles whose keys it stored). If the
group fails because the connection is gone, it is retried once on a fresh connection (every write
is idempotent), then every caller gets UNAVAILABLE; if it fails for another reason (a constraint,
or a PostgreSQL deadlock or serialization failure between replicas, which the driver reports as
an OperationalError too), each write is retried in a transaction of its own so that one cannot
fail its neighbours.

Under load the groups are kept from shrinking to a write or two: when the previous group held
more than one write (callers are arriving together), the writer waits `linger_seconds` (1 ms) after
the first write of the next group before taking it. Each group costs a fixed set of statements and
a commit, so a few writes more per group is CPU saved for every caller, and the wait releases the
interpreter lock to the event loop that is preparing those writes. An idle server's lone call
(previous group of one) is never held back.

Waking is per group, not per write: once a group is committed the writer finishes every submission
it completed at once — one Event per waiting thread, and one `call_soon_threadsafe` per event loop
for all the coroutines of that loop (`submit_async`), so a group of 200 asyncio callers costs the
loop one wake-up, not 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import peewee

from ..errors import LicensingError, Unavailable
from ..logsafe import log_unexpected
from ..threadnames import name_native_thread
from .database import CONNECTION_ERRORS, is_transaction_conflict, release_connection

__all__ = ["GroupCommitter", "PendingWrite"]

log = logging.getLogger("licensing.storage")

_STOP = object()


class _Submission:
    """The writes one caller submitted together, and how to tell that caller they are all done."""

    __slots__ = ("event", "future", "loop", "remaining")

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop | None) -> None:
        self.remaining = count
        self.loop = loop
        self.event: threading.Event | None = None if loop is not None else threading.Event()
        self.future: asyncio.Future[None] | None = loop.create_future() if loop is not None else None


@dataclass(eq=False)
class PendingWrite:
    """One caller's write waiting for its group; `flush` sets `result` or `error`."""

    result: Any = None
    error: BaseException | None = None
    submission: _Submission | None = field(default=None, repr=False)


W = TypeVar("W", bound=PendingWrite)


def _finish(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # a caller cancelled (deadline) in the meantime
            future.set_result(None)


class GroupCommitter(Generic[W]):
    def __init__(
        self,
        db: peewee.Database,
        flush: Callable[[list[W], Any], None],
        *,
        before_commit: Callable[[list[W]], Any] | None = None,
        other_databases: Sequence[peewee.Database] = (),
        max_group: int = 512,
        linger_seconds: float = 0.001,
    ) -> None:
        self.db = db
        self.flush = flush
        self.before_commit = before_commit
        self.databases = (db, *other_databases)  # connections given back by waiters, reset on errors
        self.max_group = max_group
        self.linger_seconds = linger_seconds
        self._last_group_size = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.groups = 0  # committed transactions, for benchmarks
        self.writes = 0

    def submit(self, write: W) -> Any:
        """Queue `write`; return its result once its group has committed, or raise its error."""
        self.submit_many([write])
        if write.error is not None:
            raise write.error
        return write.result

    def submit_many(self, writes: Sequence[W]) -> None:
        """Queue several writes at once and wait for all; each keeps its own result or error."""
        if not writes:
            return
        submission = self._enqueue(writes, None)
        assert submission.event is not None
        submission.event.wait()

    async def submit_async(self, writes: Sequence[W]) -> None:
        """submit_many for a coroutine: waits without holding a thread."""
        if not writes:
            return
        submission = self._enqueue(writes, asyncio.get_running_loop())
        assert submission.future is not None
        # No shield: a caller cancelled meanwhile (its deadline) cancels its own future only, and
        # _finish skips a future that is done; the write itself is committed with its group.
        await submission.future

    def _enqueue(self, writes: Sequence[W], loop: asyncio.AbstractEventLoop | None) -> _Submission:
        self._ensure_started()
        # Give this thread's pooled connections back while waiting: the writer needs one too, and
        # a full pool of waiting callers would otherwise starve it.
        for db in self.databases:
            release_connection(db)
        submission = _Submission(len(writes), loop)
        for write in writes:
            write.submission = submission
            self._queue.put(write)
        return submission

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
        name_native_thread("group-commit")
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group: list[W] = [first]
            stop_after = False
            if self._last_group_size > 1 and self.linger_seconds > 0:
                time.sleep(self.linger_seconds)  # let the writes arriving together join (see above)
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
            except BaseException as exc:  # noqa: BLE001 - the writer must never die: fail this group, serve the next
                log_unexpected(log, exc, "group commit failed unexpectedly")
                self._reset(group)
                self._fail(
                    group, Unavailable("the write could not be completed; retry", reason="WRITE_FAILED")
                )
            self._wake(group)
            self._last_group_size = len(group)
            if stop_after:
                return

    @staticmethod
    def _wake(group: Sequence[PendingWrite]) -> None:
        """Tell every submission this group completed, all at once (see the module's docstring)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
        for write in group:
            submission = write.submission
            if submission is None:
                continue
            submission.remaining -= 1
            if submission.remaining:
                continue
            if submission.event is not None:
                submission.event.set()
            elif submission.loop is not None and submission.future is not None:
                by_loop[submission.loop].append(submission.future)
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: its callers are gone
                loop.call_soon_threadsafe(_finish, futures)

    def _commit_group(self, group: list[W], *, retry: bool = True) -> None:
        try:
            prepared = self.before_commit(group) if self.before_commit is not None else None
            with self.db.atomic():
                self.flush(group, prepared)
        except CONNECTION_ERRORS as exc:
            if is_transaction_conflict(exc):  # a deadlock or serialization failure: not the connection
                self._retry_each(group, exc, retry)
            else:
                self._reconnect_and_retry(group, exc, retry)
            return
        except peewee.DatabaseError as exc:
            self._retry_each(group, exc, retry)
            return
        self.groups += 1
        self.writes += len(group)

    def _reconnect_and_retry(self, group: list[W], exc: Exception, retry: bool) -> None:
        for db in self.databases:
            release_connection(db, broken=True)
        self._reset(group)
        if retry:
            # The writer keeps its connection between groups, so after an outage the first group
            # meets a dead one. Retrying on a fresh connection is safe: every write is idempotent
            # (unique keys), even if the lost commit had in fact gone through.
            self._commit_group(group, retry=False)
            return
        log.warning("group of %d writes failed: %s", len(group), type(exc).__name__)
        self._fail(group, Unavailable("the database cannot be reached; retry shortly"))

    def _retry_each(self, group: list[W], exc: Exception, retry: bool) -> None:
        """One write's failure (a constraint, a deadlock between replicas) must not fail its
        neighbours: each write is tried again in a transaction of its own."""
        log.warning("group of %d writes failed (%s); retrying each alone", len(group), type(exc).__name__)
        self._reset(group)
        if len(group) == 1:
            self._fail(group, Unavailable("the database refused the write; retry", reason="WRITE_CONFLICT"))
            return
        for write in group:
            self._commit_group([write], retry=retry)

    @staticmethod
    def _reset(group: Sequence[PendingWrite]) -> None:
        for write in group:
            write.result = write.error = None

    @staticmethod
    def _fail(group: Sequence[PendingWrite], error: LicensingError) -> None:
        for write in group:
            if write.result is None and write.error is None:
                write.error = error
