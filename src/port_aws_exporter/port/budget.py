"""One budget of Port requests per process: at most N requests in any window, slower as Port's own
count of what is left runs low.

Port allows about 35,000 bulk requests per 5 minutes per organisation, shared by every integration
of the customer. A `RequestBudget` holds the requests of every client that shares it (the full
sync's writers, the event path, every account's view of one client) under `max_requests` in any
`window_seconds` (a sliding window: the request that would be one too many waits until the oldest
leaves the window). It also reads Port's `x-ratelimit-remaining` and `x-ratelimit-reset` on every
answer: once what is left falls below `SLOW_BELOW` of `x-ratelimit-limit`, the requests left are
spread evenly until the reset (at most `MAX_SPACING_SECONDS` apart), so this process does not
spend the last of an organisation's budget in one burst. With none left, the next request meets
Port's 429, and the client's retry policy waits for the reset or gives up within its own time
budget: a pause here would outlast the time budget of a caller such as the Lambda event path.

`process_budget(api_url, client_id, per_minute)` gives the process's one budget for an
organisation's credentials, which every `PortClient` of the process uses by default.

    >>> budget = RequestBudget(max_requests=2, window_seconds=60.0)
    >>> budget.reserve(now=0.0), budget.reserve(now=0.0), budget.reserve(now=1.0)
    (0.0, 0.0, 60.0)
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from port_aws_exporter.port.retry import RELATIVE_RESET_BELOW

# Port's published limit: 35,000 bulk requests per 5 minutes per organisation (7,000 a minute).
PORT_REQUESTS_PER_WINDOW = 35_000
PORT_WINDOW_SECONDS = 300.0
DEFAULT_REQUESTS_PER_MINUTE = PORT_REQUESTS_PER_WINDOW * 60 // int(PORT_WINDOW_SECONDS)
# Below this share of Port's `x-ratelimit-limit` left, the rest is spread until the reset.
SLOW_BELOW = 0.2
# The longest pause between two requests that Port's headers impose (see the module's text).
MAX_SPACING_SECONDS = 1.0


@dataclass(frozen=True)
class PortRateLimit:
    """What one answer's `x-ratelimit-*` headers say of Port's window."""

    limit: int
    remaining: int
    seconds_to_reset: float

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: float) -> PortRateLimit | None:
        """The headers' reading, or None when an answer lacks them (or they do not parse)."""
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return None
        # Port's sources give the reset as an epoch second or as the seconds left (see `port.retry`).
        seconds = reset if reset < RELATIVE_RESET_BELOW else reset - now
        return cls(limit, remaining, max(0.0, seconds))


class RequestBudget:
    """At most `max_requests` requests in any `window_seconds`, paced by Port's headers; thread-safe."""

    def __init__(
        self,
        max_requests: int,
        window_seconds: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or window_seconds <= 0:
            raise ValueError("a request budget needs at least 1 request in a positive window")
        self.max_requests = max_requests
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # The start times of the last `max_requests` requests (some may be reserved in the future).
        self._starts: collections.deque[float] = collections.deque(maxlen=max_requests)
        self._paced_until = 0.0  # no request starts before this (Port's headers said so)
        self._spacing = 0.0  # seconds between requests while Port's budget runs low
        self.waited_seconds = 0.0
        self.requests = 0

    @classmethod
    def per_minute(cls, requests_per_minute: int) -> RequestBudget:
        return cls(requests_per_minute, 60.0)

    def lower_to(self, max_requests: int) -> None:
        """Allow fewer requests per window from now on (a part of the process asked for less)."""
        with self._lock:
            if 1 <= max_requests < self.max_requests:
                self.max_requests = max_requests
                self._starts = collections.deque(self._starts, maxlen=max_requests)

    def reserve(self, now: float | None = None) -> float:
        """Reserve the next request's start; returns it (a clock reading, `now` or later)."""
        with self._lock:
            current = self._clock() if now is None else now
            start = max(current, self._paced_until)
            if len(self._starts) == self.max_requests:
                start = max(start, self._starts[0] + self.window_seconds)
            if self._starts:
                start = max(start, self._starts[-1])  # kept in order: the window's oldest is first
            self._starts.append(start)
            if self._spacing:
                self._paced_until = start + self._spacing
            self.requests += 1
            self.waited_seconds += start - current
            return start

    def acquire(self) -> None:
        """Wait until one more request fits in the budget."""
        start = self.reserve()
        delay = start - self._clock()
        if delay > 0:
            self._sleep(delay)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read Port's `x-ratelimit-*` headers of an answer, and pace what follows by them."""
        reading = PortRateLimit.from_headers(headers, time.time())
        if reading is None:
            return
        with self._lock:
            if 0 < reading.remaining < reading.limit * SLOW_BELOW:
                self._spacing = min(MAX_SPACING_SECONDS, reading.seconds_to_reset / reading.remaining)
            else:
                self._spacing = 0.0


_PROCESS_BUDGETS: dict[tuple[str, str], RequestBudget] = {}
_PROCESS_LOCK = threading.Lock()


def process_budget(api_url: str, client_id: str, requests_per_minute: int | None = None) -> RequestBudget:
    """The process's one budget for an organisation (its API URL and client id): every client of
    those credentials shares it. A limit given when it is first made sets it; a later, lower one
    lowers it (never raises it: another part of the process asked for less)."""
    limit = requests_per_minute or DEFAULT_REQUESTS_PER_MINUTE
    with _PROCESS_LOCK:
        budget = _PROCESS_BUDGETS.get((api_url, client_id))
        if budget is None:
            budget = _PROCESS_BUDGETS[(api_url, client_id)] = RequestBudget.per_minute(limit)
        else:
            budget.lower_to(limit)
        return budget
