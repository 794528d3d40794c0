"""`rules lint`: what a rule template will do wrong, found by running it on the events it admits.

For each rule, the linter lists the API calls its pattern admits (the operations of the service in
botocore's models, named as CloudTrail names them), builds a sample event for each (`samples`),
and runs the rule as AWS and the exporter would: pattern, InputTransformer, the message's jq. It
reports, with rule, field and severity:

errors (the exporter cannot use the message):
  `template` a template CloudFormation cannot deploy; `pattern`, `target` patterns or targets AWS
  refuses; `unquoted-placeholder` a placeholder outside a jq string, read as jq code;
  `not-delivered` a message EventBridge drops (invalid JSON); `message` a message missing a field;
  `jq-error` jq that fails; `empty-identifier`, `empty-region`, `bad-action` values the exporter
  cannot act on.
warnings (the message is wrong or useless):
  `prefix-overmatch` a prefix admitting other operations, with what the rule does with them;
  `wrong-delete` / `missed-delete` an action the event does not mean; `wrong-identifier` an
  identifier that is not the resource's; `failed-calls` failed API calls admitted; `unhandled-kind`
  a resource_type no config entry handles; `template-warning`, `pattern-warning`.
info: parts that could not be checked (a native event the registry has no sample of).

A rule whose targets have no InputTransformer delivers whole events (`rules generate --raw`): it
is checked against every write event of the kinds it serves (the config's, or those whose event
sources it names), each resolved as the consumer resolves raw events (`core.kinds.raw_events`):
`missed-event` a write event the pattern does not admit; `wrong-resolution` an event that does not
resolve to its kind, action and identifier; `failed-calls` failed calls admitted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.cloudtrail import base_operation_name
from port_aws_exporter.core.kinds.raw_events import ResourceRequest, resolve_raw_event
from port_aws_exporter.core.kinds.registry import KINDS, KindSpec
from port_aws_exporter.core.message import MessageError, evaluate_message, parse_message
from port_aws_exporter.eventbridge.cloudtrail import CLOUDTRAIL_DETAIL_TYPE
from port_aws_exporter.eventbridge.pattern import EventPattern, FieldCondition, InvalidPatternError, compile_pattern
from port_aws_exporter.eventbridge.transformer import (
    PLACEHOLDER,
    InputTransformerError,
    compile_input_transformer,
    scan_quoting,
)
from port_aws_exporter.rules.event_names import events_of_source
from port_aws_exporter.rules.samples import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    SampleCase,
    native_sample_case,
    sample_case,
)
from port_aws_exporter.rules.template import EventRule, RuleTarget, RuleTemplateError, load_rule_template

__all__ = ["LintFinding", "LintReport", "lint_rules", "lint_template"]

Severity = Literal["error", "warning", "info"]
_JQ_FIELDS = ("region", "identifier", "action")
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{_MARK_OPEN}(.*?){_MARK_CLOSE}")
_EVENT_NAME_FIELD = "detail.eventName"
_MAX_EVENTS_PER_SOURCE = 300
_SHOWN_NAMES = 6


@dataclass(frozen=True)
class LintFinding:
    """One problem of one rule (`rule` is empty for the template as a whole)."""

    rule: str
    field: str
    severity: Severity
    code: str
    message: str
    event_name: str | None = None
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The finding as `rules lint --json` prints it."""
        return {
            "source": self.source,
            "rule": self.rule,
            "field": self.field,
            "severity": self.severity,
            "code": self.code,
            "event_name": self.event_name,
            "message": self.message,
        }


@dataclass
class LintReport:
    """The findings of one template, and how much was checked."""

    findings: list[LintFinding] = field(default_factory=list)
    rules: int = 0
    events: int = 0

    @property
    def errors(self) -> list[LintFinding]:
        """The findings of severity error (`rules lint` exits 1 when there is one)."""
        return [finding for finding in self.findings if finding.severity == "error"]


