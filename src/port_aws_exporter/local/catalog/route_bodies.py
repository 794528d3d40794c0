"""The request-body schemas of Port's routes, as the local catalog checks them before any work.

A body that breaks its route's schema is refused whole with 422, as Port does: an unknown key
where the schema says `additionalProperties: false` (the bulk write body, the entity PATCH body,
the blueprint search body, the bulk delete body, the entities search body), a bulk body with 0 or
more than 20 entities, or one entity of a bulk body that breaks the entity rules of
`core.entity_rules` (then no entity of the request is written). The rules are stated here, in the
catalog's own code; the contract tests check them against Port's OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from port_aws_exporter.core.entity_rules import entity_problems, identifier_problem, json_type
from port_aws_exporter.local.catalog.errors import invalid
from port_aws_exporter.local.catalog.validation import PROPERTY_ID

MAX_BULK_WRITE = 20
MAX_BULK_DELETE = 100

BULK_WRITE_KEYS = frozenset({"entities"})
BULK_DELETE_KEYS = frozenset({"entities"})
PATCH_ENTITY_KEYS = frozenset({"identifier", "title", "icon", "team", "properties", "relations"})
BLUEPRINT_SEARCH_KEYS = frozenset({"query", "include", "exclude", "limit", "from"})
SEARCH_KEYS = frozenset({"combinator", "rules"})


def _object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise invalid(f"{what} must be a JSON object, got {json_type(body)}")
    return body


def refuse_unknown_keys(body: Mapping[str, Any], allowed: Collection[str], what: str = "the body") -> None:
    """422 naming the keys the route's schema does not allow (`additionalProperties: false`)."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise invalid(
            f"{what} must not have additional properties: {', '.join(repr(k) for k in unknown)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def bulk_write_entities(body: Any) -> list[dict[str, Any]]:
    """The entities of a bulk write body, when the whole body fits the route's schema."""
    body = _object(body, "the body")
    refuse_unknown_keys(body, BULK_WRITE_KEYS)
    entities = body.get("entities")
    if not isinstance(entities, list):
        raise invalid("the body must be {'entities': [...]}")
    if not 1 <= len(entities) <= MAX_BULK_WRITE:
        raise invalid(f"'entities' must hold 1 to {MAX_BULK_WRITE} entities, got {len(entities)}")
    problems = [
        f"entities[{index}].{problem}" if not problem.startswith("an entity") else f"entities[{index}]: {problem}"
        for index, entity in enumerate(entities)
        for problem in entity_problems(entity)
    ]
    if problems:
        raise invalid("the body does not match the route's schema, so no entity was written: " + "; ".join(problems))
    return entities


def bulk_delete_identifiers(body: Any) -> list[str]:
    """The identifiers of a bulk delete body `{"entities": [identifier, ...]}` (1 to 100)."""
    body = _object(body, "the body")
    refuse_unknown_keys(body, BULK_DELETE_KEYS)
    identifiers = body.get("entities")
    if not isinstance(identifiers, list) or not all(isinstance(item, str) for item in identifiers):
        raise invalid("the body must be {'entities': [identifier, ...]}")
    if not 1 <= len(identifiers) <= MAX_BULK_DELETE:
        raise invalid(f"'entities' must hold 1 to {MAX_BULK_DELETE} identifiers, got {len(identifiers)}")
    return identifiers


def patch_entity_body(body: Any) -> dict[str, Any]:
    """A PATCH body: the entity fields only; `title`, `icon` and `team` may be null (to clear them)."""
    changes: dict[str, Any] = dict(_object(body, "the entity changes"))
    refuse_unknown_keys(changes, PATCH_ENTITY_KEYS)
    if "identifier" in changes:
        problem = identifier_problem(changes["identifier"])
        if problem:
            raise invalid(problem)
    checked = {k: v for k, v in changes.items() if not (k in ("title", "icon", "team") and v is None)}
    problems = entity_problems(checked)
    properties = changes.get("properties")
    if isinstance(properties, dict):
        problems += [
            f"property id {name!r} does not match Port's pattern" for name in properties if not PROPERTY_ID.match(name)
        ]
    if problems:
        raise invalid("; ".join(problems))
    return changes


def blueprint_search_body(body: Any) -> Mapping[str, Any]:
    """A blueprint search body `{query, include, exclude, limit, from}`."""
    checked = _object(body, "the body")
    refuse_unknown_keys(checked, BLUEPRINT_SEARCH_KEYS)
    return checked


def search_body(body: Any) -> Mapping[str, Any]:
    """An entities search body: a query `{combinator, rules}` and nothing else."""
    checked = _object(body, "the body")
    refuse_unknown_keys(checked, SEARCH_KEYS)
    return checked
