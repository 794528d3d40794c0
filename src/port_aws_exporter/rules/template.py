"""EventBridge rules read from CloudFormation templates (YAML with short-form tags, or JSON).

    rules = load_rule_template(Path("rules.yaml"), imports={"my-exporter-EventsQueueARN": queue_arn})
    rules[0].name, rules[0].event_pattern, rules[0].targets[0].input_transformer.input_template

Every `AWS::Events::Rule` resource becomes an `EventRule`; intrinsic functions are evaluated with
the given parameter values (else the defaults), the given imports (keyed by export name, e.g.
`serverlessrepo-port-aws-exporter-EventsQueueARN`) and the given pseudo parameters. A value that
cannot be known before deployment is an error naming the rule and the reference, unless
`lenient=True`: then it stays as an `Unresolved` marker and the rule lists it in `unresolved`.
Lenient loading also recovers what it can from a malformed fragment (a warning on each rule).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from port_aws_exporter.cfn.intrinsics import (
    IntrinsicError,
    IntrinsicResolver,
    UnknownCondition,
    Unresolved,
    UnresolvedNote,
)
from port_aws_exporter.cfn.template_text import TemplateSyntaxError, parse_template_text
from port_aws_exporter.eventbridge.pattern import EventPattern, cached_pattern
from port_aws_exporter.eventbridge.transformer import RenderedInput, build_rule_arn, render_target_input

__all__ = [
    "EventRule",
    "RuleTarget",
    "RuleTemplateError",
    "TargetInputTransformer",
    "Unresolved",
    "UnresolvedNote",
    "load_rule_template",
]

RULE_TYPE = "AWS::Events::Rule"
_SECTIONS = frozenset(
    {
        "AWSTemplateFormatVersion",
        "Description",
        "Metadata",
        "Parameters",
        "Rules",
        "Mappings",
        "Conditions",
        "Transform",
        "Resources",
        "Outputs",
    }
)
_RESOURCE_KEYS = frozenset(
    {
        "Type",
        "Properties",
        "Condition",
        "DependsOn",
        "Metadata",
        "DeletionPolicy",
        "UpdateReplacePolicy",
        "CreationPolicy",
        "UpdatePolicy",
    }
)


class RuleTemplateError(ValueError):
    """A template that cannot be read into rules; the message names the file, rule and property."""


@dataclass
class TargetInputTransformer:
    """A target's InputTransformer."""

    input_paths_map: dict[str, str]
    input_template: str


@dataclass
class RuleTarget:
    """One target of a rule and how it shapes its input (none, Input, InputPath or a transformer)."""

    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: TargetInputTransformer | None = None
    # The role EventBridge sends with (a bus of another account, as a member account's forward rule has).
    role_arn: str | None = None

    def render(
        self, event: object, *, rule_name: str, rule_arn: str, ingestion_time: str | datetime | None = None
    ) -> RenderedInput:
        """What this target receives for `event` (raises InputTransformerError for an invalid target)."""
        transformer = self.input_transformer
        return render_target_input(
            event,
            rule_name=rule_name,
            rule_arn=rule_arn,
            input=self.input,
            input_path=self.input_path,
            input_paths_map=transformer.input_paths_map if transformer else None,
            input_template=transformer.input_template if transformer else None,
            ingestion_time=ingestion_time,
            target_id=self.id,
        )


