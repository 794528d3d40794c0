"""The local catalog's operations, with Port's semantics, over the SQLite store.

The HTTP app is a thin layer over `CatalogService`; the CLI's `--db` mode calls it directly. Every
operation either completes in one SQLite transaction or raises `CatalogError` and changes nothing
(bulk writes isolate each entity in a savepoint, as Port's 207 answers report each entity apart).
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from port_aws_exporter.local.catalog import store
from port_aws_exporter.local.catalog.entity_deletes import Dependents, delete_entities
from port_aws_exporter.local.catalog.entity_writes import (
    EntityWriter,
    WriteOptions,
    Writer,
    utc_now,
)
from port_aws_exporter.local.catalog.errors import CatalogError, invalid, not_found
from port_aws_exporter.local.catalog.route_bodies import (
    blueprint_search_body,
    bulk_delete_identifiers,
    bulk_write_entities,
    search_body,
)
from port_aws_exporter.local.catalog.search import compile_query, project, project_fields, sql_prefilter
from port_aws_exporter.local.catalog.store import CatalogDatabase
from port_aws_exporter.local.catalog.validation import check_blueprint

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 200

MATCH_ALL: dict[str, Any] = {"combinator": "and", "rules": []}


class CatalogService:
    """Blueprints and entities with Port's rules: validation, relations, dependents, search."""

    def __init__(self, database: CatalogDatabase, clock: Callable[[], str] = utc_now) -> None:
        self.database = database
        self._clock = clock
        self._writer = EntityWriter(clock)

    # -- blueprints --------------------------------------------------------------------------

    def create_blueprint(self, body: Any, writer: Writer) -> dict[str, Any]:
        """Create a blueprint; 409 if it exists, 404 if a relation targets an unknown blueprint."""
        blueprint = check_blueprint(body)
        with self.database.transaction() as connection:
            if store.load_blueprint(connection, blueprint["identifier"]) is not None:
                raise CatalogError(409, "identifier_taken", f"blueprint {blueprint['identifier']!r} already exists")
            self._check_relation_targets(connection, blueprint)
            now = self._clock()
            stored = {**blueprint, "createdAt": now, "createdBy": writer.client_id}
            stored.update(updatedAt=now, updatedBy=writer.client_id)
            store.save_blueprint(connection, stored)
        return stored

    def replace_blueprint(self, identifier: str, body: Any, writer: Writer) -> dict[str, Any]:
        """Replace an existing blueprint's definition (PUT)."""
        if isinstance(body, dict) and body.get("identifier", identifier) != identifier:
            raise invalid(f"the body's identifier {body.get('identifier')!r} differs from {identifier!r}")
        blueprint = check_blueprint({**body, "identifier": identifier} if isinstance(body, dict) else body)
        return self._store_update(identifier, blueprint, writer)

    def patch_blueprint(self, identifier: str, changes: Any, writer: Writer) -> dict[str, Any]:
        """Update some fields of a blueprint (PATCH): properties and relations are merged by id."""
        if not isinstance(changes, dict):
            raise invalid("the blueprint changes must be a JSON object")
        current = self.get_blueprint(identifier)
        merged = {**current, **changes, "identifier": identifier}
        if isinstance(changes.get("schema"), dict):
            schema = {**current["schema"], **changes["schema"]}
            schema["properties"] = {
                **current["schema"].get("properties", {}),
                **changes["schema"].get("properties", {}),
            }
            merged["schema"] = schema
        if isinstance(changes.get("relations"), dict):
            merged["relations"] = {**current.get("relations", {}), **changes["relations"]}
        return self._store_update(identifier, check_blueprint(merged), writer)

    def _store_update(self, identifier: str, blueprint: dict[str, Any], writer: Writer) -> dict[str, Any]:
        with self.database.transaction() as connection:
            current = store.required_blueprint(connection, identifier)
            self._check_relation_targets(connection, blueprint)
            stored = {
                **blueprint,
                "createdAt": current.get("createdAt"),
                "createdBy": current.get("createdBy"),
                "updatedAt": self._clock(),
                "updatedBy": writer.client_id,
            }
            store.save_blueprint(connection, stored)
        return stored

    def get_blueprint(self, identifier: str) -> dict[str, Any]:
        """The blueprint, or 404."""
        return store.required_blueprint(self.database.connection(), identifier)

    def list_blueprints(self) -> list[dict[str, Any]]:
        """Every blueprint."""
        return store.load_blueprints(self.database.connection())

    def delete_blueprint(self, identifier: str) -> None:
        """Delete a blueprint that has no entities and that no other blueprint relates to."""
        with self.database.transaction() as connection:
            store.required_blueprint(connection, identifier)
            count = store.count_entities(connection, identifier)
            if count:
                raise CatalogError(409, "blueprint_in_use", f"blueprint {identifier!r} still has {count} entities")
            related = store.blueprints_relating_to(connection, identifier)
            if related:
                raise CatalogError(409, "blueprint_in_use", f"blueprints {related} have relations to {identifier!r}")
            store.remove_blueprint(connection, identifier)

    def apply_blueprint(self, body: Any, writer: Writer) -> tuple[bool, dict[str, Any]]:
        """Create the blueprint or replace it; returns `(created, blueprint)`."""
        blueprint = check_blueprint(body)
        if store.load_blueprint(self.database.connection(), blueprint["identifier"]) is None:
            return True, self.create_blueprint(blueprint, writer)
        return False, self.replace_blueprint(blueprint["identifier"], blueprint, writer)

    @staticmethod
    def _check_relation_targets(connection: sqlite3.Connection, blueprint: Mapping[str, Any]) -> None:
        for relation_id, relation in blueprint.get("relations", {}).items():
            target = relation["target"]
            if target != blueprint["identifier"] and store.load_blueprint(connection, target) is None:
                raise not_found(f"target blueprint {target!r} of relation {relation_id!r}")

    # -- entity writes -----------------------------------------------------------------------

    def write_entity(
        self, blueprint: str, entity: Any, options: WriteOptions, writer: Writer
    ) -> tuple[bool, dict[str, Any]]:
        """Create, override or merge one entity; returns `(created, entity as stored)`."""
        with self.database.transaction() as connection:
            definition = store.required_blueprint(connection, blueprint)
            created, stored = self._writer.write(connection, definition, entity, options, writer)
        return created, _public(stored)

    def bulk_write(
        self, blueprint: str, body: Any, options: WriteOptions, writer: Writer
    ) -> tuple[int, dict[str, Any]]:
        """Port's bulk create: 422 for the whole request when its body breaks the route's schema
        (`route_bodies`); otherwise each entity succeeds or fails alone against its blueprint
        (200 if all did, else 207)."""
        entities = bulk_write_entities(body)
        written: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.database.transaction() as connection:
            definition = store.required_blueprint(connection, blueprint)
            for index, entity in enumerate(entities):
                connection.execute("SAVEPOINT bulk_entity")
                try:
                    created, stored = self._writer.write(connection, definition, entity, options, writer)
                except CatalogError as error:
                    connection.execute("ROLLBACK TO bulk_entity")
                    errors.append(_bulk_error(entity, index, error))
                else:
                    written.append(
                        {
                            "created": created,
                            "identifier": stored["identifier"],
                            "index": index,
                            "additionalData": {},
                        }
                    )
                finally:
                    connection.execute("RELEASE bulk_entity")
        status = 207 if errors else 200
        return status, {"ok": not errors, "entities": written, "errors": errors}

    def get_entity(self, blueprint: str, identifier: str) -> dict[str, Any]:
        """The entity as Port returns it, or 404."""
        connection = self.database.connection()
        entity = store.load_entity(connection, blueprint, identifier)
        if entity is None:
            store.required_blueprint(connection, blueprint)
            raise not_found(f"entity {identifier!r} of blueprint {blueprint!r}")
        return _public(entity)

    def count_entities(self, blueprint: str) -> int:
        """How many entities the blueprint has, or 404."""
        with self.database.snapshot() as connection:
            store.required_blueprint(connection, blueprint)
            return store.count_entities(connection, blueprint)

    def list_entities(
        self, blueprint: str, include: Sequence[str] = (), exclude: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Every entity of a blueprint."""
        with self.database.snapshot() as connection:
            store.required_blueprint(connection, blueprint)
            rows = store.scan_entities(connection, sql_prefilter(MATCH_ALL), blueprint=blueprint)
            return [project(_public(entity), include, exclude) for entity in rows]

    def search(self, query: Any, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> dict[str, Any]:
        """`POST /v1/entities/search`: every matching entity of any blueprint."""
        predicate = compile_query(search_body(query))
        with self.database.snapshot() as connection:
            matches = [entity for entity in store.scan_entities(connection, sql_prefilter(query)) if predicate(entity)]
        return {
            "ok": True,
            "matchingBlueprints": sorted({entity["blueprint"] for entity in matches}),
            "failedBlueprints": [],
            "entities": [project(_public(entity), include, exclude) for entity in matches],
        }

    def search_blueprint(self, blueprint: str, body: Any) -> dict[str, Any]:
        """`POST /v1/blueprints/{bp}/entities/search`: one page of matches, and the `next` cursor
        unless it is the last page. `include`/`exclude` name meta-properties with `$`
        (`$identifier`, `$updatedAt`) and properties or relations by their bare identifiers."""
        body = blueprint_search_body(body)
        query = body.get("query") or MATCH_ALL
        predicate = compile_query(query, "query")
        limit = body.get("limit", DEFAULT_PAGE_SIZE)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
            raise invalid(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
        include, exclude = _names(body, "include"), _names(body, "exclude")
        after = _decode_cursor(body["from"]) if body.get("from") else None
        page: list[dict[str, Any]] = []
        more = False
        with self.database.snapshot() as connection:
            store.required_blueprint(connection, blueprint)
            rows = store.scan_entities(connection, sql_prefilter(query), blueprint=blueprint, after=after)
            for entity in rows:
                if not predicate(entity):
                    continue
                if len(page) == limit:
                    more = True
                    break
                page.append(entity)
        answer: dict[str, Any] = {"ok": True}
        if more:
            answer["next"] = _encode_cursor(page[-1]["identifier"])
        answer["entities"] = [project_fields(_public(entity), include, exclude) for entity in page]
        return answer

    # -- deletes -----------------------------------------------------------------------------

    def delete_entity(self, blueprint: str, identifier: str, delete_dependents: bool) -> None:
        """Delete one entity; with `delete_dependents` every entity relating to it too, without it
        403 `has_dependents` when any entity relates to it."""
        with self.database.transaction() as connection:
            if not store.entity_exists(connection, blueprint, identifier):
                store.required_blueprint(connection, blueprint)
                raise not_found(f"entity {identifier!r} of blueprint {blueprint!r}")
            delete_entities(connection, [(blueprint, identifier)], _dependents(delete_dependents))

    def bulk_delete(self, blueprint: str, body: Any, delete_dependents: bool) -> list[str]:
        """Delete up to 100 entities of a blueprint at once; all or nothing: without
        `delete_dependents`, one entity that others relate to fails the whole request (403
        `has_dependents`). Returns those deleted."""
        identifiers = bulk_delete_identifiers(body)
        with self.database.transaction() as connection:
            store.required_blueprint(connection, blueprint)
            present = [
                identifier
                for identifier in dict.fromkeys(identifiers)
                if store.entity_exists(connection, blueprint, identifier)
            ]
            delete_entities(
                connection, [(blueprint, identifier) for identifier in present], _dependents(delete_dependents)
            )
        return present

    def delete_all_entities(self, blueprint: str, delete_blueprint: bool = False) -> str | None:
        """Delete every entity of a blueprint (refused if the blueprint has required relations).

        With `delete_blueprint`, the blueprint goes too, and the answer is the id of the migration
        that did it (Port runs it in the background; here it has already finished)."""
        with self.database.transaction() as connection:
            definition = store.required_blueprint(connection, blueprint)
            if any(relation.get("required") for relation in definition.get("relations", {}).values()):
                raise invalid(f"blueprint {blueprint!r} has required relations; delete its entities one by one")
            rows = store.scan_entities(connection, sql_prefilter(MATCH_ALL), blueprint=blueprint)
            roots = [(blueprint, entity["identifier"]) for entity in list(rows)]
            delete_entities(connection, roots, Dependents.DETACH)
            if not delete_blueprint:
                return None
            store.remove_blueprint(connection, blueprint)
        return f"migration_{uuid.uuid4().hex}"

    def reset(self) -> None:
        """Delete every blueprint and entity."""
        with self.database.transaction() as connection:
            store.clear_all(connection)


def _dependents(delete_dependents: bool) -> Dependents:
    return Dependents.DELETE if delete_dependents else Dependents.REFUSE


def _bulk_error(entity: Any, index: int, error: CatalogError) -> dict[str, Any]:
    identifier = entity.get("identifier") if isinstance(entity, dict) else None
    return {
        "identifier": identifier if isinstance(identifier, str) else json.dumps(identifier),
        "index": index,
        "statusCode": error.status,
        "error": error.error,
        "message": error.message,
    }


def _public(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The entity as Port answers it: no internal `$` fields, and no `title` or `icon` when unset
    (Port's response schemas type both as strings, never null)."""
    return {
        key: value
        for key, value in entity.items()
        if not key.startswith("$") and not (key in ("title", "icon") and value is None)
    }


def _names(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(f"{key} must be a list of field names")
    return value


def _encode_cursor(identifier: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": identifier}).encode()).decode()


def _decode_cursor(cursor: Any) -> str:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
        after = decoded["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise invalid(f"'from' is not a cursor this catalog returned: {cursor!r}") from error
    if not isinstance(after, str):
        raise invalid(f"'from' is not a cursor this catalog returned: {cursor!r}")
    return after
