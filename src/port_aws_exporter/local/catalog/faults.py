"""Fault injection for the local catalog: throttling, server errors, latency and outages.

Off by default. Set at start (`start_catalog(faults=...)`), from Python at run time
(`RunningCatalog.faults.update(...)`), or over HTTP (`PUT /_local/faults`).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

SERVER_ERROR_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class FaultSettings:
    """What to inject into `/v1` requests.

    - `throttle_rate`: fraction of requests answered 429 with `Retry-After: retry_after_seconds`.
    - `server_error_rate`: fraction answered 500, 502 or 503.
    - `latency_seconds`: added before every answer.
    - `outage_seconds`: from the moment it is set, every request is answered 503 for this long.
    - `include_auth`: whether the token route suffers the same faults.
    - `seed`: makes the random draws repeatable.
    """

    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    latency_seconds: float = 0.0
    retry_after_seconds: float = 1.0
    outage_seconds: float = 0.0
    include_auth: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("throttle_rate", "server_error_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.throttle_rate + self.server_error_rate > 1.0:
            raise ValueError("throttle_rate + server_error_rate must not exceed 1")
        for name in ("latency_seconds", "retry_after_seconds", "outage_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @classmethod
    def from_json(cls, body: Any, base: FaultSettings | None = None) -> FaultSettings:
        """Settings from a JSON object of field names; unknown names are an error."""
        if not isinstance(body, dict):
            raise ValueError("fault settings must be a JSON object")
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        return replace(base or cls(), **body)


@dataclass(frozen=True)
class Fault:
    """One injected failure."""

    status: int
    error: str
    message: str
    retry_after: float | None = None


class FaultInjector:
    """Thread-safe holder of the current settings; decides each request's fate."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._outage_until = 0.0
        self._random = random.Random()
        self.set(settings or FaultSettings())

    @property
    def settings(self) -> FaultSettings:
        """The current settings."""
        return self._settings

    def set(self, settings: FaultSettings) -> None:
        """Replace the settings (an `outage_seconds` > 0 starts an outage now)."""
        with self._lock:
            self._settings = settings
            self._random = random.Random(settings.seed)
            self._outage_until = time.monotonic() + settings.outage_seconds if settings.outage_seconds else 0.0

    def update(self, **changes: Any) -> FaultSettings:
        """Change some settings, keeping the others."""
        settings = FaultSettings.from_json(changes, self._settings)
        self.set(settings)
        return settings

    def clear(self) -> None:
        """No faults."""
        self.set(FaultSettings())

    def start_outage(self, seconds: float) -> None:
        """Answer every request 503 for `seconds` from now."""
        self.update(outage_seconds=seconds)

    def outage_remaining(self) -> float:
        """Seconds left in the current outage (0 if none)."""
        return max(0.0, self._outage_until - time.monotonic())

    def status(self) -> dict[str, Any]:
        """The settings and the outage time left, as JSON."""
        return {**asdict(self._settings), "outage_remaining_seconds": round(self.outage_remaining(), 3)}

    def draw(self, is_auth: bool) -> tuple[float, Fault | None]:
        """`(latency, fault)` for one request."""
        settings = self._settings
        if is_auth and not settings.include_auth:
            return 0.0, None
        if self.outage_remaining() > 0:
            return settings.latency_seconds, Fault(503, "service_unavailable", "simulated outage")
        with self._lock:
            roll = self._random.random()
            pick = self._random.choice(SERVER_ERROR_STATUSES)
        if roll < settings.throttle_rate:
            return settings.latency_seconds, Fault(
                429, "rate_limited", "simulated throttling", settings.retry_after_seconds
            )
        if roll < settings.throttle_rate + settings.server_error_rate:
            return settings.latency_seconds, Fault(pick, "internal_error", "simulated server error")
        return settings.latency_seconds, None