@dataclass
class EventRule:
    """An `AWS::Events::Rule` of a template, with its intrinsic functions evaluated.

    `name` is the Name property, or the logical id when there is none (CloudFormation would then
    generate a name; a warning says so). `warnings` are problems that did not stop the reading;
    `unresolved` lists the values left as `Unresolved` markers (lenient loading only).
    """

    logical_id: str
    name: str
    state: str
    event_bus_name: str
    event_pattern: dict[str, Any] | None
    schedule_expression: str | None
    targets: list[RuleTarget]
    description: str | None = None
    source: str = "<text>"
    warnings: list[str] = field(default_factory=list)
    unresolved: list[UnresolvedNote] = field(default_factory=list)

    def compiled_pattern(self) -> EventPattern:
        """The rule's event pattern, compiled once (InvalidPatternError; ValueError when it has none)."""
        if self.event_pattern is None:
            raise ValueError(f"rule {self.name} ({self.logical_id}) has no EventPattern")
        return cached_pattern(self.event_pattern)

    def arn(self, region: str, account_id: str) -> str:
        """The rule's ARN in `region` / `account_id`."""
        return build_rule_arn(region, account_id, self.name, self.event_bus_name)


def load_rule_template(
    path_or_text: str | Path,
    parameters: Mapping[str, str] | None = None,
    imports: Mapping[str, str] | None = None,
    *,
    lenient: bool = False,
    region: str | None = None,
    account_id: str | None = None,
    stack_name: str | None = None,
) -> list[EventRule]:
    """Read the `AWS::Events::Rule` resources of a CloudFormation template, in template order.

    `path_or_text` is a path (a `Path`, or a one-line string naming an existing file) or the
    template text itself. `parameters` gives parameter values (others take their Default);
    `imports` gives `Fn::ImportValue` values by export name; `region`, `account_id` and
    `stack_name` give the pseudo parameters AWS::Region, AWS::AccountId and AWS::StackName.
    Raises RuleTemplateError.
    """
    text, source = _read(path_or_text)
    try:
        data = parse_template_text(text, source)
    except TemplateSyntaxError as exc:
        raise RuleTemplateError(str(exc)) from exc
    if not isinstance(data, dict):
        hint = " (if it is meant as a file path, no such file exists)" if "\n" not in text else ""
        raise RuleTemplateError(f"{source}: not a CloudFormation template: expected a mapping{hint}")
    resources, template_warnings, body_warnings = _resources(data, source, lenient)
    reader = _RuleReader(
        data=data,
        resources=resources,
        source=source,
        parameters=_parameter_values(data, parameters or {}, source, lenient, template_warnings),
        imports=imports or {},
        pseudo_parameters=_pseudo_parameters(region, account_id, stack_name),
        lenient=lenient,
    )
    rules: list[EventRule] = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != RULE_TYPE:
            continue
        rule = reader.read(logical_id, resource)
        if rule is not None:
            rule.warnings[:0] = [*template_warnings, *body_warnings.get(logical_id, [])]
            rules.append(rule)
    return rules


def _read(path_or_text: str | Path) -> tuple[str, str]:
    if isinstance(path_or_text, Path):
        return _read_file(path_or_text), str(path_or_text)
    if "\n" not in path_or_text and not path_or_text.lstrip().startswith("{"):
        candidate = Path(path_or_text)
        if candidate.is_file():
            return _read_file(candidate), str(candidate)
    return path_or_text, "<template text>"


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleTemplateError(f"{path}: cannot read the template: {exc.strerror or exc}") from exc


def _resources(
    data: dict[str, Any], source: str, lenient: bool
) -> tuple[dict[str, Any], list[str], dict[str, list[str]]]:
    """The template's resources, plus warnings for the whole template and per resource."""
    if "Resources" in data:
        resources = data["Resources"]
        if not isinstance(resources, dict):
            raise RuleTemplateError(f"{source}: 'Resources' must be a mapping of logical ids to resources")
        return resources, [], {}
    recovered, problems, body_warnings = _recover_fragment(data)
    if not recovered:
        raise RuleTemplateError(f"{source}: not a CloudFormation template: there is no 'Resources' section")
    if not lenient:
        raise RuleTemplateError(
            f"{source}: not a complete CloudFormation template: there is no 'Resources' section. "
            + " ".join(problems)
            + " Put each resource under 'Resources:' with its body indented under its name, "
            "or load the template leniently to read what can be recovered."
        )
    warning = (
        f"{source} is a malformed fragment with no 'Resources' section; "
        f"its resources were read from the top level ({', '.join(recovered)})"
    )
    return recovered, [warning], body_warnings


