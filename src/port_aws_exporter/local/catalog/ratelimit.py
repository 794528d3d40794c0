"""Port's rate-limit headers, from a fixed window counter.

`x-ratelimit-reset` has two readings in Port's own sources: the UTC epoch second the window resets
(its docs repository) and the seconds left until then (its docs site, and Port's Terraform
provider reads it so). The catalog sends either form (`ResetForm`), so the client is tested
against both.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from enum import StrEnum


class ResetForm(StrEnum):
    """How `x-ratelimit-reset` is written."""

    EPOCH = "epoch"  # the UTC epoch second the window resets
    RELATIVE = "relative"  # the seconds until it resets


@dataclass(frozen=True)
class RateLimitState:
    """One request's view of the window."""

    allowed: bool
    limit: int
    remaining: int
    reset_epoch: float
    period_seconds: int
    reset_form: ResetForm = ResetForm.EPOCH

    def headers(self) -> dict[str, str]:
        """`x-ratelimit-*` headers as Port sends them (reset in this limiter's `ResetForm`)."""
        if self.reset_form is ResetForm.RELATIVE:
            reset = math.ceil(max(0.0, self.reset_epoch - time.time()))
        else:
            reset = math.ceil(self.reset_epoch)
        return {
            "x-ratelimit-period": str(self.period_seconds),
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(reset),
        }


class RateLimiter:
    """Counts requests per fixed window; past `limit`, requests are refused until it resets."""

    def __init__(self, limit: int = 35_000, period_seconds: int = 300, reset_form: ResetForm = ResetForm.EPOCH) -> None:
        self.limit = limit
        self.period_seconds = period_seconds
        self.reset_form = ResetForm(reset_form)
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
                reset_form=self.reset_form,
            )
