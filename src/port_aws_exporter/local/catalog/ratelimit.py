"""Port's rate-limit headers, from a fixed window counter."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitState:
    """One request's view of the window."""

    allowed: bool
    limit: int
    remaining: int
    reset_epoch: float
    period_seconds: int

    def headers(self) -> dict[str, str]:
        """`x-ratelimit-*` headers as Port sends them (reset: UTC epoch seconds)."""
        return {
            "x-ratelimit-period": str(self.period_seconds),
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(math.ceil(self.reset_epoch)),
        }


class RateLimiter:
    """Counts requests per fixed window; past `limit`, requests are refused until it resets."""

    def __init__(self, limit: int = 35_000, period_seconds: int = 300) -> None:
        self.limit = limit
        self.period_seconds = period_seconds
        self._lock = threading.Lock()
        self._window_start = time.time()
        self._used = 0

    def hit(self) -> RateLimitState:
        """Count one request."""
        with self._lock:
            now = time.time()
            if now - self._window_start >= self.period_seconds:
                self._window_start, self._used = now, 0
            allowed = self._used < self.limit
            if allowed:
                self._used += 1
            return RateLimitState(
                allowed=allowed,
                limit=self.limit,
                remaining=max(0, self.limit - self._used),
                reset_epoch=self._window_start + self.period_seconds,
                period_seconds=self.period_seconds,
            )
