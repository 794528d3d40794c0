"""EventBridge rules generated from the kind registry, one per kind of a config.

    >>> generated = generate_rules(["AWS::SQS::Queue", "AWS::Glue::Job"])
    >>> [rule.name for rule in generated.rules], generated.unknown_kinds
    (['port-aws-exporter-sync-sqs-queue'], ['AWS::Glue::Job'])

Each rule follows from the kind's CloudTrail facts (`core.kinds.cloudtrail`), so nothing is guessed:

- The pattern pins the EventBridge source, the CloudTrail event source and the exact event names
  (no prefix can admit another operation), drops failed calls (`errorCode` must not exist), keeps
  only the kind's own resources where a call is shared (`TagResource` on an ECS service, not on a
  task), and adds the kind's native lifecycle event where it has one (EC2 state changes).
- The InputTransformer copies each event field that names the resource (and the event's account)
  into the message as a plain string, and the message's jq programs read those fields: they are
  the same text for every event, so the exporter compiles them once. The identifier program picks
  the fields of the event's name group, makes the Cloud Control identifier of them, and for a
  delete the Port entity identifier when it differs (a queue's name, not its URL).

Kinds of global services (IAM, CloudFront, Route 53) are marked: their events reach EventBridge only
in us-east-1, so their rules belong there. Kinds the registry has no CloudTrail facts for are listed
in `unknown_kinds`. `rule_output` writes the rules as CloudFormation or Terraform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.kinds.cloudtrail import (
    CloudTrailFacts,
    EventField,
    NativeEvent,
    required_properties,
)
from port_aws_exporter.core.kinds.registry import KINDS, KindSpec
from port_aws_exporter.eventbridge.cloudtrail import CLOUDTRAIL_DETAIL_TYPE
from port_aws_exporter.eventbridge.pattern import compile_pattern
from port_aws_exporter.eventbridge.transformer import compile_input_transformer

__all__ = ["GeneratedRule", "GeneratedRules", "RawRule", "generate_raw_rules", "generate_rules", "rule_for_kind"]

RULE_NAME_PREFIX = "port-aws-exporter-sync-"
GLOBAL_REGION = "us-east-1"
_MAX_RULE_NAME = 64
_RESERVED_FIELDS = frozenset({"resource_type", "region", "identifier", "action", "account"})
_FIELD_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_PLAIN_PATH = re.compile(r"\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*")


@dataclass(frozen=True)
class GeneratedRule:
    """One generated `AWS::Events::Rule`, as plain data."""

    kind: str
    logical_id: str
    name: str
    description: str
    event_pattern: dict[str, Any]
    input_paths_map: dict[str, str]
    input_template: str
    event_names: tuple[str, ...]
    native_detail_type: str | None = None
    global_service: bool = False
    confidence: str = "high"


@dataclass
class GeneratedRules:
    """The rules of a config: `unknown_kinds` have no rule (the registry lacks their CloudTrail facts);
    `notes` warn about config entries the rules may not serve well."""

    rules: list[GeneratedRule] = field(default_factory=list)
    unknown_kinds: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def generate_rules(source: ExporterConfig | Iterable[str]) -> GeneratedRules:
    """One rule per distinct kind of a config (or of a list of kinds) that the registry knows."""
    kinds = source.kinds() if isinstance(source, ExporterConfig) else list(dict.fromkeys(source))
    generated = GeneratedRules()
    for kind in kinds:
        spec = KINDS.get(kind)
        if spec is None or spec.cloudtrail is None:
            generated.unknown_kinds.append(kind)
            continue
        generated.rules.append(rule_for_kind(kind))
        if isinstance(source, ExporterConfig):
            generated.notes.extend(_identifier_notes(source, spec, spec.cloudtrail))
    return generated


def rule_for_kind(kind: str) -> GeneratedRule:
    """The rule of one kind; raises KeyError when the registry has no CloudTrail facts for it."""
    spec = KINDS.get(kind)
    if spec is None or spec.cloudtrail is None:
        raise KeyError(f"the kind registry has no CloudTrail facts for {kind}")
    facts = spec.cloudtrail
    message = _MessageFields()
    message.add("$.detail.eventName")
    message.add("$.region")
    message.add("$.account")
    identifier = _identifier_program(facts, message)
    action = _action_program(facts, message)
    template = message.template(kind, identifier, action)
    # PutTargets' own checks: length, and no placeholder but the copied fields.
    compile_input_transformer(message.paths_map(), template, target_id=kind)
    return GeneratedRule(
        kind=kind,
        logical_id=_logical_id(kind),
        name=rule_name_for(kind),
        description=_description(spec, facts),
        event_pattern=_event_pattern(facts),
        input_paths_map=message.paths_map(),
        input_template=template,
        event_names=facts.event_names,
        native_detail_type=facts.native_event.detail_type if facts.native_event else None,
        global_service=spec.global_service,
        confidence=facts.confidence,
    )


class _MessageFields:
    """The event fields copied into the message, each under a name derived from its path."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def add(self, path: str) -> str:
        """The message field holding the value at `path` (registered on first use)."""
        known = self._names.get(path)
        if known is not None:
            return known
        name = base = _field_name(path)
        counter = 2
        while name in self._names.values() or name in _RESERVED_FIELDS:
            name, counter = f"{base}{counter}", counter + 1
        self._names[path] = name
        return name

    def paths_map(self) -> dict[str, str]:
        return {name: path for path, name in self._names.items()}

    def template(self, kind: str, identifier: str, action: str) -> str:
        message: dict[str, str] = {"resource_type": kind}
        message.update({name: f"<{name}>" for name in self._names.values()})
        message.update(
            {
                "region": f".{self._names['$.region']}",
                # The account the event happened in: a rule on a bus that receives other accounts'
                # events (forwarded to the exporter's account) routes each to its account.
                "account": f".{self._names['$.account']}",
                "action": action,
                "identifier": identifier,
            }
        )
        return json.dumps(message, indent=2)


