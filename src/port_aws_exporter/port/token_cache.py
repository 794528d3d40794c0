"""The access token of a Port client: fetched once, shared by all threads, renewed in time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Renew this long before Port's `expiresIn` runs out (or a fifth of the lifetime, if shorter), so
# a request never leaves with a token that expires on the way.
REFRESH_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and the monotonic time at which it should be renewed."""

    value: str
    renew_at: float

    def __repr__(self) -> str:
        return f"AccessToken(value='***', renew_at={self.renew_at:.1f})"


class TokenCache:
    """Holds one token; `fetch` runs under a lock, so concurrent callers share one fetch.

    `fetch()` returns `(access_token, expires_in_seconds)`. When a fetch fails, the callers that
    were already waiting for it get the same error instead of each retrying in turn.
    """

    def __init__(self, fetch: Callable[[], tuple[str, float]], clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self._failure: tuple[float, Exception] | None = None

    def get(self) -> str:
        """A token valid for a while yet, fetching a new one if needed."""
        token = self._token
        asked_at = self._clock()
        if token is not None and asked_at < token.renew_at:
            return token.value
        with self._lock:
            token = self._token
            if token is not None and self._clock() < token.renew_at:
                return token.value
            if self._failure is not None and self._failure[0] >= asked_at:
                raise self._failure[1]
            try:
                return self._renew().value
            except Exception as error:
                self._failure = (self._clock(), error)
                raise

    def invalidate(self, rejected: str) -> None:
        """Forget `rejected` (Port answered 401 to it) unless another thread already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == rejected:
                self._token = None

    def _renew(self) -> AccessToken:
        started = self._clock()
        value, expires_in = self._fetch()
        lifetime = max(expires_in, 0.0)
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 5)
        self._token = AccessToken(value=value, renew_at=started + lifetime - margin)
        self._failure = None
        return self._token
