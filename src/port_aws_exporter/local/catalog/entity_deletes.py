"""Entity deletion with Port's `delete_dependents` semantics, inside a caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from port_aws_exporter.local.catalog import store
from port_aws_exporter.local.catalog.errors import CatalogError


def delete_entities(connection: sqlite3.Connection, roots: list[tuple[str, str]], delete_dependents: bool) -> None:
    """Delete `roots` `(blueprint, identifier)`; with `delete_dependents`, every entity relating
    to them too (transitively); without, clear optional relations to them and refuse (409) if a
    required relation points at one."""
    doomed = dict.fromkeys(roots)
    if delete_dependents:
        queue = list(roots)
        while queue:
            for source_blueprint, source, _relation in store.dependents_of(connection, *queue.pop()):
                if (source_blueprint, source) not in doomed:
                    doomed[(source_blueprint, source)] = None
                    queue.append((source_blueprint, source))
    else:
        _detach_dependents(connection, doomed)
    for blueprint, identifier in doomed:
        store.remove_entity(connection, blueprint, identifier)


def _detach_dependents(connection: sqlite3.Connection, doomed: Mapping[tuple[str, str], None]) -> None:
    """Clear optional relations pointing at doomed entities; refuse if a required one does."""
    for target_blueprint, target in doomed:
        for blueprint, identifier, relation in store.dependents_of(connection, target_blueprint, target):
            if (blueprint, identifier) in doomed:
                continue
            definition = store.load_blueprint(connection, blueprint) or {}
            if definition.get("relations", {}).get(relation, {}).get("required"):
                raise CatalogError(
                    409,
                    "has_dependents",
                    f"entity {identifier!r} of blueprint {blueprint!r} requires {target!r} "
                    f"(relation {relation!r}); use delete_dependents=true",
                )
            _unlink(connection, blueprint, identifier, relation, target)


def _unlink(connection: sqlite3.Connection, blueprint: str, identifier: str, relation: str, target: str) -> None:
    entity = store.load_entity(connection, blueprint, identifier)
    if entity is None:
        return
    value = entity["relations"].get(relation)
    entity["relations"][relation] = [item for item in value if item != target] if isinstance(value, list) else None
    definition = store.load_blueprint(connection, blueprint) or {"relations": {}}
    links = store.relation_links(definition, entity["relations"])
    store.save_entity(connection, entity, entity["$datasource"], links)
