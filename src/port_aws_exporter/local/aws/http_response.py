"""A finished HTTP response the middleware sends without asking moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

StartResponse = Callable[..., Any]


@dataclass
class HttpResponse:
    """Status, headers and body of one response."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def send(self, start_response: StartResponse) -> Iterable[bytes]:
        """Hand the response to the WSGI server."""
        reason = HTTPStatus(self.status).phrase if self.status in HTTPStatus._value2member_map_ else "Unknown"
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        start_response(f"{self.status} {reason}", headers)
        return [self.body]


def json_response(payload: Any, *, status: int = 200, content_type: str = "application/json") -> HttpResponse:
    """A JSON body with the given content type."""
    return HttpResponse(status, json.dumps(payload).encode(), [("Content-Type", content_type)])
