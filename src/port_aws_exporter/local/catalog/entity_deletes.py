"""Entity deletion with Port's `delete_dependents` semantics, inside a caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from enum import Enum

from port_aws_exporter.core.blueprint_rules import relation_links
from port_aws_exporter.local.catalog import store
from port_aws_exporter.local.catalog.errors import CatalogError


class Dependents(Enum):
    """What happens to the entities that relate to an entity being deleted."""

    DELETE = "delete"  # delete_dependents=true: delete them too, transitively
    REFUSE = "refuse"  # delete_dependents=false: refuse (403 has_dependents) and delete nothing
    DETACH = "detach"  # delete-all: clear their optional relations; refuse only for required ones


def delete_entities(connection: sqlite3.Connection, roots: list[tuple[str, str]], dependents: Dependents) -> None:
    """Delete `roots` `(blueprint, identifier)`, treating the entities that relate to them as
    `dependents` says; nothing is deleted when the operation is refused."""
    doomed = dict.fromkeys(roots)
    if dependents is Dependents.DELETE:
        queue = list(roots)
        while queue:
            for source_blueprint, source, _relation in store.dependents_of(connection, *queue.pop()):
                if (source_blueprint, source) not in doomed:
                    doomed[(source_blueprint, source)] = None
                    queue.append((source_blueprint, source))
    else:
        _check_dependents(connection, doomed, detach=dependents is Dependents.DETACH)
    for blueprint, identifier in doomed:
        store.remove_entity(connection, blueprint, identifier)


def _check_dependents(connection: sqlite3.Connection, doomed: Mapping[tuple[str, str], None], *, detach: bool) -> None:
    """Refuse if an entity outside `doomed` relates to one inside it (with `detach`: only through a
    required relation; optional relations to doomed entities are cleared)."""
    for target_blueprint, target in doomed:
        for blueprint, identifier, relation in store.dependents_of(connection, target_blueprint, target):
            if (blueprint, identifier) in doomed:
                continue
            definition = store.load_blueprint(connection, blueprint) or {}
            required = definition.get("relations", {}).get(relation, {}).get("required")
            if detach and not required:
                _unlink(connection, blueprint, identifier, relation, target)
                continue
            raise CatalogError(
                403,
                "has_dependents",
                f"entity {target!r} of blueprint {target_blueprint!r} has dependent entities: "
                f"{identifier!r} of blueprint {blueprint!r} relates to it (relation {relation!r}); "
                "nothing was deleted; use delete_dependents=true to delete them too",
            )


def _unlink(connection: sqlite3.Connection, blueprint: str, identifier: str, relation: str, target: str) -> None:
    entity = store.load_entity(connection, blueprint, identifier)
    if entity is None:
        return
    value = entity["relations"].get(relation)
    entity["relations"][relation] = [item for item in value if item != target] if isinstance(value, list) else None
    definition = store.load_blueprint(connection, blueprint) or {"relations": {}}
    links = relation_links(definition, entity["relations"])
    store.save_entity(connection, entity, entity["$datasource"], links)
