"""Resource operation requests (create, update, delete) and their ProgressEvents."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

SUCCESS = "SUCCESS"
FAILED = "FAILED"
IN_PROGRESS = "IN_PROGRESS"
_KEPT_REQUESTS = 10_000


@dataclass
class ResourceRequest:
    """One CreateResource/UpdateResource/DeleteResource call and how it ended."""

    operation: str
    type_name: str
    identifier: str | None = None
    status: str = SUCCESS
    error_code: str | None = None
    status_message: str | None = None
    resource_model: str | None = None
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    event_time: float = field(default_factory=time.time)
    fingerprint: str = ""

    def progress_event(self, *, as_submitted: bool = False) -> dict[str, Any]:
        """The ProgressEvent; `as_submitted` gives the IN_PROGRESS event the mutating call returns."""
        event: dict[str, Any] = {
            "TypeName": self.type_name,
            "RequestToken": self.token,
            "Operation": self.operation,
            "OperationStatus": IN_PROGRESS if as_submitted else self.status,
            "EventTime": self.event_time,
        }
        if self.identifier is not None:
            event["Identifier"] = self.identifier
        if not as_submitted:
            if self.resource_model is not None:
                event["ResourceModel"] = self.resource_model
            if self.error_code is not None:
                event["ErrorCode"] = self.error_code
            if self.status_message is not None:
                event["StatusMessage"] = self.status_message
        return event


class ResourceRequestLog:
    """The most recent resource requests by token (bounded), with ClientToken idempotency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: OrderedDict[str, ResourceRequest] = OrderedDict()
        self._client_tokens: dict[str, str] = {}

    def record(self, request: ResourceRequest, client_token: str | None = None) -> None:
        """Keep `request` (dropping the oldest beyond the bound)."""
        with self._lock:
            self._requests[request.token] = request
            if client_token:
                self._client_tokens[client_token] = request.token
            while len(self._requests) > _KEPT_REQUESTS:
                self._requests.popitem(last=False)

    def get(self, token: str) -> ResourceRequest | None:
        """The request with this RequestToken."""
        with self._lock:
            return self._requests.get(token)

    def by_client_token(self, client_token: str) -> ResourceRequest | None:
        """The request made earlier with this ClientToken."""
        with self._lock:
            token = self._client_tokens.get(client_token)
            return self._requests.get(token) if token else None

    def all(self) -> list[ResourceRequest]:
        """Every kept request, newest first."""
        with self._lock:
            return list(reversed(self._requests.values()))

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._requests.clear()
            self._client_tokens.clear()
