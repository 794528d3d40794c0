"""Port's entity search queries, evaluated over stored entities (pure: no I/O).

A query is `{"combinator": "and"|"or", "rules": [...]}`; a rule is `{"property", "operator",
"value"}` or a nested query. `property` is a blueprint property or a meta-property (`$identifier`,
`$title`, `$blueprint`, `$team`, `$icon`, `$datasource`, `$createdAt`, `$updatedAt`, `$createdBy`,
`$updatedBy`). `compile_query` checks the whole query once and returns a predicate, so a bad query
is refused (422) before any entity is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from port_aws_exporter.local.catalog.errors import invalid

Predicate = Callable[[Mapping[str, Any]], bool]

META_PROPERTIES = {
    "$identifier": "identifier",
    "$title": "title",
    "$blueprint": "blueprint",
    "$team": "team",
    "$icon": "icon",
    "$datasource": "$datasource",
    "$createdAt": "createdAt",
    "$updatedAt": "updatedAt",
    "$createdBy": "createdBy",
    "$updatedBy": "updatedBy",
}


def _equals(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list) and not isinstance(expected, list):
        return expected in actual
    return bool(actual == expected)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return expected in actual
    if isinstance(actual, list):
        return expected in actual
    return False


def _contains_any(actual: Any, expected: Any) -> bool:
    return any(_contains(actual, item) for item in expected)


def _is_in(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):
        return any(item in expected for item in actual)
    return actual in expected


def _is_empty(actual: Any, _expected: Any) -> bool:
    return actual is None or actual in ("", [], {})


def _text_test(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    def apply(actual: Any, expected: Any) -> bool:
        return isinstance(actual, str) and test(actual, expected)

    return apply


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def apply(actual: Any, expected: Any) -> bool:
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (actual, expected))
        texts = isinstance(actual, str) and isinstance(expected, str)
        return (numbers or texts) and test(actual, expected)

    return apply


def _between(actual: Any, expected: Any) -> bool:
    moment = _parse_time(actual)
    if moment is None:
        return False
    start, end = _parse_time(expected.get("from")), _parse_time(expected.get("to"))
    return (start is None or moment >= start) and (end is None or moment <= end)


def _negated(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda actual, expected: not test(actual, expected)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": _equals,
    "!=": _negated(_equals),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    "contains": _contains,
    "doesNotContains": _negated(_contains),
    "containsAny": _contains_any,
    "beginsWith": _text_test(str.startswith),
    "doesNotBeginsWith": _negated(_text_test(str.startswith)),
    "endsWith": _text_test(str.endswith),
    "doesNotEndsWith": _negated(_text_test(str.endswith)),
    "in": _is_in,
    "notIn": _negated(_is_in),
    "isEmpty": _is_empty,
    "isNotEmpty": _negated(_is_empty),
    "between": _between,
    "notBetween": _negated(_between),
}
_LIST_VALUED = frozenset({"in", "notIn", "containsAny"})
_NO_VALUE = frozenset({"isEmpty", "isNotEmpty"})
_TEXT_VALUED = frozenset(
    {"contains", "doesNotContains", "beginsWith", "doesNotBeginsWith", "endsWith", "doesNotEndsWith"}
)


def compile_query(query: Any, where: str = "query") -> Predicate:
    """A predicate over stored entities (see `entity_value`), or a 422 naming the bad part."""
    if not isinstance(query, dict):
        raise invalid(f"{where} must be an object with 'combinator' and 'rules'")
    combinator = query.get("combinator")
    rules = query.get("rules")
    if combinator not in ("and", "or"):
        raise invalid(f"{where}.combinator must be 'and' or 'or', got {combinator!r}")
    if not isinstance(rules, list):
        raise invalid(f"{where}.rules must be a list")
    predicates = [_compile_rule(rule, f"{where}.rules[{index}]") for index, rule in enumerate(rules)]
    if combinator == "and":
        return lambda entity: all(predicate(entity) for predicate in predicates)
    return lambda entity: any(predicate(entity) for predicate in predicates)


def _compile_rule(rule: Any, where: str) -> Predicate:
    if isinstance(rule, dict) and "combinator" in rule:
        return compile_query(rule, where)
    if not isinstance(rule, dict) or not isinstance(rule.get("property"), str):
        raise invalid(f"{where} must be a query or a rule with a string 'property'")
    operator = rule.get("operator")
    test = OPERATORS.get(operator) if isinstance(operator, str) else None
    if test is None:
        raise invalid(
            f"{where}: operator {operator!r} is not supported; use one of {', '.join(OPERATORS)}",
        )
    expected = _check_value(rule, str(operator), where)
    name: str = rule["property"]
    if name.startswith("$") and name not in META_PROPERTIES:
        raise invalid(f"{where}: unknown meta-property {name!r}")
    return lambda entity: test(entity_value(entity, name), expected)


def _check_value(rule: Mapping[str, Any], operator: str, where: str) -> Any:
    if operator in _NO_VALUE:
        return None
    if "value" not in rule:
        raise invalid(f"{where}: operator {operator!r} needs a 'value'")
    value = rule["value"]
    if operator in _LIST_VALUED and not isinstance(value, list):
        raise invalid(f"{where}: operator {operator!r} needs a list value")
    if operator in _TEXT_VALUED and not isinstance(value, str):
        raise invalid(f"{where}: operator {operator!r} needs a string value")
    if operator in {"between", "notBetween"} and not (isinstance(value, dict) and ("from" in value or "to" in value)):
        raise invalid(f"{where}: operator {operator!r} needs a value {{'from': ..., 'to': ...}}")
    return value


def entity_value(entity: Mapping[str, Any], name: str) -> Any:
    """The value a rule on `name` looks at: a meta-property or a property of the entity."""
    if name.startswith("$"):
        return entity.get(META_PROPERTIES[name])
    return (entity.get("properties") or {}).get(name)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class SqlPrefilter:
    """Conditions of a query that SQL can apply before the predicate runs (a speed-up only)."""

    blueprints: tuple[str, ...] | None = None
    identifiers: tuple[str, ...] | None = None
    datasource_contains: tuple[str, ...] = ()


def sql_prefilter(query: Mapping[str, Any]) -> SqlPrefilter:
    """The top-level `and` rules on `$blueprint`, `$identifier` and `$datasource contains`."""
    if query.get("combinator") != "and":
        return SqlPrefilter()
    blueprints: set[str] | None = None
    identifiers: set[str] | None = None
    datasource: list[str] = []
    for rule in query.get("rules") or []:
        if not isinstance(rule, dict):
            continue
        name, operator, value = rule.get("property"), rule.get("operator"), rule.get("value")
        values = _exact_values(operator, value)
        if name == "$blueprint" and values is not None:
            blueprints = values if blueprints is None else blueprints & values
        elif name == "$identifier" and values is not None:
            identifiers = values if identifiers is None else identifiers & values
        elif name == "$datasource" and operator == "contains" and isinstance(value, str):
            datasource.append(value)
    return SqlPrefilter(
        blueprints=None if blueprints is None else tuple(sorted(blueprints)),
        identifiers=None if identifiers is None else tuple(sorted(identifiers)),
        datasource_contains=tuple(datasource),
    )


def _exact_values(operator: Any, value: Any) -> set[str] | None:
    if operator == "=" and isinstance(value, str):
        return {value}
    if operator == "in" and isinstance(value, list) and all(isinstance(item, str) for item in value):
        return set(value)
    return None


def project(entity: Mapping[str, Any], include: Sequence[str], exclude: Sequence[str]) -> dict[str, Any]:
    """The entity with only the `include` fields (if any) and without the `exclude` ones.

    Field names are top-level keys (`identifier`, `properties`) or one level deeper
    (`properties.arn`, `relations.cluster`).
    """
    if include:
        shown: dict[str, Any] = {}
        for field in include:
            top, _, sub = field.partition(".")
            if top not in entity:
                continue
            if not sub:
                shown[top] = entity[top]
            elif isinstance(entity[top], dict) and sub in entity[top]:
                shown.setdefault(top, {})[sub] = entity[top][sub]
    else:
        shown = dict(entity)
    for field in exclude:
        top, _, sub = field.partition(".")
        if not sub:
            shown.pop(top, None)
        elif isinstance(shown.get(top), dict):
            shown[top] = {key: value for key, value in shown[top].items() if key != sub}
    return shown


def project_fields(entity: Mapping[str, Any], include: Sequence[str], exclude: Sequence[str]) -> dict[str, Any]:
    """The entity with only the `include`d fields (if any) and without the `exclude`d ones, as the
    blueprint search body names them: a meta-property with its `$` (`$identifier`, `$updatedAt`),
    a property or a relation by its bare identifier (`arn` is `properties.arn` and, if the
    blueprint has such a relation, `relations.arn`). A bare `identifier` is a property named so.
    """
    for name in (*include, *exclude):
        if name.startswith("$") and name not in META_PROPERTIES:
            raise invalid(f"unknown meta-property {name!r}; meta-properties are {', '.join(META_PROPERTIES)}")
    if not include:
        shown = dict(entity)
    else:
        shown = {}
        for name in include:
            _copy_field(entity, shown, name)
    for name in exclude:
        if name.startswith("$"):
            shown.pop(META_PROPERTIES[name], None)
            continue
        for section in ("properties", "relations"):
            if isinstance(shown.get(section), dict):
                shown[section] = {key: value for key, value in shown[section].items() if key != name}
    return shown


def _copy_field(entity: Mapping[str, Any], shown: dict[str, Any], name: str) -> None:
    if name.startswith("$"):
        key = META_PROPERTIES[name]
        if key in entity:
            shown[key] = entity[key]
        return
    for section in ("properties", "relations"):
        values = entity.get(section)
        if isinstance(values, dict) and name in values:
            shown.setdefault(section, {})[name] = values[name]
