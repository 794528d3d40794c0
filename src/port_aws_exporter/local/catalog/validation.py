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

from port_aws_exporter.local.catalog.errors import CatalogError, invalid

ENTITY_IDENTIFIER_MAX = 1000
BLUEPRINT_IDENTIFIER_MAX = 100
PROPERTY_TYPES = frozenset({"string", "number", "boolean", "object", "array"})
_ENTITY_ID_EXTRA = frozenset("0123456789@_.+:\\/=-")
_BLUEPRINT_ID_EXTRA = frozenset("0123456789@_.+:\\/-")
_PROPERTY_ID = re.compile(r"^[A-Za-z0-9@_=\\-]+$")


def _identifier_ok(value: str, extra: frozenset[str], max_length: int) -> bool:
    # Port's pattern ^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$ ; str.isalpha() is Unicode's \p{L}.
    if not value or len(value) > max_length or value in {".", ".."}:
        return False
    return all(char in extra or char.isalpha() for char in value)


def check_entity_identifier(value: Any, what: str = "identifier") -> str:
    """The identifier, if it matches Port's entity identifier pattern."""
    if not isinstance(value, str):
        raise invalid(f"{what} must be a string, got {type(value).__name__}")
    if not _identifier_ok(value, _ENTITY_ID_EXTRA, ENTITY_IDENTIFIER_MAX):
        raise invalid(
            f"{what} {value!r} does not match the pattern ^(?!\\.{{1,2}}$)[\\p{{L}}0-9@_.+:\\\\/=-]+$ "
            f"(at most {ENTITY_IDENTIFIER_MAX} characters)"
        )
    return value


def check_blueprint(body: Any) -> dict[str, Any]:
    """A blueprint body checked against Port's create-blueprint schema; returns a normalised copy."""
    if not isinstance(body, dict):
        raise invalid("the blueprint must be a JSON object")
    identifier = body.get("identifier")
    if not isinstance(identifier, str) or not _identifier_ok(identifier, _BLUEPRINT_ID_EXTRA, BLUEPRINT_IDENTIFIER_MAX):
        raise invalid(f"blueprint identifier {identifier!r} is missing or does not match Port's pattern")
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
        if not _PROPERTY_ID.match(property_id) or len(property_id) > 100:
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
    """The top-level shape of an entity body (before the blueprint's schema is applied)."""
    if not isinstance(entity, dict):
        raise invalid("an entity must be a JSON object")
    check_entity_identifier(entity.get("identifier"))
    for key, kinds in (("title", (str,)), ("icon", (str,)), ("properties", (dict,)), ("relations", (dict,))):
        value = entity.get(key)
        if value is not None and not isinstance(value, kinds):
            raise invalid(f"entity {entity['identifier']!r}: {key} must be a {kinds[0].__name__}")
    team = entity.get("team")
    if team is not None and not (
        isinstance(team, str) or (isinstance(team, list) and all(isinstance(t, str) for t in team))
    ):
        raise invalid(f"entity {entity['identifier']!r}: team must be a string or a list of strings")
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
    """Every relation is declared, a list when `many`, a single identifier otherwise; required set."""
    declared: dict[str, Any] = blueprint.get("relations", {})
    for name, value in relations.items():
        definition = declared.get(name)
        if definition is None:
            raise schema_mismatch(blueprint, identifier, f"relation {name!r} is not defined in the blueprint")
        if value is None:
            continue
        if definition.get("many"):
            if not isinstance(value, list):
                raise schema_mismatch(blueprint, identifier, f"relation {name!r} is 'many': its value must be a list")
            for target in value:
                check_entity_identifier(target, f"relation {name!r} target")
        else:
            check_entity_identifier(value, f"relation {name!r} target")
    missing = [
        name
        for name, definition in declared.items()
        if definition.get("required") and relations.get(name) in (None, [])
    ]
    if missing:
        raise schema_mismatch(blueprint, identifier, f"required relations {missing} are missing")


def schema_mismatch(blueprint: Mapping[str, Any], identifier: str, problem: str) -> CatalogError:
    """422 for an entity that does not fit its blueprint."""
    return invalid(f"entity {identifier!r} of blueprint {blueprint['identifier']!r}: {problem}", "schema_mismatch")


def _value_problem(definition: Mapping[str, Any], value: Any) -> str | None:
    if value is None:
        return None
    declared_type = definition["type"]
    if not _has_type(declared_type, value):
        return f"must be of type {declared_type}, got {_json_type(value)}"
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


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", dict: "object", list: "array"}
    return names.get(type(value), type(value).__name__)


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
