"""Evaluation of CloudFormation intrinsic functions over a template's plain data.

Only what can be known before deployment is computed: parameters, pseudo parameters the caller
gives, mappings, conditions, string functions, the imports the caller gives, and a rule's own
name and ARN. Anything else is "unresolvable": the caller decides whether that is an error or is
left in place as an `Unresolved` marker (lenient loading, e.g. for linting a template whose queue
ARN is not known).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()  # what AWS::NoValue evaluates to: the property or list item disappears

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Unresolved(str):
    """A value CloudFormation computes at deploy time that could not be computed here.

    It is a string (so it fits wherever a value goes) reading `${unresolved: <reference>}`;
    `reference` names what was missing, e.g. `Fn::ImportValue my-stack-EventsQueueARN`.
    """

    reference: str

    def __new__(cls, reference: str, text: str | None = None) -> Unresolved:
        instance = super().__new__(cls, text if text is not None else "${unresolved: " + reference + "}")
        instance.reference = reference
        return instance


class IntrinsicError(ValueError):
    """An intrinsic function that cannot be evaluated; `where` says which property holds it."""

    def __init__(self, message: str, where: str, reference: str | None = None) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reference = reference


@dataclass(frozen=True, slots=True)
class UnresolvedNote:
    """One value left unresolved in lenient mode: where it is, what it refers to and why."""

    where: str
    reference: str
    reason: str


class UnknownCondition(Exception):
    """A condition whose value depends on something unresolved (lenient mode only)."""


@dataclass
class IntrinsicResolver:
    """Evaluates intrinsic functions for one template.

    `parameters` maps a parameter name to its value (a string, or a list for list types), or to
    None when it has neither a given value nor a default. `resource_refs` and `resource_attributes`
    answer `Ref` and `Fn::GetAtt` on resources, returning None when they cannot.
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, object]
    imports: Mapping[str, str]
    pseudo_parameters: Mapping[str, str]
    lenient: bool
    resource_ref: Callable[[str], object | None]
    resource_attribute: Callable[[str, str], object | None]
    notes: list[UnresolvedNote] = field(default_factory=list)
    _conditions: dict[str, bool] = field(default_factory=dict)

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic function evaluated (dicts and lists rebuilt)."""
        if isinstance(value, dict):
            function = _intrinsic_name(value)
            if function is not None:
                return self._call(function, value[function], where)
            resolved: dict[str, Any] = {}
            for key, item in value.items():
                result = self.resolve(item, f"{where}.{key}")
                if result is not NO_VALUE:
                    resolved[key] = result
            return resolved
        if isinstance(value, list):
            items = (self.resolve(item, f"{where}[{index}]") for index, item in enumerate(value))
            return [item for item in items if item is not NO_VALUE]
        return value

    def condition(self, name: str, where: str) -> bool:
        """The value of a named condition of the template's Conditions section."""
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise IntrinsicError(f"condition {name!r} is not defined in Conditions", where)
            self._conditions[name] = self._truth(conditions[name], f"Conditions.{name}")
        return self._conditions[name]

    def unresolvable(self, reference: str, reason: str, where: str) -> Unresolved:
        """Record (lenient) or raise (strict) a value that cannot be computed here."""
        if not self.lenient:
            raise IntrinsicError(f"cannot resolve {reference}: {reason}", where, reference)
        self.notes.append(UnresolvedNote(where=where, reference=reference, reason=reason))
        return Unresolved(reference)

    def _call(self, function: str, argument: Any, where: str) -> Any:
        handler = _FUNCTIONS.get(function)
        if handler is None:
            return self.unresolvable(function, "it is only computed by CloudFormation at deploy time", where)
        return handler(self, argument, where)

    def _truth(self, expression: Any, where: str) -> bool:
        value = self.resolve(expression, where)
        if isinstance(value, Unresolved):
            raise UnknownCondition(value.reference)
        if not isinstance(value, bool):
            raise IntrinsicError(f"a condition must evaluate to true or false, not {value!r}", where)
        return value

    def ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise IntrinsicError(f"Ref takes a name, not {name!r}", where)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            value = self.parameters[name]
            if value is None:
                return self.unresolvable(f"Ref {name}", "the parameter has no value and no default", where)
            return value
        if name.startswith("AWS::"):
            if name in self.pseudo_parameters:
                return self.pseudo_parameters[name]
            return self.unresolvable(f"Ref {name}", "give this pseudo parameter's value", where)
        if name in (self.template.get("Resources") or {}):
            value = self.resource_ref(name)
            if value is None:
                return self.unresolvable(f"Ref {name}", "a resource's physical id is only known once deployed", where)
            return value
        return self.unresolvable(f"Ref {name}", "no parameter or resource has that name", where)

    def get_att(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"Fn::GetAtt takes [resource, attribute], not {argument!r}", where)
        resource, attribute = (self.resolve(part, where) for part in argument)
        value = self.resource_attribute(str(resource), str(attribute))
        if value is None:
            return self.unresolvable(
                f"Fn::GetAtt {resource}.{attribute}",
                "a resource attribute is only known once deployed",
                where,
            )
        return value

    def sub(self, argument: Any, where: str) -> Any:
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text, variables = argument[0], self.resolve(argument[1], where)
        else:
            text, variables = argument, {}
        if not isinstance(text, str):
            raise IntrinsicError(f"Fn::Sub takes a string or [string, {{variables}}], not {argument!r}", where)
        unresolved: list[Unresolved] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                value = self.get_att(name.split(".", 1), where)
            else:
                value = self.ref(name, where)
            if isinstance(value, Unresolved):
                unresolved.append(value)
            return _as_text(value, where)

        result = _SUB_VARIABLE.sub(replace, text)
        return Unresolved(unresolved[0].reference, result) if unresolved else result

    def import_value(self, argument: Any, where: str) -> Any:
        name = self.resolve(argument, where)
        if isinstance(name, Unresolved):
            return self.unresolvable(
                f"Fn::ImportValue of an export name that needs {name.reference}",
                "the export name is unresolved",
                where,
            )
        if not isinstance(name, str):
            raise IntrinsicError(f"Fn::ImportValue takes an export name, not {name!r}", where)
        if name in self.imports:
            return self.imports[name]
        return self.unresolvable(f"Fn::ImportValue {name}", "give the export's value in imports", where)

    def join(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"Fn::Join takes [delimiter, [values]], not {argument!r}", where)
        delimiter, values = argument[0], self.resolve(argument[1], where)
        if not isinstance(delimiter, str) or not isinstance(values, list):
            raise IntrinsicError(f"Fn::Join takes [delimiter, [values]], not {argument!r}", where)
        result = delimiter.join(_as_text(value, where) for value in values)
        unresolved = [value for value in values if isinstance(value, Unresolved)]
        return Unresolved(unresolved[0].reference, result) if unresolved else result

    def select(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"Fn::Select takes [index, [values]], not {argument!r}", where)
        index, values = self.resolve(argument[0], where), self.resolve(argument[1], where)
        if isinstance(values, Unresolved):
            return values
        try:
            position = int(index)
        except (TypeError, ValueError) as exc:
            raise IntrinsicError(f"Fn::Select index {index!r} is not a number", where) from exc
        if not isinstance(values, list) or not 0 <= position < len(values):
            raise IntrinsicError(f"Fn::Select index {position} is outside {values!r}", where)
        return values[position]

    def split(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"Fn::Split takes [delimiter, string], not {argument!r}", where)
        delimiter, text = argument[0], self.resolve(argument[1], where)
        if isinstance(text, Unresolved):
            return text
        if not isinstance(delimiter, str) or not isinstance(text, str):
            raise IntrinsicError(f"Fn::Split takes [delimiter, string], not {argument!r}", where)
        return text.split(delimiter)

    def if_(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            raise IntrinsicError(f"Fn::If takes [condition, value_if_true, value_if_false], not {argument!r}", where)
        try:
            chosen = argument[1] if self.condition(argument[0], where) else argument[2]
        except UnknownCondition as exc:
            return self.unresolvable(f"Fn::If {argument[0]}", f"the condition depends on {exc}", where)
        return self.resolve(chosen, where)

    def equals(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"Fn::Equals takes [value, value], not {argument!r}", where)
        left, right = (self.resolve(part, where) for part in argument)
        for side in (left, right):
            if isinstance(side, Unresolved):
                raise UnknownCondition(side.reference)
        return _as_text(left, where) == _as_text(right, where)

    def and_(self, argument: Any, where: str) -> Any:
        return all(self._truth(part, where) for part in _condition_list(argument, "Fn::And", where))

    def or_(self, argument: Any, where: str) -> Any:
        return any(self._truth(part, where) for part in _condition_list(argument, "Fn::Or", where))

    def not_(self, argument: Any, where: str) -> Any:
        parts = _condition_list(argument, "Fn::Not", where)
        if len(parts) != 1:
            raise IntrinsicError(f"Fn::Not takes [condition], not {argument!r}", where)
        return not self._truth(parts[0], where)

    def condition_ref(self, argument: Any, where: str) -> Any:
        if not isinstance(argument, str):
            raise IntrinsicError(f"Condition takes a condition name, not {argument!r}", where)
        return self.condition(argument, where)

    def find_in_map(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) in (3, 4)):
            raise IntrinsicError(f"Fn::FindInMap takes [map, key, key], not {argument!r}", where)
        names = [self.resolve(part, where) for part in argument[:3]]
        mapping: Any = (self.template.get("Mappings") or {}).get(names[0])
        for key in names[1:]:
            mapping = mapping.get(key) if isinstance(mapping, dict) else None
        if mapping is None:
            if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return self.resolve(argument[3]["DefaultValue"], where)
            raise IntrinsicError(f"Fn::FindInMap: {'.'.join(map(str, names))} is not in Mappings", where)
        return self.resolve(mapping, where)

    def base64(self, argument: Any, where: str) -> Any:
        text = self.resolve(argument, where)
        if isinstance(text, Unresolved):
            return text
        return base64.b64encode(_as_text(text, where).encode("utf-8")).decode("ascii")

    def to_json_string(self, argument: Any, where: str) -> Any:
        return json.dumps(self.resolve(argument, where), separators=(",", ":"))

    def length(self, argument: Any, where: str) -> Any:
        values = self.resolve(argument, where)
        if not isinstance(values, list):
            raise IntrinsicError(f"Fn::Length takes a list, not {values!r}", where)
        return len(values)