def _field_name(path: str) -> str:
    steps = [key or index for key, index in _FIELD_STEP.findall(path[1:])]
    if steps[:1] == ["detail"] and len(steps) > 1:
        steps = steps[1:]
    elif steps in (["region"], ["account"]):
        steps = ["event", *steps]
    words: list[str] = []
    for step in steps:
        renamed = {"requestParameters": "request", "responseElements": "response"}.get(step, step)
        words.extend(part for part in re.split(r"[-_]", renamed) if part)
    return words[0][:1].lower() + words[0][1:] + "".join(word[:1].upper() + word[1:] for word in words[1:])


def _identifier_program(facts: CloudTrailFacts, message: _MessageFields) -> str:
    branches: list[tuple[tuple[str, ...], str]] = []
    covered: set[str] = set()
    delete = facts.delete_identifier
    if delete is not None:
        branches.append((delete.event_names, _source_program(delete.fields, delete.expression, message)))
        covered.update(delete.event_names)
    for source in facts.identifiers:
        names = tuple(name for name in source.event_names if name not in covered)
        if names:
            branches.append((names, _source_program(source.fields, source.expression, message)))
            covered.update(names)
    default = facts.default_source
    otherwise = _source_program(default.fields, default.expression, message) if default else '""'
    program = _chain(branches, otherwise, message.add("$.detail.eventName"))
    if facts.native_event is not None:
        program = _native_identifier(facts.native_event, message, program)
    return _with_context(program, message)


def _source_program(fields: tuple[EventField, ...], expression: str, message: _MessageFields) -> str:
    """Bind each property the expression uses to the first non-empty field holding it, then apply
    the expression; an identifier missing a required property is ""."""
    used = set(re.findall(r"\$([A-Za-z0-9_]+)", expression))
    binds: list[str] = []
    for prop in dict.fromkeys(item.holds for item in fields if item.holds in used):
        alternatives = ", ".join(f".{message.add(item.path)}" for item in fields if item.holds == prop)
        binds.append(f'(first(({alternatives}) | select(type == "string" and . != "")) // "") as ${prop}')
    required = required_properties(fields, expression)
    body = expression
    if (required and expression != f"${required[0]}") or len(required) > 1:
        missing = " or ".join(f'${prop} == ""' for prop in required)
        body = f'if {missing} then "" else ({expression}) end'
    return "(" + " | ".join([*binds, body]) + ")"


def _chain(branches: list[tuple[tuple[str, ...], str]], otherwise: str, event_name_field: str) -> str:
    if not branches:
        return otherwise
    parts = []
    for position, (names, program) in enumerate(branches):
        keyword = "if" if position == 0 else "elif"
        parts.append(f"{keyword} (.{event_name_field} | IN({_jq_strings(names)})) then {program}")
    return " ".join([*parts, f"else {otherwise} end"])


