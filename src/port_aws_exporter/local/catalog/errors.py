"""The one error type of the local catalog: an HTTP status with Port's error body."""

from __future__ import annotations

from typing import Any


class CatalogError(Exception):
    """A request the catalog refuses, answered as `{"ok": false, "error", "message"}`."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body Port sends with this status."""
        return {"ok": False, "error": self.error, "message": self.message}


def not_found(what: str) -> CatalogError:
    """404 for a missing blueprint, entity or related entity."""
    return CatalogError(404, "not_found", f"{what} was not found")


def invalid(message: str, error: str = "invalid_request") -> CatalogError:
    """422: the request does not match the route's or the blueprint's schema."""
    return CatalogError(422, error, message)
