"""The catalog interface the full sync and the event path write through (`port.PortClient` provides it).

One interface for both paths: what they need of Port's API is the same bulk upsert, bulk delete and
owned-entities search (and the blueprints, which a full sync reads first), and each entity's write
comes back as one `WriteOutcome`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol


class WriteOutcome(Protocol):
    """One entity's result of `Catalog.bulk_upsert` (`port.EntityWriteResult`).

    `error` is a short code (Port's, or the client's), `message` its text, and `transient` whether
    writing the same entity again later may succeed.
    """

    @property
    def identifier(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def transient(self) -> bool: ...


class Catalog(Protocol):
    """What the exporter needs of Port's API."""

    def bulk_upsert(self, blueprint: str, entities: Iterable[Mapping[str, Any]]) -> Sequence[WriteOutcome]:
        """Upsert (create or merge) the entities into `blueprint`, one outcome per entity, in order."""
        ...

    def bulk_delete(self, blueprint: str, identifiers: Iterable[str], delete_dependents: bool = True) -> list[str]:
        """Delete entities of `blueprint`; returns the identifiers deleted (an entity already gone is fine)."""
        ...

    def get_blueprint(self, identifier: str) -> dict[str, Any] | None:
        """The blueprint (its `schema` and `relations`), or None when the catalog has no such blueprint."""
        ...

    def iter_blueprint_entities(
        self,
        blueprint: str,
        query: Mapping[str, Any] | None = None,
        include: Sequence[str] | None = None,
        *,
        page_size: int = ...,
    ) -> Iterator[dict[str, Any]]:
        """The entities of `blueprint` matching `query`, page by page, with only the `include`d fields."""
        ...