class _AnyExport(Mapping[str, str]):
    """Imports for any export name: the linter never needs the real queue ARN."""

    def __getitem__(self, name: str) -> str:
        return f"arn:aws:sqs:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:{re.sub(r'[^A-Za-z0-9_-]', '-', name)}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True


def lint_template(
    path_or_text: str | Path,
    *,
    evaluator: TimeLimitedJq,
    parameters: Mapping[str, str] | None = None,
    config: ExporterConfig | None = None,
) -> LintReport:
    """Lint every rule of a CloudFormation template (a path or its text).

    A template that CloudFormation could not deploy is an error, and its rules are still linted as
    far as they can be read. Pseudo parameters (AWS::Region, AWS::AccountId) take the sample
    events' region and account.
    """

    source = str(path_or_text) if isinstance(path_or_text, Path) or "\n" not in path_or_text else "<template text>"
    findings: list[LintFinding] = []
    try:
        rules = load_rule_template(
            path_or_text, parameters, _AnyExport(), region=DEFAULT_REGION, account_id=DEFAULT_ACCOUNT
        )
        strict = True
    except RuleTemplateError as error:
        findings.append(LintFinding("", "template", "error", "template", str(error), source=source))
        try:
            rules = load_rule_template(
                path_or_text,
                parameters,
                _AnyExport(),
                lenient=True,
                region=DEFAULT_REGION,
                account_id=DEFAULT_ACCOUNT,
            )
        except RuleTemplateError:
            return LintReport(findings)
        strict = False
    report = lint_rules(rules, evaluator=evaluator, config=config, template_warnings=strict)
    report.findings[:0] = findings
    return report


def lint_rules(
    rules: Sequence[EventRule],
    *,
    evaluator: TimeLimitedJq,
    config: ExporterConfig | None = None,
    template_warnings: bool = True,
) -> LintReport:
    """Lint rules already read from a template."""
    report = LintReport(rules=len(rules))
    for rule in rules:
        linter = _RuleLinter(rule, evaluator, config)
        if template_warnings:
            linter.template_warnings()
        linter.run()
        report.findings.extend(linter.findings)
        report.events += linter.events
    return report


@dataclass
class _Outcome:
    """What the rule made of one sample event."""

    case: SampleCase
    action: str | None = None
    identifier: str | None = None
    failed: bool = False


