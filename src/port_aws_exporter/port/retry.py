"""The one backoff policy of the Port client.

Exponential backoff with full jitter (a random delay between 0 and `base * 2**n`, capped), except
when Port says when to come back (`Retry-After`, or `x-ratelimit-reset` on a 429): then that delay.

The time budget is what bounds the retries: a transient failure is retried until the budget is
spent, and a delay that would end past the budget is shortened so that the last attempt starts at
its end, never after (a 60 s budget rides out an 8 s outage, and then some). When Port asks for a
wait longer than what is left of the budget, the call gives up at once rather than retry early.
An optional number of attempts bounds the retries too (tests; callers that must fail fast). So a
caller waits at most the budget plus one request's timeout.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from port_aws_exporter.port.errors import PortApiError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient Port failure."""

    max_attempts: int | None = None  # None: the budget alone bounds the retries
    budget_seconds: float = 60.0
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.budget_seconds < 0 or self.base_delay_seconds < 0 or self.max_delay_seconds < 0:
            raise ValueError("retry delays and budget must not be negative")

    def backoff_delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay before retry number `retry_number` (1 for the first retry)."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** min(retry_number - 1, 60))
        return (rng or random).uniform(0, ceiling)

    def run(self, attempt: Callable[[], T], on_retry: Callable[[PortApiError, float], None]) -> T:
        """Call `attempt` until it returns, raises a permanent error, or the bounds are reached.

        `on_retry(error, delay)` is called before each sleep. The last error is re-raised with
        its `attempts` set.
        """
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            stop=self._stop,
            wait=self._wait,
            before_sleep=lambda state: on_retry(_error_of(state), state.upcoming_sleep),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except PortApiError as error:
            error.attempts = retrying.statistics.get("attempt_number", 1)
            raise

    def _wait(self, state: tenacity.RetryCallState) -> float:
        hint = _error_of(state).retry_after
        if hint is not None:
            return hint  # `_stop` gives up when it does not fit in the budget
        left = max(0.0, self.budget_seconds - (state.seconds_since_start or 0.0))
        return min(self.backoff_delay(state.attempt_number), left)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        """Stop when the attempts are used up, or the next attempt would start after the budget."""
        if self.max_attempts is not None and state.attempt_number >= self.max_attempts:
            return True
        elapsed = state.seconds_since_start or 0.0
        return elapsed >= self.budget_seconds or elapsed + (state.upcoming_sleep or 0.0) > self.budget_seconds


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, PortApiError) and error.transient


def _error_of(state: tenacity.RetryCallState) -> PortApiError:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, PortApiError)
    return error


# `x-ratelimit-reset` below this is a number of seconds, not a moment: no clock Port answers from
# reads a UTC epoch of less than a billion seconds (2001), and no rate-limit window is that long.
RELATIVE_RESET_BELOW = 1_000_000_000


def retry_after_hint(status: int, headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds Port asked us to wait, from `Retry-After` (seconds or HTTP date) or, on 429,
    `x-ratelimit-reset`. None when the response gives no hint.

    Port's sources read `x-ratelimit-reset` two ways: the UTC epoch second the window resets (its
    docs repository) and the seconds until it resets (its docs site; its Terraform provider reads
    it so). Both are accepted: a value far below the current epoch is relative.
    """
    current = time.time() if now is None else now
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            return max(0.0, email.utils.parsedate_to_datetime(retry_after).timestamp() - current)
        except (TypeError, ValueError):
            pass  # neither seconds nor a date: no hint from it
    reset = headers.get("x-ratelimit-reset")
    if status == 429 and reset:
        try:
            value = float(reset)
            return max(0.0, value if value < RELATIVE_RESET_BELOW else value - current)
        except ValueError:
            return None
    return None
