"""Validation of blueprints and entities as Port does it (pure: no I/O).

Covers what the exporter depends on: identifier patterns, blueprint shape, property types, enums
and a few formats, `required` properties, declared relations and their cardinality. Errors are
`CatalogError`s (422) whose message names the field and the rule it broke.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from port_aws_exporter.core.entity_rules import (
    BLUEPRINT_IDENTIFIER_PATTERN,
    entity_problems,
    identifier_problem,
    is_blueprint_identifier,
    json_type,
)
from port_aws_exporter.local.catalog.errors import CatalogError, invalid

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
    """Every property is declared, of its declared type, in its enum and format; required ones set."""
    schema = blueprint["schema"]
    declared: dict[str, Any] = schema.get("properties", {})
    for name, value in properties.items():
        definition = declared.get(name)
        if definition is None:
            raise schema_mismatch(blueprint, identifier, f"property {name!r} is not defined in the blueprint's schema")
        problem = _value_problem(definition, value)
        if problem:
            raise schema_mismatch(blueprint, identifier, f"property {name!r} {problem}")
    missing = [name for name in schema.get("required", []) if properties.get(name) is None]
    if missing:
        raise schema_mismatch(blueprint, identifier, f"required properties {missing} are missing")


def check_relations(blueprint: Mapping[str, Any], identifier: str, relations: Mapping[str, Any]) -> None:
    """Every relation is declared, a list when `many`, a single identifier otherwise; required set.

    Error codes as Port names them: `blueprint_schema_mismatch` (an undeclared relation),
    `relation_many_violation` (a list for a single relation, or a single value for a `many` one),
    `required_relation` (a required relation left empty).
    """
    declared: dict[str, Any] = blueprint.get("relations", {})
    for name, value in relations.items():
        definition = declared.get(name)
        if definition is None:
            raise schema_mismatch(blueprint, identifier, f"relation {name!r} is not defined in the blueprint")
        if value is None:
            continue
        if definition.get("many") and not isinstance(value, list):
            raise _entity_error(
                "relation_many_violation",
                blueprint,
                identifier,
                f"relation {name!r} is 'many': its value must be a list of identifiers, got {json_type(value)}",
            )
        if not definition.get("many") and isinstance(value, list):
            raise _entity_error(
                "relation_many_violation",
                blueprint,
                identifier,
                f"relation {name!r} is not 'many': its value must be one identifier, got a list",
            )
        for target in value if isinstance(value, list) else [value]:
            check_entity_identifier(target, f"relation {name!r} target")
    missing = [
        name
        for name, definition in declared.items()
        if definition.get("required") and relations.get(name) in (None, [])
    ]
    if missing:
        raise _entity_error("required_relation", blueprint, identifier, f"required relations {missing} are missing")


def schema_mismatch(blueprint: Mapping[str, Any], identifier: str, problem: str) -> CatalogError:
    """422 `blueprint_schema_mismatch`: an entity that does not fit its blueprint's schema."""
    return _entity_error("blueprint_schema_mismatch", blueprint, identifier, problem)


def _entity_error(code: str, blueprint: Mapping[str, Any], identifier: str, problem: str) -> CatalogError:
    return invalid(f"entity {identifier!r} of blueprint {blueprint['identifier']!r}: {problem}", code)


def _value_problem(definition: Mapping[str, Any], value: Any) -> str | None:
    if value is None:
        return None
    declared_type = definition["type"]
    if not _has_type(declared_type, value):
        return f"must be of type {declared_type}, got {json_type(value)}"
    enum = definition.get("enum")
    if isinstance(enum, list) and value not in enum:
        return f"value {value!r} is not one of {enum}"
    if declared_type == "string":
        return _format_problem(definition.get("format"), value)
    if declared_type == "array" and isinstance(definition.get("items"), dict):
        for item in value:
            problem = _value_problem({"type": "string", **definition["items"]}, item)
            if problem:
                return f"item {item!r} {problem}"
    return None


def _has_type(declared_type: str, value: Any) -> bool:
    if declared_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    expected = {"string": str, "boolean": bool, "object": dict, "array": list}[declared_type]
    return isinstance(value, expected)


def _format_problem(string_format: Any, value: str) -> str | None:
    if string_format == "url":
        parsed = urlparse(value)
        if not parsed.scheme or not parsed.netloc:
            return f"value {value!r} is not a URL"
    elif string_format == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"value {value!r} is not an ISO 8601 date-time"
    elif string_format in {"email", "idn-email"}:
        if "@" not in value.strip("@"):
            return f"value {value!r} is not an email address"
    elif string_format in {"ipv4", "ipv6"}:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return f"value {value!r} is not an {string_format} address"
        if f"ipv{address.version}" != string_format:
            return f"value {value!r} is not an {string_format} address"
    return None
