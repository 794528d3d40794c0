"""Counters of what a Port client did, for benchmarks, logs and tests."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ClientCounters:
    """Thread-safe tallies: HTTP requests by route kind, token fetches, retries, failures."""

    requests: Counter[str] = field(default_factory=Counter)
    auth_calls: int = 0
    token_refreshes_on_401: int = 0
    retries: int = 0
    throttled: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_request(self, kind: str) -> None:
        with self._lock:
            self.requests[kind] += 1

    def count_auth(self) -> None:
        with self._lock:
            self.auth_calls += 1

    def count_refresh_on_401(self) -> None:
        with self._lock:
            self.token_refreshes_on_401 += 1

    def count_retry(self, status: int | None) -> None:
        with self._lock:
            self.retries += 1
            if status == 429:
                self.throttled += 1

    def count_failure(self) -> None:
        with self._lock:
            self.failures += 1

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def snapshot(self) -> dict[str, object]:
        """A plain-dict copy, safe to print or serialise."""
        with self._lock:
            return {
                "requests": dict(self.requests),
                "total_requests": sum(self.requests.values()),
                "auth_calls": self.auth_calls,
                "token_refreshes_on_401": self.token_refreshes_on_401,
                "retries": self.retries,
                "throttled": self.throttled,
                "failures": self.failures,
            }
