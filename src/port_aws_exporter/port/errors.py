"""Errors of the Port client: what was asked, what came back, and whether to try again later."""

from __future__ import annotations

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_transient_status(status: int | None) -> bool:
    """Whether a response status (None: no response at all) is worth retrying later."""
    return status is None or status in TRANSIENT_STATUSES or status >= 500


class PortApiError(Exception):
    """A Port API call that failed, after any retries.

    Carries the request method and path, the HTTP status (None when no response came back: a
    timeout or a connection error), Port's `error` code and `message`, and `transient`: True when
    the same call may succeed later (throttling, 5xx, timeouts, outages), False when it will not
    (validation errors, missing blueprint, bad credentials). Never holds a token or a secret.
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        error: str | None,
        message: str | None,
        *,
        transient: bool | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.error = error
        self.message = message
        self.transient = is_transient_status(status) if transient is None else transient
        self.attempts = attempts
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _describe(self) -> str:
        outcome = f"HTTP {self.status}" if self.status is not None else "no response"
        detail = ": ".join(part for part in (self.error, self.message) if part)
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        kind = "transient" if self.transient else "permanent"
        text = f"Port API {self.method} {self.path} failed{tries} ({kind}): {outcome}"
        return f"{text}: {detail}" if detail else text

    def __str__(self) -> str:
        return self._describe()


class PortAuthError(PortApiError):
    """Port refused the credentials, or kept refusing fresh tokens."""
