"""One event through one rule, as EventBridge runs it: state, pattern, each target's input, delivery.

- A rule whose state is not ENABLED… delivers nothing. A rule in state `ENABLED` does not receive
  read-only CloudTrail management events (`detail.readOnly: true`); only
  `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` does (AWS: "Receiving read-only management events").
- A rule without an event pattern (schedule only) matches no event put on a bus.
- Matching is `rules.pattern`, rendering `rules.transformer`: the project's one implementation.
- A target whose input does not render (a JSON template rendering invalid JSON, an InputPath finding
  nothing) or cannot be reached is a failed invocation: counted, remembered, logged, and the other
  targets and rules go on. PutEvents itself succeeds, as on AWS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from port_aws_exporter.eventbridge.cloudtrail import CLOUDTRAIL_DETAIL_TYPE
from port_aws_exporter.eventbridge.pattern import EventPattern, InvalidPatternError, cached_pattern
from port_aws_exporter.eventbridge.transformer import InputTransformerError, render_input, render_target_input
from port_aws_exporter.local.aws.eventbridge.metrics import EventBridgeMetrics, FailedInvocation
from port_aws_exporter.local.aws.eventbridge.targets import TargetError, send_to_target

__all__ = ["ALL_MANAGEMENT_EVENTS_STATE", "RuleDelivery", "aws_event"]

_log = logging.getLogger(__name__)

ALL_MANAGEMENT_EVENTS_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
# The envelope keys of an EventBridge event, in the order AWS writes them.
_ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
# Keys moto adds for its own bookkeeping; `replay-name` is AWS's too and stays.
_MOTO_ONLY = frozenset({"ingestion-time"})


def aws_event(moto_event: Mapping[str, Any]) -> tuple[dict[str, Any], datetime]:
    """The event as EventBridge delivers it (AWS's key order, `time` as ISO 8601, `account` kept)
    from moto's internal form (epoch `time`, an `ingestion-time`), and when it was ingested."""
    event: dict[str, Any] = {key: moto_event[key] for key in _ENVELOPE if key in moto_event}
    event.update({key: value for key, value in moto_event.items() if key not in event and key not in _MOTO_ONLY})
    event["time"] = _iso_time(moto_event.get("time"))
    ingested = moto_event.get("ingestion-time")
    ingestion_time = (
        datetime.fromtimestamp(float(ingested), UTC) if isinstance(ingested, int | float) else datetime.now(UTC)
    )
    return event, ingestion_time


def _iso_time(value: object) -> str:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return str(value)  # already a timestamp text
    moment = datetime.fromtimestamp(float(value), UTC) if isinstance(value, int | float) else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_read_only_management_event(event: Mapping[str, Any]) -> bool:
    detail = event.get("detail")
    return (
        event.get("detail-type") == CLOUDTRAIL_DETAIL_TYPE
        and isinstance(detail, dict)
        and detail.get("readOnly") is True
    )


class RuleDelivery:
    """Runs moto's rules with the project's matcher and renderer, counting into `metrics`."""

    def __init__(self, metrics: EventBridgeMetrics) -> None:
        self.metrics = metrics

    def deliver(self, rule: Any, moto_event: Mapping[str, Any]) -> bool:
        """Offer one event (moto's form) to one moto `Rule`; True when the rule matched it."""
        state = str(rule.state or "ENABLED")
        if not state.startswith("ENABLED"):
            return False
        pattern = self._pattern(rule)
        if pattern is None:
            return False
        event, ingestion_time = aws_event(moto_event)
        if state != ALL_MANAGEMENT_EVENTS_STATE and _is_read_only_management_event(event):
            return False
        if not pattern.match(event).matched:
            return False
        rule_arn = str(rule.arn)
        self.metrics.record_match(rule_arn)
        for target in list(rule.targets):
            failure = self._invoke(rule, rule_arn, target, event, ingestion_time)
            self.metrics.record_invocation(rule_arn, failure)
        return True

    @staticmethod
    def _pattern(rule: Any) -> EventPattern | None:
        """The rule's compiled pattern; None for a schedule-only rule (it matches no put event)."""
        raw = rule.event_pattern.dump() if rule.event_pattern is not None else None
        if not raw:
            return None
        try:
            return cached_pattern(raw)
        except InvalidPatternError as error:
            # Only a rule written into moto without PutRule can get here: it cannot match on AWS either.
            _log.warning("rule %s has an invalid event pattern and matches nothing: %s", rule.arn, error)
            return None

    def _invoke(
        self, rule: Any, rule_arn: str, target: Mapping[str, Any], event: dict[str, Any], ingestion_time: datetime
    ) -> FailedInvocation | None:
        target_id = str(target.get("Id", ""))
        transformer = target.get("InputTransformer") or None
        try:
            if transformer:
                # Validated at PutTargets; compiled once per transformer and cached.
                rendered = render_input(
                    transformer.get("InputPathsMap") or {},
                    transformer.get("InputTemplate", ""),
                    event,
                    rule_name=str(rule.name),
                    rule_arn=rule_arn,
                    ingestion_time=ingestion_time,
                    target_id=target_id,
                )
            else:
                rendered = render_target_input(
                    event,
                    rule_name=str(rule.name),
                    rule_arn=rule_arn,
                    input=target.get("Input"),
                    input_path=target.get("InputPath"),
                    target_id=target_id,
                )
            if not rendered.delivered or rendered.body is None:
                raise TargetError(rendered.error or "the target input did not render")
            send_to_target(target, rendered.body, event, rule)
        except (TargetError, InputTransformerError) as error:
            failure = FailedInvocation(
                rule_arn=rule_arn,
                target_id=target_id,
                target_arn=str(target.get("Arn", "")),
                event_id=str(event.get("id", "")),
                reason=str(error),
            )
            _log.warning(
                "EventBridge rule %s did not deliver event %s to target %s: %s",
                rule_arn,
                failure.event_id,
                target_id,
                failure.reason,
            )
            return failure
        return None