def _native_identifier(native: NativeEvent, message: _MessageFields, cloudtrail: str) -> str:
    detail_type = message.add("$.detail-type")
    status = message.add(native.status.path)
    upsert = _source_program(native.fields, native.expression, message)
    if native.delete_expression is not None:
        deleted = _source_program(native.fields, native.delete_expression, message)
        upsert = f"if (.{status} | IN({_jq_strings(native.delete_statuses)})) then {deleted} else {upsert} end"
    return f"if .{detail_type} == {json.dumps(native.detail_type)} then ({upsert}) else ({cloudtrail}) end"


def _with_context(program: str, message: _MessageFields) -> str:
    """Bind `$region`, `$account` and `$partition` when the program uses them."""
    binds = []
    if "$region" in program or "$partition" in program:
        binds.append(f".{message.add('$.region')} as $region")
    if "$account" in program:
        binds.append(f".{message.add('$.account')} as $account")
    if "$partition" in program:
        binds.append(
            '($region | if startswith("cn-") then "aws-cn" elif startswith("us-gov-") then "aws-us-gov" '
            'else "aws" end) as $partition'
        )
    return " | ".join([*binds, program])


def _action_program(facts: CloudTrailFacts, message: _MessageFields) -> str:
    event_name = message.add("$.detail.eventName")
    program = f'if (.{event_name} | IN({_jq_strings(facts.delete)})) then "delete" else "upsert" end'
    native = facts.native_event
    if native is None:
        return program
    detail_type = message.add("$.detail-type")
    status = message.add(native.status.path)
    return (
        f"if .{detail_type} == {json.dumps(native.detail_type)} then "
        f'(if (.{status} | IN({_jq_strings(native.delete_statuses)})) then "delete" else "upsert" end) '
        f"else ({program}) end"
    )


def _jq_strings(values: Iterable[str]) -> str:
    return ", ".join(json.dumps(value) for value in values)


def _event_pattern(facts: CloudTrailFacts) -> dict[str, Any]:
    detail: dict[str, Any] = {"eventSource": [facts.event_source]}
    filtered = {name for item in facts.filters for name in item.event_names}
    branches: list[dict[str, Any]] = []
    plain = [name for name in facts.event_names if name not in filtered]
    if plain:
        branches.append({"eventName": plain})
    for item in facts.filters:
        names = [name for name in facts.event_names if name in item.event_names]
        if names:
            branches.append({"eventName": names, **_nested(item.path.removeprefix("detail."), list(item.matchers))})
    if len(branches) == 1:
        detail.update(branches[0])
    else:
        detail["$or"] = branches
    detail["errorCode"] = [{"exists": False}]
    if facts.excluded_api_versions:
        detail["apiVersion"] = [{"anything-but": list(facts.excluded_api_versions)}, {"exists": False}]
    cloudtrail = {"detail-type": [CLOUDTRAIL_DETAIL_TYPE], "detail": detail}
    if facts.native_event is None:
        return {"source": [facts.eventbridge_source], **cloudtrail}
    native = {"detail-type": [facts.native_event.detail_type]}
    return {"source": [facts.eventbridge_source], "$or": [cloudtrail, native]}


def _nested(dotted: str, leaf: object) -> dict[str, Any]:
    keys = dotted.split(".")
    node: dict[str, Any] = {keys[-1]: leaf}
    for key in reversed(keys[:-1]):
        node = {key: node}
    return node


def rule_name_for(kind: str) -> str:
    """The name of the generated rule of a kind: port-aws-exporter-sync-<service>-<type>."""
    parts = kind.split("::")[1:]
    return (RULE_NAME_PREFIX + "-".join(part.lower() for part in parts))[:_MAX_RULE_NAME]


def _logical_id(kind: str) -> str:
    return "".join(re.sub(r"[^A-Za-z0-9]", "", part) for part in kind.split("::")[1:]) + "EventRule"


def _description(spec: KindSpec, facts: CloudTrailFacts) -> str:
    text = f"port-aws-exporter: {spec.kind} changes ({len(facts.event_names)} CloudTrail calls"
    text += f", {facts.native_event.detail_type})" if facts.native_event else ")"
    if spec.global_service:
        text += f". Global service: its events reach EventBridge only in {GLOBAL_REGION}; deploy this rule there"
    if facts.confidence != "high":
        text += ". Some event fields are derived from the API's shapes, not seen in a CloudTrail record"
    return text[:512]


