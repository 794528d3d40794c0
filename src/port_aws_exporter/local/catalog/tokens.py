"""Access tokens of the local catalog, issued like Port's.

One active token per credentials: asking again before it expires returns the same token with the
time it has left (Port documents this), so clients must cope with short remaining lifetimes.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from port_aws_exporter.local.catalog.errors import CatalogError, invalid


@dataclass(frozen=True)
class IssuedToken:
    """A token and when it stops being accepted (monotonic seconds)."""

    value: str
    client_id: str
    expires_at: float

    def __repr__(self) -> str:
        return f"IssuedToken(client_id={self.client_id!r}, value='***')"


class TokenIssuer:
    """Checks client credentials, issues bearer tokens and authenticates requests."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._active: IssuedToken | None = None
        self._valid: dict[str, IssuedToken] = {}

    def issue(self, body: object) -> tuple[str, float]:
        """`(accessToken, expiresIn)` for `{"clientId", "clientSecret"}`; 401 for wrong credentials."""
        if not isinstance(body, dict) or set(body) != {"clientId", "clientSecret"}:
            raise invalid("the body must be exactly {clientId, clientSecret}")
        client_id, client_secret = body["clientId"], body["clientSecret"]
        if not (isinstance(client_id, str) and isinstance(client_secret, str)):
            raise invalid("clientId and clientSecret must be strings")
        same_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        same_secret = hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        if not (same_id and same_secret):
            raise CatalogError(401, "unauthorized", "invalid client credentials")
        with self._lock:
            now = self._clock()
            active = self._active
            if active is None or active.expires_at <= now:
                active = IssuedToken(secrets.token_urlsafe(32), client_id, now + self.ttl_seconds)
                self._active = active
                self._valid = {value: token for value, token in self._valid.items() if token.expires_at > now}
                self._valid[active.value] = active
            return active.value, round(active.expires_at - now, 3)

    def authenticate(self, authorization: str | None) -> str:
        """The client id behind an `Authorization: Bearer ...` header; 401 otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise CatalogError(401, "unauthorized", "missing bearer token")
        token = self._valid.get(authorization[len("bearer ") :].strip())
        if token is None or token.expires_at <= self._clock():
            raise CatalogError(401, "unauthorized", "the access token is invalid or expired")
        return token.client_id

    def revoke_all(self) -> None:
        """Invalidate every token (simulates expiry or revocation on Port's side)."""
        with self._lock:
            self._active = None
            self._valid = {}
