"""Throttling of public, unauthenticated endpoints, per client."""

from __future__ import annotations

import math
import threading
import time


class TokenBucket:
    """``rate`` requests per second with bursts up to ``burst``, per key, in this process.

    Keys that have refilled completely are forgotten, so memory stays bounded by
    the number of clients active within ``burst / rate`` seconds.
    """

    def __init__(self, rate: float, burst: int, clock=time.monotonic):  # noqa: ANN001
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def take(self, key: str) -> float:
        """0 if allowed now; otherwise the seconds to wait before retrying."""
        now = self.clock()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / self.rate
            if now - self._last_sweep > 60:
                self._sweep(now)
        return wait

    def retry_after(self, key: str) -> int:
        """Whole seconds to put in ``Retry-After`` (0 = allowed)."""
        wait = self.take(key)
        return math.ceil(wait) if wait > 0 else 0

    def _sweep(self, now: float) -> None:
        full = [k for k, (tokens, stamp) in self._buckets.items()
                if tokens + (now - stamp) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        self._last_sweep = now
