"""Per-token rate limits for look-ups: a token bucket per caller, shared by all server threads.

Enumeration (trying email after email) is the risk a support token poses if it leaks, so each
token may make `burst` look-ups at once and `per_minute` on average. Limits are per process:
with N replicas a token gets N times the rate, which the operator sets accordingly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, last time)

    def take(self, caller: str) -> None:
        """Spend one look-up for `caller`, or raise RateLimited saying when to retry."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                retry_after = (1.0 - tokens) / self.rate
                raise RateLimited(
                    f"too many look-ups with this token; retry in {retry_after:.1f} s",
                    retry_after=retry_after,
                )
            self._buckets[caller] = (tokens - 1.0, now)
