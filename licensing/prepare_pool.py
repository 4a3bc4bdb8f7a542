"""A small pool of worker processes, forked once at start-up, each answering one job at a time.

Why fork, and why then: a worker inherits what the server has opened (the keyring, the email
vault's keys), so no secret crosses a pipe and no key derivation runs again; and the fork happens
before any gRPC object exists, as gRPC and fork do not mix. For the same reason a worker that dies
is not replaced: the job it held fails with UNAVAILABLE (every bulk write is idempotent, so the
caller's retry is safe), the others carry on, and with none left the jobs run inline.

A worker ends with the server: when the server closes its pipe (stopping), or by
PR_SET_PDEATHSIG (SIGKILL when the thread that forked it ends: the server's main thread, so when
the server process ends, SIGKILL included); SIGINT and SIGTERM are the server's to handle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from .errors import Unavailable
from .lifetime import die_with_parent
from .logsafe import log_unexpected

__all__ = ["PreparePool"]

log = logging.getLogger("licensing.prepare")

J = TypeVar("J")
R = TypeVar("R")


def _worker_loop(conn: Connection, work: Callable[[Any], Any]) -> None:
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the server closed the pipe (stopping) or is gone
            return
        try:
            answer: tuple[bool, Any] = (True, work(job))
        except BaseException as exc:  # noqa: BLE001 - reported to the server, which fails the job
            log_unexpected(log, exc, "preparation worker failed on a job")
            answer = (False, type(exc).__name__)
        conn.send(answer)


def _log_descriptors() -> set[int]:
    """The descriptors the logging handlers write to (the worker logs its own failures)."""
    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    found: set[int] = set()
    for logger in loggers:
        for handler in logger.handlers:
            stream = getattr(handler, "stream", None)
            with contextlib.suppress(AttributeError, OSError, ValueError):
                found.add(stream.fileno())  # type: ignore[union-attr]
    return found


def _close_inherited(keep: set[int]) -> None:
    try:
        open_now = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: the usual limit of descriptors
        open_now = list(range(3, 1024))
    for fd in open_now:
        if fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed already
                os.close(fd)


class _Worker:
    __slots__ = ("conn", "pid")

    def __init__(self, pid: int, conn: Connection) -> None:
        self.pid, self.conn = pid, conn


class PreparePool(Generic[J, R]):
    """`size` processes running `work(job)`; `run(job)` blocks for the answer (from any thread)."""

    def __init__(self, work: Callable[[J], R], size: int, *, job_seconds: float = 60.0) -> None:
        self.work = work
        self.job_seconds = job_seconds  # a worker silent this long is stuck: killed, its job UNAVAILABLE
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._ready = threading.Condition()
        parent = os.getpid()
        for _ in range(size):
            ours, theirs = Pipe(duplex=True)
            pid = os.fork()
            if pid == 0:  # the worker: never returns into the server's code
                code = 0
                try:
                    ours.close()
                    # No descriptor of the server's but its own pipe, stdio and the log: each pipe
                    # must end when the server does (its siblings', and the readiness pipe that
                    # `serve --processes` waits on to learn that a child failed to start).
                    _close_inherited({0, 1, 2, theirs.fileno(), *_log_descriptors()})
                    # A terminal's Ctrl-C, or a supervisor's SIGTERM to the whole group, is for the
                    # server, which drains its calls (still using the workers) and then closes the pipes.
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                    die_with_parent(parent)
                    _worker_loop(theirs, work)
                except BaseException as exc:  # noqa: BLE001 - logged by log_unexpected
                    log_unexpected(log, exc, "preparation worker ended")
                    code = 1
                finally:
                    os._exit(code)
            theirs.close()
            self._workers.append(_Worker(pid, ours))
        self._idle = list(self._workers)
        log.debug("%d preparation worker processes", size)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    def run(self, job: J) -> R:
        """`work(job)` in a free worker; inline when none is left. UNAVAILABLE if its worker dies,
        or answers nothing within `job_seconds` (it is then killed: a stuck worker must not hold
        the call forever)."""
        with self._ready:
            while not self._idle and self._workers:
                self._ready.wait()
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            return self.work(job)
        try:
            worker.conn.send(job)
            if not worker.conn.poll(self.job_seconds):  # stuck: ended, then handled as a worker lost
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                raise EOFError
            done, answer = worker.conn.recv()
        except (EOFError, OSError):
            self._lost(worker)
            raise Unavailable(
                "a preparation worker of the server ended during this call; retry", reason="WORKER_LOST"
            ) from None
        with self._ready:
            self._idle.append(worker)
            self._ready.notify()
        if not done:
            raise Unavailable("the server could not prepare these rows; retry", reason="PREPARE_FAILED")
        return answer  # type: ignore[no-any-return]

    def _lost(self, worker: _Worker) -> None:
        worker.conn.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.pid, 0)
        with self._ready:
            if worker in self._workers:  # not when stop() has taken them all meanwhile
                self._workers.remove(worker)
            left = len(self._workers)
            self._ready.notify_all()  # with none left, waiters go inline
        log.warning("a preparation worker ended unexpectedly; %d left", left)

    def stop(self) -> None:
        """Close every pipe (each worker then exits) and reap the workers."""
        with self._ready:
            workers, self._workers, self._idle = self._workers, [], []
            self._ready.notify_all()
        for worker in workers:
            worker.conn.close()
        for worker in workers:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)