class _RuleLinter:
    """The checks of one rule."""

    def __init__(self, rule: EventRule, evaluator: TimeLimitedJq, config: ExporterConfig | None) -> None:
        self.rule = rule
        self.evaluator = evaluator
        self.config = config
        self.findings: list[LintFinding] = []
        self.events = 0
        self.static_fields: set[str] = set()
        self.reported: set[tuple[str, str]] = set()
        # prefix -> the admitted names it alone lets in (not the operation it names)
        self.overmatched: dict[str, list[str]] = {}

    def add(self, field_name: str, severity: Severity, code: str, message: str, event_name: str | None = None) -> None:
        self.findings.append(
            LintFinding(self.rule.name, field_name, severity, code, message, event_name, source=self.rule.source)
        )

    def template_warnings(self) -> None:
        for warning in self.rule.warnings:
            self.add("template", "warning", "template-warning", warning)

    def run(self) -> None:
        pattern = self._pattern()
        if pattern is not None and self.rule.targets and all(t.input_transformer is None for t in self.rule.targets):
            self._raw_checks(pattern)
            return
        target = self._target()
        if pattern is None or target is None or target.input_transformer is None:
            return
        transformer = target.input_transformer
        try:
            compiled = compile_input_transformer(
                transformer.input_paths_map, transformer.input_template, target_id=target.id
            )
        except InputTransformerError as error:
            self.add("InputTemplate", "error", "target", str(error))
            return
        kind = self._static_checks(transformer.input_template, [p.quoted for p in compiled.placeholders])
        spec = KINDS.get(kind) if kind else None
        cases = self._cases(pattern, kind, spec)
        self.overmatched = _overmatched_by_prefix(pattern, [case.event_name for case in cases])
        outcomes = [self._outcome(target, case) for case in cases]
        self.events += len(outcomes)
        self._prefix_overmatch(spec, outcomes)
        self._failed_calls(pattern, kind, outcomes)

    def _pattern(self) -> EventPattern | None:
        if self.rule.event_pattern is None:
            self.add("ScheduleExpression", "info", "not-checked", "a scheduled rule: there is no event to check")
            return None
        try:
            pattern = compile_pattern(self.rule.event_pattern)
        except InvalidPatternError as error:
            self.add("EventPattern", "error", "pattern", str(error))
            return None
        for warning in pattern.warnings:
            self.add(f"EventPattern.{warning.path}", "warning", "pattern-warning", warning.message)
        return pattern

    def _target(self) -> RuleTarget | None:
        with_transformer = [target for target in self.rule.targets if target.input_transformer is not None]
        if not with_transformer:
            self.add(
                "Targets",
                "info",
                "not-checked",
                "no target has an InputTransformer, so none sends a message in the exporter's format",
            )
            return None
        return with_transformer[0]

    # Whole events (no InputTransformer), resolved as the consumer resolves them.

    def _raw_checks(self, pattern: EventPattern) -> None:
        conditions = pattern.fields()
        sources = set(_event_sources(conditions))
        if self.config is not None:
            kinds = [kind for kind in self.config.kinds() if kind in KINDS and KINDS[kind].cloudtrail is not None]
        else:  # the kinds whose create calls the rule admits
            kinds = [
                kind
                for kind, spec in KINDS.items()
                if spec.cloudtrail
                and spec.cloudtrail.event_source in sources
                and any(pattern.match(sample_case(kind, name).event).matched for name in spec.cloudtrail.create)
            ]
        configured = self.config.kinds() if self.config is not None else None
        for kind in kinds:
            facts = KINDS[kind].cloudtrail
            assert facts is not None
            cases = [sample_case(kind, name) for name in facts.event_names]
            if facts.native_event is not None:
                cases += [native_sample_case(kind), native_sample_case(kind, deleted=True)]
            for case in cases:
                self.events += 1
                if not pattern.match(case.event).matched:
                    self.add(
                        "EventPattern",
                        "warning",
                        "missed-event",
                        f"{case.event_name} of {kind} is not admitted: the exporter will not see it",
                        case.event_name,
                    )
                    continue
                try:
                    resolved = resolve_raw_event(case.event, configured)
                except MessageError as error:
                    self.add("Targets", "error", "wrong-resolution", error.reason, case.event_name)
                    continue
                if not (
                    isinstance(resolved, ResourceRequest)
                    and (resolved.kind, resolved.action) == (kind, case.action)
                    and resolved.identifier in case.identifiers
                ):
                    self.add(
                        "Targets",
                        "error",
                        "wrong-resolution",
                        f"{case.event_name} of {kind} resolves to {resolved}, not {case.action} of "
                        f"{' or '.join(sorted(case.identifiers))}",
                        case.event_name,
                    )
            failed = sample_case(kind, facts.event_names[-1], error_code="AccessDenied")
            if pattern.match(failed.event).matched:
                self._once(
                    "EventPattern.detail.errorCode",
                    "warning",
                    "failed-calls",
                    "failed API calls are admitted (the consumer ignores them, but each is a message): add "
                    '"errorCode": [{"exists": false}]',
                    failed,
                )

    # Static checks, on the template itself.

    def _static_checks(self, template: str, quoted: list[bool]) -> str | None:
        """Check the message's jq fields for unquoted placeholders and the resource_type; return the kind."""
        message = _marked_message(template, quoted)
        if message is None:
            return None
        kind = message.get("resource_type")
        if not isinstance(kind, str) or _MARK_OPEN in kind:
            self.add("resource_type", "error", "message", "the message has no constant resource_type string")
            kind = None
        elif self.config is not None and not self.config.entries_for_kind(kind):
            self.add(
                "resource_type",
                "warning",
                "unhandled-kind",
                f"no resources[] entry of the config has kind {kind}: the exporter ignores these messages",
            )
        for name in _JQ_FIELDS:
            program = message.get(name)
            if program is None:
                if name != "action":
                    self.add(name, "error", "message", f"the message has no {name!r} field")
                    self.static_fields.add(name)
                continue
            if not isinstance(program, str):
                continue
            unquoted = _unquoted_placeholders(program)
            if unquoted:
                self.static_fields.add(name)
                shown = ", ".join(f"<{placeholder}>" for placeholder in unquoted)
                self.add(
                    name,
                    "error",
                    "unquoted-placeholder",
                    f"{shown} is not inside a jq string, so its value is read as jq code (`eu-west-1` or "
                    "`my-cluster` is a "
                    f'subtraction of undefined names): write \\"<{unquoted[0]}>\\" to make it a jq string literal',
                )
        return kind

    # Sample events the pattern admits.

    def _cases(self, pattern: EventPattern, kind: str | None, spec: KindSpec | None) -> list[SampleCase]:
        conditions = pattern.fields()
        cases: list[SampleCase] = []
        for event_source in _event_sources(conditions):
            name_conditions = [c for c in conditions if c.path == _EVENT_NAME_FIELD]
            names = [event.name for event in events_of_source(event_source)]
            facts = spec.cloudtrail if spec is not None else None
            if facts is not None and facts.event_source == event_source:
                names = list(dict.fromkeys([*facts.event_names, *names]))
            if name_conditions:
                names = [name for name in names if any(c.accepts(name) for c in name_conditions)]
            if len(names) > _MAX_EVENTS_PER_SOURCE:
                self.add(
                    f"EventPattern.{_EVENT_NAME_FIELD}",
                    "info",
                    "not-checked",
                    f"the pattern admits {len(names)} calls of {event_source}; the first "
                    f"{_MAX_EVENTS_PER_SOURCE} were checked",
                )
            for name in names[:_MAX_EVENTS_PER_SOURCE]:
                case = sample_case(kind, name, event_source=event_source)
                if pattern.match(case.event).matched:
                    cases.append(case)
        for detail_type in _native_detail_types(conditions):
            native = spec.cloudtrail.native_event if spec is not None and spec.cloudtrail is not None else None
            if native is None or native.detail_type != detail_type or kind is None:
                self.add(
                    "EventPattern.detail-type",
                    "info",
                    "not-checked",
                    f"no sample of {detail_type!r} events is known{f' for {kind}' if kind else ''}: not checked",
                )
                continue
            for deleted in (False, True):
                case = native_sample_case(kind, deleted=deleted)
                if pattern.match(case.event).matched:
                    cases.append(case)
        return cases

    def _outcome(self, target: RuleTarget, case: SampleCase) -> _Outcome:
        outcome = _Outcome(case)
        rendered = target.render(
            case.event, rule_name=self.rule.name, rule_arn=self.rule.arn(DEFAULT_REGION, DEFAULT_ACCOUNT)
        )
        if not rendered.delivered or rendered.body is None:
            self._once(
                "InputTemplate", "error", "not-delivered", f"EventBridge drops the message: {rendered.error}", case
            )
            outcome.failed = True
            return outcome
        try:
            result = evaluate_message(parse_message(rendered.body), self.evaluator)
        except MessageError as error:
            outcome.failed = True
            self._message_error(error, case)
            return outcome
        outcome.action, outcome.identifier = result.action, result.identifier
        self._check_meaning(outcome)
        return outcome

    def _message_error(self, error: MessageError, case: SampleCase) -> None:
        field_name = error.field or "message"
        if field_name in self.static_fields:
            return
        code = {
            "jq-failed": "jq-error",
            "empty": f"empty-{field_name}",
            "not-a-string": "jq-error",
            "bad-action": "bad-action",
        }.get(error.problem, "message")
        self._once(field_name, "error", code, error.reason, case)

    def _once(self, field_name: str, severity: Severity, code: str, message: str, case: SampleCase) -> None:
        """One finding per event: the same problem on several events is several findings, each naming its event."""
        key = (code, case.event_name)
        if key in self.reported:
            return
        self.reported.add(key)
        self.add(field_name, severity, code, message, case.event_name)

    def _check_meaning(self, outcome: _Outcome) -> None:
        case = outcome.case
        if case.action is None:
            return
        if outcome.action != case.action:
            outcome.failed = True
            # A prefix over-match is reported with its prefix; others here.
            if not self._admitted_by_prefix_only(case.event_name):
                code = "wrong-delete" if outcome.action == "delete" else "missed-delete"
                meaning = "does not delete" if outcome.action == "delete" else "deletes"
                self.add(
                    "action",
                    "warning",
                    code,
                    f"{case.event_name} {meaning} the {case.kind}, but the rule sends {outcome.action} "
                    f"of {outcome.identifier}",
                    case.event_name,
                )
            return
        if case.identifiers and outcome.identifier not in case.identifiers:
            outcome.failed = True
            if self._admitted_by_prefix_only(case.event_name):
                return
            right = " or ".join(sorted(case.identifiers))
            self.add(
                "identifier",
                "warning",
                "wrong-identifier",
                f"for {case.event_name} the identifier is {outcome.identifier!r}, but the {case.kind} it touches "
                f"is {right}",
                case.event_name,
            )

    def _admitted_by_prefix_only(self, event_name: str) -> bool:
        return any(event_name in names for names in self.overmatched.values())

    # Rule-wide checks.

    def _prefix_overmatch(self, spec: KindSpec | None, outcomes: list[_Outcome]) -> None:
        by_name = {outcome.case.event_name: outcome for outcome in outcomes}
        listed = set(spec.cloudtrail.event_names) if spec is not None and spec.cloudtrail is not None else set()
        for prefix, names in self.overmatched.items():
            # An operation of the kind's own that the rule handles right is not a problem.
            others = [
                by_name[name]
                for name in names
                if not (
                    name in listed and not by_name[name].failed and by_name[name].action == by_name[name].case.action
                )
            ]
            if others:
                self._report_overmatch(prefix, others)

    def _report_overmatch(self, prefix: str, others: list[_Outcome]) -> None:
        deletes = [o for o in others if o.action == "delete"]
        upserts = [o for o in others if o.action == "upsert"]
        broken = [o for o in others if o.action is None]
        parts = []
        if deletes:
            parts.append("a delete of " + _listed_outcomes(deletes) + " (a resource that still exists)")
        if upserts:
            parts.append("an upsert of " + _listed_outcomes(upserts))
        if broken:
            parts.append("no usable message for " + ", ".join(o.case.event_name for o in broken[:_SHOWN_NAMES]))
        names = [o.case.event_name for o in others]
        shown = ", ".join(names[:_SHOWN_NAMES]) + (f" and {len(names) - _SHOWN_NAMES} more" if len(names) > 6 else "")
        self.add(
            f"EventPattern.{_EVENT_NAME_FIELD}",
            "warning",
            "prefix-overmatch",
            f"prefix {prefix!r} also admits {len(names)} other operation(s): {shown}; the rule turns them into "
            + "; ".join(parts),
            deletes[0].case.event_name if deletes else names[0],
        )

    def _failed_calls(self, pattern: EventPattern, kind: str | None, outcomes: list[_Outcome]) -> None:
        cloudtrail = next((o.case for o in outcomes if o.case.event["detail-type"] == CLOUDTRAIL_DETAIL_TYPE), None)
        if cloudtrail is None:
            return
        source = cloudtrail.event["detail"]["eventSource"]
        failed = sample_case(kind, cloudtrail.event_name, event_source=source, error_code="AccessDenied")
        if pattern.match(failed.event).matched:
            self.add(
                "EventPattern.detail.errorCode",
                "warning",
                "failed-calls",
                "failed API calls are admitted too (a denied or invalid call changes nothing): "
                'add "errorCode": [{"exists": false}] under detail',
            )