def _recover_fragment(data: dict[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, list[str]]]:
    """Read resources from the top level of a fragment, including a resource whose name line is
    followed by its `Type:`/`Properties:` at the same indentation (so YAML read the name as null)."""
    resources: dict[str, Any] = {}
    problems: list[str] = []
    body_warnings: dict[str, list[str]] = {}
    unfinished: str | None = None
    for key, value in data.items():
        if key in _SECTIONS:
            unfinished = None
        elif isinstance(value, dict) and "Type" in value:
            resources[str(key)] = value
            unfinished = None
        elif value is None and key not in _RESOURCE_KEYS:
            unfinished = str(key)
            resources[unfinished] = {}
            message = (
                f"'{key}:' has no value and is followed by 'Type:'/'Properties:' at the same indentation, "
                "so its body is not indented under its name."
            )
            problems.append(message)
            body_warnings[unfinished] = [f"{message} They were read as its body."]
        elif key in _RESOURCE_KEYS and unfinished is not None:
            resources[unfinished][key] = value
        else:
            problems.append(f"Top-level key '{key}' is not a resource.")
    return {name: body for name, body in resources.items() if body}, problems, body_warnings


def _parameter_values(
    data: dict[str, Any], given: Mapping[str, str], source: str, lenient: bool, warnings: list[str]
) -> dict[str, object]:
    declared = data.get("Parameters") or {}
    if not isinstance(declared, dict):
        raise RuleTemplateError(f"{source}: 'Parameters' must be a mapping")
    unknown = sorted(set(given) - set(declared))
    if unknown and not lenient:
        raise RuleTemplateError(
            f"{source}: parameter(s) {', '.join(unknown)} are not declared in the template "
            f"(it declares: {', '.join(declared) or 'none'})"
        )
    # A fragment may use parameters it does not declare; lenient loading takes them as given.
    values: dict[str, object] = {name: given[name] for name in unknown}
    warnings.extend(f"parameter {name} is not declared in the template; its given value is used" for name in unknown)
    for name, declaration in declared.items():
        spec = declaration if isinstance(declaration, dict) else {}
        raw = given[name] if name in given else spec.get("Default")
        if raw is None:
            values[name] = None
            continue
        text = raw if isinstance(raw, str) else ",".join(map(str, raw)) if isinstance(raw, list) else str(raw)
        _check_parameter(name, spec, text, "given" if name in given else "default", source)
        kind = str(spec.get("Type", "String"))
        values[name] = text.split(",") if kind == "CommaDelimitedList" or kind.startswith("List<") else text
    return values


def _check_parameter(name: str, spec: dict[str, Any], text: str, origin: str, source: str) -> None:
    shown = "(value hidden: NoEcho)" if str(spec.get("NoEcho", "")).lower() == "true" else repr(text)
    problem: str | None = None
    allowed_values = spec.get("AllowedValues")
    allowed_pattern = spec.get("AllowedPattern")
    if isinstance(allowed_values, list) and text not in [str(value) for value in allowed_values]:
        problem = f"is not one of AllowedValues {allowed_values}"
    elif isinstance(allowed_pattern, str) and _safe_fullmatch(allowed_pattern, text) is False:
        problem = f"does not match AllowedPattern {allowed_pattern!r}"
    elif "MinLength" in spec and len(text) < int(spec["MinLength"]):
        problem = f"is shorter than MinLength {spec['MinLength']}"
    elif "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        problem = f"is longer than MaxLength {spec['MaxLength']}"
    if problem is not None:
        raise RuleTemplateError(f"{source}: parameter {name} = {shown} ({origin}) {problem}")


def _safe_fullmatch(pattern: str, text: str) -> bool | None:
    """Whether `text` matches the whole Java-style regex `pattern`; None if Python cannot read it."""
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return None


