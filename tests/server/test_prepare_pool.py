"""The preparation pool on its own (licensing/prepare_pool.py): real forked workers, real pipes.

A job is answered by a worker; a worker that is stuck past `job_seconds` is killed and its job
answered UNAVAILABLE; a worker killed from outside fails only the job it held; with no worker left
the jobs run inline; stop() leaves no process behind. Forks here run only the small job function.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from proctree import alive

from licensing.errors import Unavailable
from licensing.prepare_pool import PreparePool


def _nap(seconds: float) -> int:
    """The job: sleep, then say which process answered."""
    time.sleep(seconds)
    return os.getpid()


def test_workers_answer_stuck_or_killed_ones_fail_their_job_alone_then_inline() -> None:
    pool: PreparePool[float, int] = PreparePool(_nap, 2, job_seconds=1.0)
    first, second = pool.pids
    try:
        assert pool.run(0) in (first, second)

        with pytest.raises(Unavailable) as stuck:
            pool.run(30)  # far past job_seconds
        assert stuck.value.reason == "WORKER_LOST"
        (left,) = pool.pids
        assert not alive(({first, second} - {left}).pop())
        assert pool.run(0) == left

        os.kill(left, signal.SIGKILL)
        with pytest.raises(Unavailable):
            pool.run(0)
        assert pool.pids == []
        assert pool.run(0) == os.getpid()  # none left: inline
    finally:
        pool.stop()
    assert not alive(first) and not alive(second)


def test_stop_ends_every_worker() -> None:
    pool: PreparePool[float, int] = PreparePool(_nap, 3)
    workers = pool.pids
    assert len(workers) == 3 and all(alive(pid) for pid in workers)
    pool.stop()
    assert not any(alive(pid) for pid in workers)
