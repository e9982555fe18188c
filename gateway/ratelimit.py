"""Throttling of public, unauthenticated endpoints, per client.

The counting is the ``limits`` library's moving window: at most ``burst`` requests in any
``burst / rate`` seconds per client — the long-run rate is ``rate`` per second, and a
resident's handful of quick clicks passes. Where the counts live is a storage URI:
``memory://`` (this process: one gateway) or ``redis://host:6379/0``, which every gateway
replica shares, so that N replicas don't allow a client N times the limit.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


class ClientLimit:
    """``rate`` requests per second per client, in bursts of up to ``burst``."""

    def __init__(
        self, rate: float, burst: int, storage_uri: str = "memory://", scope: str = "public"
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("a limit needs rate > 0 and burst ≥ 1")
        self.item = RateLimitItemPerSecond(burst, max(1, round(burst / rate)))
        self.scope = scope
        self.storage_uri = storage_uri
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def retry_after(self, client: str) -> int:
        """0 if ``client`` may go on now; else the whole seconds to put in ``Retry-After``.

        A storage that can't be reached lets the request through (logged): residents are
        not turned away because a shared counter is down."""
        try:
            if self.limiter.hit(self.item, self.scope, client):
                return 0
            reset, _remaining = self.limiter.get_window_stats(self.item, self.scope, client)
        except Exception as exc:
            log.error(
                "rate-limit storage %s unavailable, not throttling: %s",
                self.storage_uri.split("@")[-1],
                exc,
            )
            return 0
        return max(1, math.ceil(reset - time.time()))