def _marked_message(template: str, quoted: list[bool]) -> dict[str, Any] | None:
    """The message a JSON template renders with each placeholder replaced by a marker, or None."""
    matches = list(PLACEHOLDER.finditer(template))
    if len(matches) != len(quoted):
        return None
    parts: list[str] = []
    position = 0
    for match, inside in zip(matches, quoted, strict=True):
        marker = f"{_MARK_OPEN}{match.group(1)}{_MARK_CLOSE}"
        parts.extend([template[position : match.start()], marker if inside else json.dumps(marker)])
        position = match.end()
    parts.append(template[position:])
    try:
        message = json.loads("".join(parts))
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _unquoted_placeholders(program: str) -> list[str]:
    """The placeholders of a marked jq program that sit outside jq string literals."""
    return [match.group(1) for match, in_string in scan_quoting(program, _MARKED) if not in_string]


def _event_sources(conditions: list[FieldCondition]) -> list[str]:
    sources = [m for c in conditions if c.path == "detail.eventSource" for m in c.matchers if isinstance(m, str)]
    if not sources:
        sources = [
            m.removeprefix("aws.") + ".amazonaws.com"
            for c in conditions
            if c.path == "source"
            for m in c.matchers
            if isinstance(m, str) and m.startswith("aws.")
        ]
    admits_cloudtrail = not any(c.path == "detail-type" for c in conditions) or any(
        c.path == "detail-type" and c.accepts(CLOUDTRAIL_DETAIL_TYPE) for c in conditions
    )
    return list(dict.fromkeys(sources)) if admits_cloudtrail else []


