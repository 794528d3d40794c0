"""Port's rules for an entity against its blueprint, written once for the local catalog and the dry run.

After the route schema (`core.entity_rules`), Port checks an entity against its blueprint: every
property is declared, of its declared type, in its enum and format, and the required ones are set;
every relation is declared, a list exactly when it is `many`, its targets well-formed, the required
ones set; and each target exists (unless the write asks Port to create missing related entities).
The local catalog refuses a write that breaks one (`local.catalog.validation`, 422 with Port's error
code); `sync --dry-run` runs the same checks on every mapped entity, so that what a dry run calls a
create is what the real run writes.

    >>> blueprint = {"identifier": "queue", "schema": {"properties": {"arn": {"type": "string"}}}}
    >>> properties_problem(blueprint, "q1", {"arn": 5}).message
    "entity 'q1' of blueprint 'queue': property 'arn' must be of type string, got number"
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from port_aws_exporter.core.entity_rules import identifier_problem, json_type

SCHEMA_MISMATCH = "blueprint_schema_mismatch"
RELATION_MANY_VIOLATION = "relation_many_violation"
REQUIRED_RELATION = "required_relation"
INVALID_REQUEST = "invalid_request"
RELATED_ENTITY_NOT_FOUND = "not_found"


@dataclass(frozen=True)
class EntityProblem:
    """Why Port refuses an entity: its error `code` (as Port names it) and a message naming the field."""

    code: str
    message: str


def properties_problem(
    blueprint: Mapping[str, Any], identifier: str, properties: Mapping[str, Any]
) -> EntityProblem | None:
    """The first property rule the entity breaks (declared, typed, in enum and format; required set)."""
    schema = blueprint.get("schema") or {}
    declared: dict[str, Any] = schema.get("properties", {})
    for name, value in properties.items():
        definition = declared.get(name)
        if definition is None:
            return _problem(
                SCHEMA_MISMATCH, blueprint, identifier, f"property {name!r} is not defined in the blueprint's schema"
            )
        problem = _value_problem(definition, value)
        if problem:
            return _problem(SCHEMA_MISMATCH, blueprint, identifier, f"property {name!r} {problem}")
    missing = [name for name in schema.get("required", []) if properties.get(name) is None]
    if missing:
        return _problem(SCHEMA_MISMATCH, blueprint, identifier, f"required properties {missing} are missing")
    return None


def relations_problem(
    blueprint: Mapping[str, Any], identifier: str, relations: Mapping[str, Any]
) -> EntityProblem | None:
    """The first relation rule the entity breaks: declared, a list exactly when `many`, targets
    well-formed identifiers, required relations set (Port's codes: `blueprint_schema_mismatch`,
    `relation_many_violation`, `required_relation`)."""
    declared: dict[str, Any] = blueprint.get("relations", {})
    for name, value in relations.items():
        definition = declared.get(name)
        if definition is None:
            return _problem(
                SCHEMA_MISMATCH, blueprint, identifier, f"relation {name!r} is not defined in the blueprint"
            )
        if value is None:
            continue
        if definition.get("many") and not isinstance(value, list):
            return _problem(
                RELATION_MANY_VIOLATION,
                blueprint,
                identifier,
                f"relation {name!r} is 'many': its value must be a list of identifiers, got {json_type(value)}",
            )
        if not definition.get("many") and isinstance(value, list):
            return _problem(
                RELATION_MANY_VIOLATION,
                blueprint,
                identifier,
                f"relation {name!r} is not 'many': its value must be one identifier, got a list",
            )
        for target in value if isinstance(value, list) else [value]:
            problem = identifier_problem(target, f"relation {name!r} target")
            if problem:
                return EntityProblem(INVALID_REQUEST, problem)
    missing = [
        name
        for name, definition in declared.items()
        if definition.get("required") and relations.get(name) in (None, [])
    ]
    if missing:
        return _problem(REQUIRED_RELATION, blueprint, identifier, f"required relations {missing} are missing")
    return None


def relation_links(definition: Mapping[str, Any], relations: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """`(relation, target blueprint, target)` for every target an entity's `relations` name."""
    return [
        (name, definition["relations"][name]["target"], target)
        for name, value in relations.items()
        for target in (value if isinstance(value, list) else [] if value is None else [value])
    ]


def missing_related_entity(relation: str, target_blueprint: str, target: str, identifier: str) -> EntityProblem:
    """Port's 404 for a relation whose target entity does not exist."""
    return EntityProblem(
        RELATED_ENTITY_NOT_FOUND,
        f"related entity {target!r} of blueprint {target_blueprint!r} (relation {relation!r} of {identifier!r}) "
        "was not found",
    )


def _problem(code: str, blueprint: Mapping[str, Any], identifier: str, problem: str) -> EntityProblem:
    return EntityProblem(code, f"entity {identifier!r} of blueprint {blueprint['identifier']!r}: {problem}")


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
