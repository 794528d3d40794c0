"""Entity writes with Port's semantics (create / override / merge), inside a caller's transaction."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from port_aws_exporter.core.blueprint_rules import missing_related_entity, relation_links
from port_aws_exporter.local.catalog import store
from port_aws_exporter.local.catalog.errors import CatalogError, invalid, not_found
from port_aws_exporter.local.catalog.search import compile_query, sql_prefilter
from port_aws_exporter.local.catalog.validation import (
    check_entity_shape,
    check_properties,
    check_relations,
    normalise_team,
)

NULLABLE_IN_PATCH = ("title", "icon", "team")


class WriteMode(Enum):
    """Port's three entity write strategies."""

    CREATE = "create"  # no query flags: 409 if the entity exists
    OVERRIDE = "override"  # upsert=true: replace the entity with what was sent
    MERGE = "merge"  # upsert=true&merge=true: update only the fields sent


@dataclass(frozen=True)
class Writer:
    """Who writes: the client id (`createdBy`/`updatedBy`) and the User-Agent (`$datasource`)."""

    client_id: str
    user_agent: str


@dataclass(frozen=True)
class WriteOptions:
    """The query flags of an entity write."""

    mode: WriteMode = WriteMode.MERGE
    create_missing_related_entities: bool = False
    validation_only: bool = False
    # PATCH: its body may set `title`, `icon` or `team` to null, which clears them.
    nulls_clear: bool = False


def utc_now() -> str:
    """Port's timestamp format: ISO 8601, UTC, milliseconds, `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EntityWriter:
    """Validates an entity against its blueprint, links its relations and stores it."""

    def __init__(self, clock: Callable[[], str] = utc_now) -> None:
        self._clock = clock

    def write(
        self,
        connection: sqlite3.Connection,
        definition: Mapping[str, Any],
        entity: Any,
        options: WriteOptions,
        writer: Writer,
    ) -> tuple[bool, dict[str, Any]]:
        """Create, override or merge `entity` into `definition`'s blueprint; `(created, stored)`."""
        if options.nulls_clear and isinstance(entity, dict):
            check_entity_shape({k: v for k, v in entity.items() if not (k in NULLABLE_IN_PATCH and v is None)})
        else:
            check_entity_shape(entity)
        if "identifier" not in entity:
            # Port makes up an identifier for an entity sent without one.
            entity = {**entity, "identifier": f"e_{secrets.token_hex(8)}"}
        entity = self._resolve_queries(connection, definition, entity)
        blueprint, identifier = definition["identifier"], entity["identifier"]
        existing = store.load_entity(connection, blueprint, identifier)
        if existing is not None and options.mode is WriteMode.CREATE:
            raise CatalogError(
                409, "identifier_taken", f"entity {identifier!r} of blueprint {blueprint!r} already exists"
            )
        fields = _merged_fields(existing, entity) if options.mode is WriteMode.MERGE else _sent_fields(entity)
        check_properties(definition, identifier, fields["properties"])
        check_relations(definition, identifier, fields["relations"])
        links = self._link_relations(
            connection, definition, identifier, fields["relations"], options=options, writer=writer
        )
        now = self._clock()
        stored = {
            "identifier": identifier,
            "title": fields["title"],
            "icon": fields["icon"],
            "blueprint": blueprint,
            "team": fields["team"],
            "properties": fields["properties"],
            "relations": fields["relations"],
            "createdAt": existing["createdAt"] if existing else now,
            "createdBy": existing["createdBy"] if existing else writer.client_id,
            "updatedAt": now,
            "updatedBy": writer.client_id,
        }
        if not options.validation_only:
            store.save_entity(connection, stored, writer.user_agent, links)
        return existing is None, stored

    def _resolve_queries(
        self, connection: sqlite3.Connection, definition: Mapping[str, Any], entity: dict[str, Any]
    ) -> dict[str, Any]:
        """The entity with a search-query identifier or relation replaced by what it finds.

        An identifier query must find exactly one entity of the blueprint (that entity is then
        written). A relation query finds its targets in the relation's target blueprint: any number
        for a `many` relation, exactly one otherwise.
        """
        blueprint = definition["identifier"]
        identifier = entity["identifier"]
        if isinstance(identifier, dict):
            found = _search(connection, blueprint, identifier)
            if len(found) != 1:
                raise _query_error(found, f"the identifier search query of an entity of blueprint {blueprint!r}")
            entity = {**entity, "identifier": found[0]}
        relations = entity.get("relations")
        if not isinstance(relations, dict) or not any(isinstance(value, dict) for value in relations.values()):
            return entity
        resolved = dict(relations)
        for name, value in relations.items():
            relation = definition.get("relations", {}).get(name)
            if not isinstance(value, dict) or relation is None:
                continue  # an undeclared relation is refused by check_relations
            found = _search(connection, relation["target"], value)
            if relation.get("many"):
                resolved[name] = found
            elif len(found) == 1:
                resolved[name] = found[0]
            else:
                raise _query_error(found, f"the search query of relation {name!r} of {entity['identifier']!r}")
        return {**entity, "relations": resolved}

    def _link_relations(
        self,
        connection: sqlite3.Connection,
        definition: Mapping[str, Any],
        identifier: str,
        relations: Mapping[str, Any],
        *,
        options: WriteOptions,
        writer: Writer,
    ) -> list[tuple[str, str, str]]:
        """`(relation, target blueprint, target)` links; targets must exist or be created."""
        links = relation_links(definition, relations)
        for relation_id, target_blueprint, target in links:
            is_self = (target_blueprint, target) == (definition["identifier"], identifier)
            if is_self or store.entity_exists(connection, target_blueprint, target):
                continue
            if not options.create_missing_related_entities:
                problem = missing_related_entity(relation_id, target_blueprint, target, identifier)
                raise CatalogError(404, problem.code, problem.message)
            self._create_placeholder(connection, target_blueprint, target, writer)
        return links

    def _create_placeholder(
        self, connection: sqlite3.Connection, blueprint: str, identifier: str, writer: Writer
    ) -> None:
        definition = store.required_blueprint(connection, blueprint)
        placeholder = {"identifier": identifier, "properties": {}, "relations": {}}
        self.write(connection, definition, placeholder, WriteOptions(WriteMode.CREATE), writer)


def _search(connection: sqlite3.Connection, blueprint: str, query: Mapping[str, Any]) -> list[str]:
    predicate = compile_query(query)
    rows = store.scan_entities(connection, sql_prefilter(query), blueprint=blueprint)
    return [entity["identifier"] for entity in rows if predicate(entity)]


def _query_error(found: list[str], what: str) -> CatalogError:
    if not found:
        return not_found(f"an entity matching {what}")
    return invalid(f"{what} matches {len(found)} entities ({', '.join(found[:5])}...); it must match exactly one")


def _sent_fields(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": entity.get("title"),
        "icon": entity.get("icon"),
        "team": normalise_team(entity.get("team")),
        "properties": dict(entity.get("properties") or {}),
        "relations": dict(entity.get("relations") or {}),
    }


def _merged_fields(existing: Mapping[str, Any] | None, entity: Mapping[str, Any]) -> dict[str, Any]:
    sent = _sent_fields(entity)
    if existing is None:
        return sent
    return {
        "title": sent["title"] if "title" in entity else existing.get("title"),
        "icon": sent["icon"] if "icon" in entity else existing.get("icon"),
        "team": sent["team"] if "team" in entity else existing.get("team", []),
        "properties": {**existing.get("properties", {}), **sent["properties"]},
        "relations": {**existing.get("relations", {}), **sent["relations"]},
    }
