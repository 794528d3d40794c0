"""In what order to write a batch of entities so that relation targets exist first.

Port rejects an entity whose relation points at an entity that does not exist yet. The config's
order (`resources[]`) puts whole kinds first; inside one batch, an entity is written in a later
round than the entities of the same batch its relations point to. Targets are matched by
identifier only (a relation's target blueprint is in the blueprint schema, not in the entity), so
the order may be stricter than needed, never looser.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from port_aws_exporter.core.mapping import MappedEntity


def relation_targets(entity: dict[str, Any]) -> set[str]:
    """The identifiers an entity's relations point to."""
    targets: set[str] = set()
    for value in (entity.get("relations") or {}).values():
        if isinstance(value, str):
            targets.add(value)
        elif isinstance(value, list):
            targets.update(item for item in value if isinstance(item, str))
    return targets


def write_rounds(entities: Sequence[MappedEntity]) -> list[list[MappedEntity]]:
    """The batch split into rounds: every entity comes after the batch entities it relates to.

    A relation cycle inside the batch cannot be ordered; its entities go together in the last round.
    """
    pending = list(entities)
    rounds: list[list[MappedEntity]] = []
    while pending:
        waiting_for = {entity.identifier for entity in pending}
        ready = [e for e in pending if not (relation_targets(e.entity) - {e.identifier}) & waiting_for]
        if not ready:
            rounds.append(pending)
            break
        rounds.append(ready)
        ready_ids = {id(entity) for entity in ready}
        pending = [entity for entity in pending if id(entity) not in ready_ids]
    return rounds


def by_blueprint(entities: Iterable[MappedEntity]) -> dict[str, list[MappedEntity]]:
    """Entities grouped by blueprint, keeping their order."""
    groups: dict[str, list[MappedEntity]] = {}
    for entity in entities:
        groups.setdefault(entity.blueprint, []).append(entity)
    return groups
