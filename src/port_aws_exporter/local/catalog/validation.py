"""Validation of blueprints and entities as Port does it (pure: no I/O).

Covers what the exporter depends on: identifier patterns, blueprint shape, property types, enums
and a few formats, `required` properties, declared relations and their cardinality. Errors are
`CatalogError`s (422) whose message names the field and the rule it broke.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from port_aws_exporter.core.blueprint_rules import EntityProblem, properties_problem, relations_problem
from port_aws_exporter.core.entity_rules import (
    BLUEPRINT_IDENTIFIER_PATTERN,
    entity_problems,
    identifier_problem,
    is_blueprint_identifier,
)
from port_aws_exporter.local.catalog.errors import invalid

PROPERTY_TYPES = frozenset({"string", "number", "boolean", "object", "array"})
PROPERTY_ID = re.compile(r"^[A-Za-z0-9@_=\\-]+$")


def check_entity_identifier(value: Any, what: str = "identifier") -> str:
    """The identifier, if it is a string matching Port's entity identifier pattern (else 422)."""
    problem = identifier_problem(value, what)
    if problem:
        raise invalid(problem)
    assert isinstance(value, str)
    return value


def check_blueprint(body: Any) -> dict[str, Any]:
    """A blueprint body checked against Port's create-blueprint schema; returns a normalised copy."""
    if not isinstance(body, dict):
        raise invalid("the blueprint must be a JSON object")
    identifier = body.get("identifier")
    if not is_blueprint_identifier(identifier):
        raise invalid(
            f"blueprint identifier {identifier!r} is missing or does not match Port's pattern "
            f"{BLUEPRINT_IDENTIFIER_PATTERN} (at most 100 characters)"
        )
    assert isinstance(identifier, str)
    title = body.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 100:
        raise invalid(f"blueprint {identifier!r}: title must be a string of 1 to 100 characters")
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 200):
        raise invalid(f"blueprint {identifier!r}: description must be a string of at most 200 characters")
    schema = _check_schema(identifier, body.get("schema"))
    relations = _check_relation_definitions(identifier, body.get("relations", {}))
    return {**body, "schema": schema, "relations": relations}


def _check_schema(blueprint: str, schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        raise invalid(f"blueprint {blueprint!r}: schema must be an object with a 'properties' object")
    properties: dict[str, Any] = schema.get("properties", {})
    for property_id, definition in properties.items():
        if not PROPERTY_ID.match(property_id) or len(property_id) > 100:
            raise invalid(f"blueprint {blueprint!r}: property id {property_id!r} does not match Port's pattern")
        if not isinstance(definition, dict) or definition.get("type") not in PROPERTY_TYPES:
            raise invalid(
                f"blueprint {blueprint!r}: property {property_id!r} needs a type, one of "
                f"{', '.join(sorted(PROPERTY_TYPES))}"
            )
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise invalid(f"blueprint {blueprint!r}: schema.required must be a list of property ids")
    unknown = [name for name in required if name not in properties]
    if unknown:
        raise invalid(f"blueprint {blueprint!r}: required properties {unknown} are not defined in the schema")
    return {**schema, "properties": properties, "required": required}


def _check_relation_definitions(blueprint: str, relations: Any) -> dict[str, Any]:
    if not isinstance(relations, dict):
        raise invalid(f"blueprint {blueprint!r}: relations must be an object")
    checked: dict[str, Any] = {}
    for relation_id, definition in relations.items():
        if not isinstance(definition, dict) or not isinstance(definition.get("target"), str):
            raise invalid(f"blueprint {blueprint!r}: relation {relation_id!r} needs a string 'target'")
        for flag in ("required", "many"):
            if not isinstance(definition.get(flag, False), bool):
                raise invalid(f"blueprint {blueprint!r}: relation {relation_id!r}: {flag!r} must be a boolean")
        checked[relation_id] = {"required": False, "many": False, **definition}
    return checked


def check_entity_shape(entity: Any) -> dict[str, Any]:
    """An entity body against the write route's request schema (`core.entity_rules`); else 422."""
    problems = entity_problems(entity)
    if problems:
        raise invalid("; ".join(problems))
    assert isinstance(entity, dict)
    if isinstance(entity.get("team"), dict):
        raise invalid("team given as a search query: the local catalog has no teams to search (Port resolves it)")
    return entity


def normalise_team(team: Any) -> list[str]:
    """Port stores `team` as a list."""
    if team is None:
        return []
    return [team] if isinstance(team, str) else list(team)


def check_properties(blueprint: Mapping[str, Any], identifier: str, properties: Mapping[str, Any]) -> None:
    """Every property is declared, of its declared type, in its enum and format; required ones set
    (`core.blueprint_rules`, which the dry run shares); else 422 `blueprint_schema_mismatch`."""
    _raise(properties_problem(blueprint, identifier, properties))


def check_relations(blueprint: Mapping[str, Any], identifier: str, relations: Mapping[str, Any]) -> None:
    """Every relation is declared, a list when `many`, a single identifier otherwise; required set.

    Error codes as Port names them: `blueprint_schema_mismatch` (an undeclared relation),
    `relation_many_violation` (a list for a single relation, or a single value for a `many` one),
    `required_relation` (a required relation left empty).
    """
    _raise(relations_problem(blueprint, identifier, relations))


def _raise(problem: EntityProblem | None) -> None:
    if problem is not None:
        raise invalid(problem.message, problem.code)
