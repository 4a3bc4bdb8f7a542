"""A load generator for unary gRPC calls: N calls kept in flight from one client process.

Used by the issuance benchmark for both the no-op baseline and the real service, so the two
numbers come from the same client doing the same work per call.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc


@dataclass(frozen=True)
class LoadResult:
    calls: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


def run_load(
    method: grpc.UnaryUnaryMultiCallable,
    make_request: Callable[[int], Any],
    *,
    total: int,
    in_flight: int,
    metadata: tuple[tuple[str, str], ...] = (),
) -> LoadResult:
    """Issue `total` calls, `in_flight` at a time (each completion starts the next call)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    done = threading.Event()
    next_index = 0
    finished = 0

    def start_one() -> None:
        nonlocal next_index
        with lock:
            if next_index >= total:
                return
            index = next_index
            next_index += 1
        started = time.perf_counter()
        future = method.future(make_request(index), metadata=metadata, timeout=60)
        future.add_done_callback(lambda f: on_done(f, started))

    def on_done(future: grpc.Future, started: float) -> None:
        nonlocal errors, finished
        elapsed = time.perf_counter() - started
        failed = future.exception() is not None
        with lock:
            latencies.append(elapsed)
            errors += failed
            finished += 1
            complete = finished >= total
        if complete:
            done.set()
        else:
            start_one()

    began = time.perf_counter()
    for _ in range(min(in_flight, total)):
        start_one()
    done.wait()
    seconds = time.perf_counter() - began
    latencies.sort()
    return LoadResult(
        calls=total,
        errors=errors,
        seconds=seconds,
        p50_ms=statistics.median(latencies) * 1e3,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
    )