def _native_detail_types(conditions: list[FieldCondition]) -> list[str]:
    return list(
        dict.fromkeys(
            m
            for c in conditions
            if c.path == "detail-type"
            for m in c.matchers
            if isinstance(m, str) and m != CLOUDTRAIL_DETAIL_TYPE
        )
    )


def _prefix_of(matcher: object) -> str | None:
    if not isinstance(matcher, dict) or "prefix" not in matcher:
        return None
    value = matcher["prefix"]
    if isinstance(value, dict):
        value = value.get("equals-ignore-case")
    return value if isinstance(value, str) else None


def _overmatched_by_prefix(pattern: EventPattern, names: list[str]) -> dict[str, list[str]]:
    """For each `prefix` matcher of the event name, the admitted names it lets in that are not the
    operation it names, nor named by another matcher of the same list."""
    found: dict[str, list[str]] = {}
    for condition in pattern.fields():
        if condition.path != _EVENT_NAME_FIELD:
            continue
        intended = _intended_names(condition, names)
        for matcher in condition.matchers:
            prefix = _prefix_of(matcher)
            if prefix is None:
                continue
            accepts = compile_pattern({"name": [matcher]}).fields()[0].accepts
            extra = [name for name in names if accepts(name) and name not in intended]
            if extra:
                found.setdefault(prefix, [])
                found[prefix].extend(name for name in extra if name not in found[prefix])
    return found


def _intended_names(condition: FieldCondition, names: list[str]) -> set[str]:
    """The names a matcher list means: exact names, and each prefix's own operation (with its
    version suffix, `DeleteFunction` -> `DeleteFunction20150331`)."""
    meant: set[str] = set()
    for matcher in condition.matchers:
        text = matcher if isinstance(matcher, str) else _prefix_of(matcher)
        if text is None:
            continue
        meant.update(name for name in names if name == text or base_operation_name(name) == text)
    return meant


def _listed_outcomes(outcomes: list[_Outcome]) -> str:
    grouped: dict[str, list[str]] = {}
    for outcome in outcomes:
        grouped.setdefault(str(outcome.identifier), []).append(outcome.case.event_name)
    return "; ".join(f"{identifier} (from {', '.join(names)})" for identifier, names in grouped.items())