def _identifier_notes(config: ExporterConfig, spec: KindSpec, facts: CloudTrailFacts) -> list[str]:
    """Config entries whose entity identifier is not what the rule's delete messages carry."""
    carried = facts.entity_property or (spec.primary_identifier[0] if len(spec.primary_identifier) == 1 else None)
    notes: list[str] = []
    for index, entry in config.entries_for_kind(spec.kind):
        for position, mapping in enumerate(entry.port.entity.mappings):
            if mapping.items_to_parse is not None:
                continue  # entities of the resource's items: a delete of the resource does not name them
            where = f"resources[{index}].port.entity.mappings[{position}].identifier"
            plain = _PLAIN_PATH.fullmatch(mapping.identifier)
            if plain is None:
                notes.append(
                    f"{where} is `{mapping.identifier}`, not a plain property: check that deletes of {spec.kind} "
                    f"(which carry the {carried or 'Cloud Control identifier'}) find its entities"
                )
            elif carried is not None and plain.group(1) != carried:
                notes.append(
                    f"{where} is `{mapping.identifier}`, but delete messages of {spec.kind} carry the {carried}: "
                    "deletes will not find these entities (map the identifier from ."
                    f"{carried}, or expect the next full sync to remove them)"
                )
    return notes


# -- raw rules: the whole event to the queue, for every kind at once --------------------------

RAW_RULE_NAME = "port-aws-exporter-raw-events"


@dataclass(frozen=True)
class RawRule:
    """A rule that delivers whole events (no InputTransformer) of several kinds; the consumer
    resolves them through the kind registry (`core.kinds.raw_events`)."""

    logical_id: str
    name: str
    description: str
    event_pattern: dict[str, Any]
    kinds: tuple[str, ...]


def generate_raw_rules(source: ExporterConfig | Iterable[str]) -> tuple[list[RawRule], list[str]]:
    """The raw rules of a config's kinds (one, unless the write events of all of them do not fit
    in one pattern: PutRule takes at most 4096 characters), and the kinds the registry has no
    CloudTrail facts for.

    Each pattern admits the CloudTrail write events of its kinds, successful ones only
    (`errorCode` must not exist), and their native lifecycle events. Shared calls are not narrowed
    by resource (a `TagResource` on an ECS task also matches): the consumer ignores, with a count,
    what is not about a configured kind.
    """
    kinds = source.kinds() if isinstance(source, ExporterConfig) else list(dict.fromkeys(source))
    known = [kind for kind in kinds if kind in KINDS and KINDS[kind].cloudtrail is not None]
    unknown = [kind for kind in kinds if kind not in known]
    groups: list[list[str]] = []
    for kind in known:
        if groups and _fits(_raw_pattern([*groups[-1], kind])):
            groups[-1].append(kind)
        elif _fits(_raw_pattern([kind])):
            groups.append([kind])
        else:  # pragma: no cover - no kind of the registry has that many events
            raise ValueError(f"the write events of {kind} do not fit in one EventBridge pattern")
    rules = []
    for position, group in enumerate(groups, start=1):
        suffix = "" if len(groups) == 1 else f"-{position}"
        rules.append(
            RawRule(
                logical_id="RawEventsRule" + ("" if len(groups) == 1 else str(position)),
                name=RAW_RULE_NAME + suffix,
                description=(
                    f"port-aws-exporter: whole events of {len(group)} kind(s) "
                    f"({', '.join(kind.split('::', 1)[1] for kind in group)})"
                )[:512],
                event_pattern=_raw_pattern(group),
                kinds=tuple(group),
            )
        )
    return rules, unknown


def _raw_pattern(kinds: list[str]) -> dict[str, Any]:
    facts = [KINDS[kind].cloudtrail for kind in kinds]
    known = [item for item in facts if item is not None]
    cloudtrail: dict[str, Any] = {
        "source": sorted({item.eventbridge_source for item in known}),
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {
            "eventSource": sorted({item.event_source for item in known}),
            "eventName": sorted({name for item in known for name in item.event_names}),
            "errorCode": [{"exists": False}],
        },
    }
    natives = [item for item in known if item.native_event is not None]
    if not natives:
        return cloudtrail
    native = {
        "source": sorted({item.eventbridge_source for item in natives}),
        "detail-type": sorted({item.native_event.detail_type for item in natives if item.native_event}),
    }
    return {"$or": [cloudtrail, native]}


def _fits(pattern: dict[str, Any]) -> bool:
    """Whether PutRule takes the pattern (the compiler warns of one too long)."""
    return not any(warning.code == "pattern-too-long" for warning in compile_pattern(pattern).warnings)
