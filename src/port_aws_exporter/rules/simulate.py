"""What a rule does with one event, end to end, as AWS and the exporter would do it.

For each rule: does the pattern match (if not, which field failed); what its target receives (the
rendered message, or why EventBridge would not deliver it); and what the exporter makes of that
message (`core.message.parse_message` and `evaluate_message`, the event path's own code): region,
action, identifier, and which `config.json` entries handle its kind. A target without an
InputTransformer delivers the whole event: then it is resolved as the consumer resolves raw events
(`core.kinds.raw_events`): kind, account, region, action, identifier, or why it is ignored.

    outcomes = simulate_rules(load_rule_template("rules.yaml", lenient=True), event, evaluator=jq)
    [outcome.as_dict() for outcome in outcomes]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.raw_events import IgnoredEvent, is_raw_event, resolve_raw_event
from port_aws_exporter.core.message import MessageError, decode_body, evaluate_message, parse_message
from port_aws_exporter.eventbridge.pattern import InvalidPatternError
from port_aws_exporter.eventbridge.transformer import InputTransformerError
from port_aws_exporter.rules.template import EventRule, RuleTarget

__all__ = ["RuleOutcome", "simulate_rule", "simulate_rules"]

_DEFAULT_REGION = "us-east-1"
_DEFAULT_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class RuleOutcome:
    """One rule (one target of it) on one event. Fields that a step did not reach are None.

    `message` is the rendered message (parsed when it is JSON); `error` says why the chain stopped:
    an invalid pattern or target, an undelivered message, or a `MessageError` reason.
    """

    rule: str
    target: str | None
    matched: bool
    failed_field: str | None = None
    delivered: bool | None = None
    message: Any = None
    region: str | None = None
    action: str | None = None
    identifier: str | None = None
    handled_by: list[int] | None = None
    error: str | None = None
    # A raw event delivered whole: what it resolves to (or why the consumer ignores it).
    raw: bool = False
    kind: str | None = None
    account: str | None = None
    ignored: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The outcome as `rules test --json` prints it (`raw`, `kind`, `account`, `ignored` for an
        event delivered whole)."""
        shown = {
            "rule": self.rule,
            "matched": self.matched,
            "failed_field": self.failed_field,
            "delivered": self.delivered,
            "message": self.message,
            "region": self.region,
            "action": self.action,
            "identifier": self.identifier,
            "handled_by": self.handled_by,
            "error": self.error,
        }
        if self.raw:
            shown.update({"raw": True, "kind": self.kind, "account": self.account, "ignored": self.ignored})
        return shown


def simulate_rules(
    rules: Sequence[EventRule],
    event: Mapping[str, Any],
    *,
    evaluator: TimeLimitedJq,
    config: ExporterConfig | None = None,
) -> list[RuleOutcome]:
    """Every rule on `event`, one outcome per target (one per rule without targets)."""
    outcomes: list[RuleOutcome] = []
    for rule in rules:
        outcomes.extend(simulate_rule(rule, event, evaluator=evaluator, config=config))
    return outcomes


def simulate_rule(
    rule: EventRule,
    event: Mapping[str, Any],
    *,
    evaluator: TimeLimitedJq,
    config: ExporterConfig | None = None,
) -> list[RuleOutcome]:
    """One rule on `event`: one outcome per target."""
    try:
        match = rule.compiled_pattern().match(event)
    except (InvalidPatternError, ValueError) as error:
        return [RuleOutcome(rule.name, None, matched=False, error=f"the rule's pattern is not valid: {error}")]
    if not match.matched:
        return [RuleOutcome(rule.name, None, matched=False, failed_field=match.failed_field)]
    if not rule.targets:
        return [RuleOutcome(rule.name, None, matched=True, error="the rule has no target")]
    return [_deliver(rule, target, event, evaluator, config) for target in rule.targets]


def _deliver(
    rule: EventRule,
    target: RuleTarget,
    event: Mapping[str, Any],
    evaluator: TimeLimitedJq,
    config: ExporterConfig | None,
) -> RuleOutcome:
    region = str(event.get("region") or _DEFAULT_REGION)
    account = str(event.get("account") or _DEFAULT_ACCOUNT)
    try:
        rendered = target.render(dict(event), rule_name=rule.name, rule_arn=rule.arn(region, account))
    except InputTransformerError as error:
        return RuleOutcome(rule.name, target.id, matched=True, delivered=False, error=str(error))
    if not rendered.delivered or rendered.body is None:
        return RuleOutcome(
            rule.name, target.id, matched=True, delivered=False, message=rendered.rendered, error=rendered.error
        )
    shown = _shown_message(rendered.body)
    raw = _raw_outcome(rule, target, rendered.body, shown, config)
    if raw is not None:
        return raw
    delivered = partial(RuleOutcome, rule.name, target.id, matched=True, delivered=True, message=shown)
    try:
        message = parse_message(rendered.body)
    except MessageError as error:
        return delivered(error=error.reason)
    handled_by = None if config is None else [index for index, _ in config.entries_for_kind(message.resource_type)]
    try:
        result = evaluate_message(message, evaluator)
    except MessageError as error:
        return delivered(handled_by=handled_by, error=error.reason)
    return delivered(region=result.region, action=result.action, identifier=result.identifier, handled_by=handled_by)


def _raw_outcome(
    rule: EventRule, target: RuleTarget, body: str, shown: Any, config: ExporterConfig | None
) -> RuleOutcome | None:
    """The outcome of a body that is a whole EventBridge event, or None for any other body."""
    try:
        document, _ = decode_body(body)
    except MessageError:
        return None
    if not is_raw_event(document):
        return None
    delivered = partial(RuleOutcome, rule.name, target.id, matched=True, delivered=True, message=shown, raw=True)
    try:
        resolved = resolve_raw_event(document, config.kinds() if config is not None else None)
    except MessageError as error:
        return delivered(error=error.reason)
    located = partial(delivered, kind=resolved.kind, account=resolved.account, region=resolved.region)
    if isinstance(resolved, IgnoredEvent):
        return located(ignored=resolved.reason)
    handled_by = None if config is None else [index for index, _ in config.entries_for_kind(resolved.kind)]
    return located(action=resolved.action, identifier=resolved.identifier, handled_by=handled_by)


def _shown_message(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body
