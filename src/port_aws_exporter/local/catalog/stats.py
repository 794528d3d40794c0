"""Where the catalog spends its time, per operation (read at `GET /_local/stats`)."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any


class RequestStats:
    """Thread-safe totals per operation: requests, time in the operation, time in the endpoint.

    `operation` time is the `CatalogService` work (validation, SQLite, search) in its worker
    thread; `endpoint` time adds request parsing, authentication, the thread hop and JSON encoding
    of the answer. What a client measures beyond `endpoint` is HTTP and its own work.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])

    def record(self, operation: str, operation_seconds: float, endpoint_seconds: float) -> None:
        with self._lock:
            totals = self._totals[operation]
            totals[0] += 1
            totals[1] += operation_seconds
            totals[2] += endpoint_seconds

    def snapshot(self) -> dict[str, Any]:
        """`{operation: {requests, operation_seconds, endpoint_seconds}}` plus a `total`."""
        with self._lock:
            rows = {
                name: {"requests": int(count), "operation_seconds": op, "endpoint_seconds": endpoint}
                for name, (count, op, endpoint) in sorted(self._totals.items())
            }
        rows["total"] = {
            key: sum(row[key] for row in rows.values()) for key in ("requests", "operation_seconds", "endpoint_seconds")
        }
        return rows

    def clear(self) -> None:
        with self._lock:
            self._totals.clear()
