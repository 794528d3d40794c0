"""Order blueprints so that each one's relation targets exist before it is created (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def order_by_relations(blueprints: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The blueprints, relation targets first; otherwise in the given order.

    Only targets among `blueprints` count (others must already exist). Blueprints caught in a
    relation cycle keep their given order at the end: Port will refuse whichever comes first.
    """
    pending = list(blueprints)
    identifiers = {blueprint.get("identifier") for blueprint in pending}
    placed: set[Any] = set()
    ordered: list[Mapping[str, Any]] = []
    progress = True
    while pending and progress:
        progress = False
        for blueprint in list(pending):
            targets = {
                relation.get("target")
                for relation in (blueprint.get("relations") or {}).values()
                if isinstance(relation, Mapping)
            }
            waiting = {
                target
                for target in targets
                if target in identifiers and target not in placed and target != blueprint.get("identifier")
            }
            if not waiting:
                ordered.append(blueprint)
                placed.add(blueprint.get("identifier"))
                pending.remove(blueprint)
                progress = True
    return ordered + pending
