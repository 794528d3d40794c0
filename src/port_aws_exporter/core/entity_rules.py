"""Port's route-schema rules for an entity body, written once for the client and the local catalog.

Port's entity write routes (`POST /v1/blueprints/{bp}/entities`, and each item of
`POST /v1/blueprints/{bp}/entities/bulk`) validate the body against the route's request schema
before anything else: a violation there fails the whole request with 422, in the bulk route for
every entity of it. The rules are few and pure:

- `identifier` (optional: without one, Port makes one up): a string matching
  `^(?!\\.{1,2}$)[\\p{L}0-9@_.+:\\\\/=-]+$`, at most 1000 characters, or a search query (`=`,
  `in`, `containsAny`, `contains` rules, nested queries) that names one existing entity;
- `title` and `icon`: strings; `team`: a string, a list of strings, or a search query;
- `properties`: an object (the values' types are the blueprint's business, checked later and per
  entity);
- `relations`: an object whose values are an identifier, a list of identifiers, null, or a search
  query.

The Port client checks each entity with `entity_problems` before sending, so that one bad entity
(an AWS name with a space) fails alone, with its reason, and the other entities of the request are
written; the local catalog answers a request that breaks them with a 422 for all of it, as Port
does. The contract tests hold these rules against Port's OpenAPI document.

    >>> entity_problems({"identifier": "fn-1", "properties": {"memory": 128}})
    []
    >>> entity_problems({"identifier": "bad id"})[0].split(" does not match")[0]
    "identifier 'bad id'"
    >>> entity_problems({"identifier": "fn-1", "relations": {"cluster": ["a", "b c"]}})[0].split(" does not")[0]
    "relations.cluster[1] 'b c'"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENTITY_IDENTIFIER_PATTERN = r"^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$"
BLUEPRINT_IDENTIFIER_PATTERN = r"^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/-]+$"
ENTITY_IDENTIFIER_MAX = 1000
BLUEPRINT_IDENTIFIER_MAX = 100

_ENTITY_ID_EXTRA = frozenset("0123456789@_.+:\\/=-")
_BLUEPRINT_ID_EXTRA = frozenset("0123456789@_.+:\\/-")

# The rule operators a search query in an identifier, a team or a relation may use.
_EQUALS_VALUE = (str, int, float, type(None))
QUERY_OPERATORS = frozenset({"=", "in", "containsAny", "contains"})


def _matches_identifier(value: str, extra: frozenset[str]) -> bool:
    # `str.isalpha()` is true exactly for Unicode's letter categories, ECMAScript's \p{L}.
    return bool(value) and value not in {".", ".."} and all(char in extra or char.isalpha() for char in value)


def is_entity_identifier(value: Any) -> bool:
    """True for a string Port accepts as an entity identifier (pattern and length)."""
    return (
        isinstance(value, str) and len(value) <= ENTITY_IDENTIFIER_MAX and _matches_identifier(value, _ENTITY_ID_EXTRA)
    )


def is_blueprint_identifier(value: Any) -> bool:
    """True for a string Port accepts as a blueprint identifier (pattern and length)."""
    return (
        isinstance(value, str)
        and len(value) <= BLUEPRINT_IDENTIFIER_MAX
        and _matches_identifier(value, _BLUEPRINT_ID_EXTRA)
    )


def identifier_problem(value: Any, what: str = "identifier") -> str | None:
    """Why `value` is not an entity identifier string, or None when it is one."""
    if not isinstance(value, str):
        return f"{what} must be a string, got {json_type(value)}"
    if len(value) > ENTITY_IDENTIFIER_MAX:
        return f"{what} is {len(value)} characters long, over Port's limit of {ENTITY_IDENTIFIER_MAX}"
    if not _matches_identifier(value, _ENTITY_ID_EXTRA):
        return f"{what} {value!r} does not match Port's identifier pattern {ENTITY_IDENTIFIER_PATTERN}"
    return None


def query_problem(value: Any, what: str) -> str | None:
    """Why `value` is not a search query of the shape an identifier, team or relation may be."""
    if not isinstance(value, dict):
        return f"{what} must be a search query object, got {json_type(value)}"
    unknown = sorted(set(value) - {"combinator", "rules"})
    if unknown:
        return f"{what} has keys {unknown} that a search query does not have"
    if value.get("combinator") not in ("and", "or"):
        return f"{what}.combinator must be 'and' or 'or'"
    rules = value.get("rules")
    if not isinstance(rules, list):
        return f"{what}.rules must be a list"
    for index, rule in enumerate(rules):
        where = f"{what}.rules[{index}]"
        if isinstance(rule, dict) and "combinator" in rule:
            problem = query_problem(rule, where)
        else:
            problem = _rule_problem(rule, where)
        if problem:
            return problem
    return None


def _rule_problem(rule: Any, where: str) -> str | None:
    if not isinstance(rule, dict) or set(rule) != {"property", "operator", "value"}:
        return f"{where} must be a rule with exactly 'property', 'operator' and 'value'"
    if not isinstance(rule["property"], str):
        return f"{where}.property must be a string"
    operator, value = rule["operator"], rule["value"]
    if operator not in QUERY_OPERATORS:
        return f"{where}.operator must be one of {', '.join(sorted(QUERY_OPERATORS))}, got {operator!r}"
    if operator == "=" and (isinstance(value, bool) or not isinstance(value, _EQUALS_VALUE)):
        return f"{where}: '=' needs a string, number or null value"
    if operator in ("in", "containsAny") and not _is_string_list(value):
        return f"{where}: {operator!r} needs a list of strings"
    if operator == "contains" and not (value is None or isinstance(value, str) or _is_string_list(value)):
        return f"{where}: 'contains' needs a string, a list of strings or null"
    return None


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def relation_value_problem(value: Any, what: str) -> str | None:
    """Why a relation value is none of: identifier, list of identifiers, null, search query."""
    if value is None:
        return None
    if isinstance(value, str):
        return identifier_problem(value, what)
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = identifier_problem(item, f"{what}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        return query_problem(value, what)
    return f"{what} must be an identifier, a list of identifiers, null or a search query, got {json_type(value)}"


def entity_problems(entity: Any) -> list[str]:
    """Every route-schema violation of one entity body (empty when Port's schema accepts it)."""
    if not isinstance(entity, Mapping):
        return [f"an entity must be a JSON object, got {json_type(entity)}"]
    problems = [_identifier_field_problem(entity)]
    for key in ("title", "icon"):
        if key in entity and not isinstance(entity[key], str):
            problems.append(f"{key} must be a string, got {json_type(entity[key])}")
    if "team" in entity:
        problems.append(_team_problem(entity["team"]))
    if "properties" in entity and not isinstance(entity["properties"], dict):
        problems.append(f"properties must be an object, got {json_type(entity['properties'])}")
    if "relations" in entity:
        problems += _relations_problems(entity["relations"])
    return [problem for problem in problems if problem]


def _identifier_field_problem(entity: Mapping[str, Any]) -> str | None:
    if "identifier" not in entity:
        return None  # Port makes one up
    identifier = entity["identifier"]
    if isinstance(identifier, dict):
        return query_problem(identifier, "identifier")
    return identifier_problem(identifier)


def _team_problem(team: Any) -> str | None:
    if isinstance(team, dict):
        return query_problem(team, "team")
    if isinstance(team, str) or _is_string_list(team):
        return None
    return f"team must be a string, a list of strings or a search query, got {json_type(team)}"


def _relations_problems(relations: Any) -> list[str | None]:
    if not isinstance(relations, dict):
        return [f"relations must be an object, got {json_type(relations)}"]
    return [relation_value_problem(value, f"relations.{name}") for name, value in relations.items()]


def json_type(value: Any) -> str:
    """The JSON type name of a decoded JSON value (`object`, `array`, `number`…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", dict: "object", list: "array"}
    return names.get(type(value), type(value).__name__)
