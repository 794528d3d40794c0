"""The generic resource store: resources of any schema type created through Cloud Control itself."""

from __future__ import annotations

import copy
import threading
from typing import Any

_Key = tuple[str, str, str]  # account, region, type name


class GenericResourceStore:
    """Resource models by (account, region, type) and identifier, in creation order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resources: dict[_Key, dict[str, dict[str, Any]]] = {}

    def identifiers(self, account_id: str, region: str, type_name: str) -> list[str]:
        """The identifiers of one type, oldest first."""
        with self._lock:
            return list(self._resources.get((account_id, region, type_name), ()))

    def get(self, account_id: str, region: str, type_name: str, identifier: str) -> dict[str, Any] | None:
        """A copy of one resource model, None when absent."""
        with self._lock:
            model = self._resources.get((account_id, region, type_name), {}).get(identifier)
            return copy.deepcopy(model) if model is not None else None

    def put(self, account_id: str, region: str, type_name: str, identifier: str, model: dict[str, Any]) -> None:
        """Create or replace one resource model."""
        with self._lock:
            self._resources.setdefault((account_id, region, type_name), {})[identifier] = copy.deepcopy(model)

    def delete(self, account_id: str, region: str, type_name: str, identifier: str) -> bool:
        """Remove one resource; False when it was not there."""
        with self._lock:
            return self._resources.get((account_id, region, type_name), {}).pop(identifier, None) is not None

    def clear(self) -> None:
        """Forget every resource."""
        with self._lock:
            self._resources.clear()