def _pseudo_parameters(region: str | None, account_id: str | None, stack_name: str | None) -> dict[str, str]:
    pseudo = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
    for name, value in (
        ("AWS::Region", region),
        ("AWS::AccountId", account_id),
        ("AWS::StackName", stack_name),
    ):
        if value is not None:
            pseudo[name] = value
    return pseudo


class _RuleReader:
    """Turns rule resources into EventRules, evaluating their intrinsic functions."""

    def __init__(
        self,
        *,
        data: dict[str, Any],
        resources: dict[str, Any],
        source: str,
        parameters: dict[str, object],
        imports: Mapping[str, str],
        pseudo_parameters: dict[str, str],
        lenient: bool,
    ) -> None:
        self.source = source
        self.resources = resources
        self.pseudo = pseudo_parameters
        self.resolver = IntrinsicResolver(
            template={**data, "Resources": resources},
            parameters=parameters,
            imports=imports,
            pseudo_parameters=pseudo_parameters,
            lenient=lenient,
            resource_ref=self._resource_ref,
            resource_attribute=self._resource_attribute,
        )
        self._resolving: set[str] = set()

    def read(self, logical_id: str, resource: dict[str, Any]) -> EventRule | None:
        """The rule, or None when its Condition is false (CloudFormation would not create it)."""
        first_note = len(self.resolver.notes)
        warnings: list[str] = []
        try:
            if not self._created(logical_id, resource, warnings):
                return None
            rule = self._rule(logical_id, resource, warnings)
        except IntrinsicError as exc:
            raise RuleTemplateError(f"{self.source}: rule {logical_id}: {exc}") from exc
        rule.unresolved = self.resolver.notes[first_note:]
        return rule

    def _created(self, logical_id: str, resource: dict[str, Any], warnings: list[str]) -> bool:
        condition = resource.get("Condition")
        if condition is None:
            return True
        try:
            return self.resolver.condition(str(condition), f"{logical_id}.Condition")
        except UnknownCondition as exc:
            warnings.append(f"its Condition {condition} depends on {exc}; the rule is read as if created")
            return True

    def _rule(self, logical_id: str, resource: dict[str, Any], warnings: list[str]) -> EventRule:
        where = f"{logical_id}.Properties"
        properties = self.resolver.resolve(resource.get("Properties") or {}, where)
        if not isinstance(properties, dict):
            raise RuleTemplateError(f"{self.source}: rule {logical_id}: Properties must be a mapping")
        name = properties.get("Name")
        if name is None:
            name = logical_id
            warnings.append("it has no Name: CloudFormation generates one; the logical id stands for it here")
        pattern = self._pattern(logical_id, properties.get("EventPattern"))
        schedule = properties.get("ScheduleExpression")
        if pattern is None and schedule is None:
            raise RuleTemplateError(
                f"{self.source}: rule {logical_id}: it needs an EventPattern or a ScheduleExpression"
            )
        targets = properties.get("Targets") or []
        if not isinstance(targets, list):
            raise RuleTemplateError(f"{self.source}: rule {logical_id}: Targets must be a list")
        return EventRule(
            logical_id=logical_id,
            name=self._text(logical_id, "Name", name),
            state=self._text(logical_id, "State", properties.get("State", "ENABLED")),
            event_bus_name=self._text(logical_id, "EventBusName", properties.get("EventBusName", "default")),
            event_pattern=pattern,
            schedule_expression=None if schedule is None else self._text(logical_id, "ScheduleExpression", schedule),
            targets=[self._target(logical_id, index, target) for index, target in enumerate(targets)],
            description=properties.get("Description"),
            source=self.source,
            warnings=warnings,
        )

    def _pattern(self, logical_id: str, pattern: Any) -> dict[str, Any] | None:
        if pattern is None or isinstance(pattern, dict):
            return pattern
        if isinstance(pattern, str):
            try:
                parsed = json.loads(pattern)
            except json.JSONDecodeError as exc:
                raise RuleTemplateError(
                    f"{self.source}: rule {logical_id}: EventPattern is a string but not valid JSON: {exc}"
                ) from exc
            if isinstance(parsed, dict):
                return parsed
        raise RuleTemplateError(f"{self.source}: rule {logical_id}: EventPattern must be a mapping (or its JSON text)")

    def _target(self, logical_id: str, index: int, target: Any) -> RuleTarget:
        where = f"Targets[{index}]"
        if not isinstance(target, dict):
            raise RuleTemplateError(f"{self.source}: rule {logical_id}: {where} must be a mapping")
        for required in ("Id", "Arn"):
            if required not in target:
                raise RuleTemplateError(f"{self.source}: rule {logical_id}: {where} has no {required}")
        transformer = target.get("InputTransformer")
        input_value = target.get("Input")
        return RuleTarget(
            id=self._text(logical_id, f"{where}.Id", target["Id"]),
            arn=self._text(logical_id, f"{where}.Arn", target["Arn"]),
            input=None if input_value is None else self._text(logical_id, f"{where}.Input", input_value),
            input_path=None
            if target.get("InputPath") is None
            else self._text(logical_id, f"{where}.InputPath", target["InputPath"]),
            input_transformer=None
            if transformer is None
            else self._transformer(logical_id, f"{where}.InputTransformer", transformer),
            role_arn=None
            if target.get("RoleArn") is None
            else self._text(logical_id, f"{where}.RoleArn", target["RoleArn"]),
        )

    def _transformer(self, logical_id: str, where: str, transformer: Any) -> TargetInputTransformer:
        if not isinstance(transformer, dict) or "InputTemplate" not in transformer:
            raise RuleTemplateError(f"{self.source}: rule {logical_id}: {where} needs an InputTemplate")
        paths = transformer.get("InputPathsMap") or {}
        if not isinstance(paths, dict):
            raise RuleTemplateError(f"{self.source}: rule {logical_id}: {where}.InputPathsMap must be a mapping")
        return TargetInputTransformer(
            input_paths_map={
                str(key): self._text(logical_id, f"{where}.InputPathsMap.{key}", value) for key, value in paths.items()
            },
            input_template=self._text(logical_id, f"{where}.InputTemplate", transformer["InputTemplate"]),
        )

    def _text(self, logical_id: str, where: str, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        raise RuleTemplateError(f"{self.source}: rule {logical_id}: {where} must be a string, not {value!r}")

    def _resource_ref(self, logical_id: str) -> object | None:
        resource = self.resources.get(logical_id)
        if not isinstance(resource, dict) or resource.get("Type") != RULE_TYPE:
            return None
        return self._rule_property(logical_id, resource, "Name")

    def _resource_attribute(self, logical_id: str, attribute: str) -> object | None:
        resource = self.resources.get(logical_id)
        if attribute != "Arn" or not isinstance(resource, dict) or resource.get("Type") != RULE_TYPE:
            return None
        region, account = self.pseudo.get("AWS::Region"), self.pseudo.get("AWS::AccountId")
        name = self._rule_property(logical_id, resource, "Name")
        bus = self._rule_property(logical_id, resource, "EventBusName") or "default"
        if region is None or account is None or not isinstance(name, str) or not isinstance(bus, str):
            return None
        if isinstance(name, Unresolved) or isinstance(bus, Unresolved):
            return None
        return build_rule_arn(region, account, name, bus)

    def _rule_property(self, logical_id: str, resource: dict[str, Any], name: str) -> object | None:
        value = (resource.get("Properties") or {}).get(name)
        if value is None or logical_id in self._resolving:
            return None
        self._resolving.add(logical_id)
        try:
            resolved: object = self.resolver.resolve(value, f"{logical_id}.Properties.{name}")
            return resolved
        finally:
            self._resolving.discard(logical_id)