_FUNCTIONS: dict[str, Callable[[IntrinsicResolver, Any, str], Any]] = {
    "Ref": IntrinsicResolver.ref,
    "Condition": IntrinsicResolver.condition_ref,
    "Fn::GetAtt": IntrinsicResolver.get_att,
    "Fn::Sub": IntrinsicResolver.sub,
    "Fn::ImportValue": IntrinsicResolver.import_value,
    "Fn::Join": IntrinsicResolver.join,
    "Fn::Select": IntrinsicResolver.select,
    "Fn::Split": IntrinsicResolver.split,
    "Fn::If": IntrinsicResolver.if_,
    "Fn::Equals": IntrinsicResolver.equals,
    "Fn::And": IntrinsicResolver.and_,
    "Fn::Or": IntrinsicResolver.or_,
    "Fn::Not": IntrinsicResolver.not_,
    "Fn::FindInMap": IntrinsicResolver.find_in_map,
    "Fn::Base64": IntrinsicResolver.base64,
    "Fn::ToJsonString": IntrinsicResolver.to_json_string,
    "Fn::Length": IntrinsicResolver.length,
}


def _intrinsic_name(value: dict[Any, Any]) -> str | None:
    if len(value) != 1:
        return None
    key = next(iter(value))
    if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
        return str(key)
    # `Condition` is a function only inside condition expressions, where it is the single key.
    return "Condition" if key == "Condition" and isinstance(value[key], str) else None


def _condition_list(argument: Any, function: str, where: str) -> list[Any]:
    if not isinstance(argument, list) or not argument:
        raise IntrinsicError(f"{function} takes a list of conditions, not {argument!r}", where)
    return argument


def _as_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise IntrinsicError(f"expected a string, got {value!r}", where)
