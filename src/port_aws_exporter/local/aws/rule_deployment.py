"""Deploy the EventBridge rules of a CloudFormation rule template into the local endpoint.

    deployed = deploy_rule_template(aws.url, "lambda.rule.yaml", "port-aws-exporter-events")
    deployed.queue_url, [rule.name for rule in deployed.rules]

The template is read by `rules.template.load_rule_template`, as `rules test` and `rules lint` read
it. `Fn::ImportValue` of an `...-EventsQueueARN` export (the exporter stack's queue, as Port's
templates and `rules generate` import it) resolves to the local queue `queue_name`, which is created
when missing. Each rule is then put with PutRule and PutTargets on the local EventBridge, so a rule
AWS would refuse is refused here too, with AWS's error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from port_aws_exporter.local.aws.service_clients import local_client
from port_aws_exporter.rules.template import EventRule, RuleTarget, load_rule_template

__all__ = ["EVENTS_QUEUE_EXPORT_SUFFIX", "DeployedRule", "DeployedRules", "RuleDeploymentError", "deploy_rule_template"]

EVENTS_QUEUE_EXPORT_SUFFIX = "-EventsQueueARN"
_IMPORT_PREFIX = "Fn::ImportValue "


class RuleDeploymentError(RuntimeError):
    """A rule or target the local EventBridge refused, or a queue that could not be made; the
    message names the rule, the call and AWS's error."""


@dataclass(frozen=True)
class DeployedRule:
    """One rule as deployed: its name and ARN, state, bus, and its targets' ids and ARNs."""

    name: str
    arn: str
    logical_id: str
    state: str
    event_bus_name: str
    targets: dict[str, str]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeployedRules:
    """What `deploy_rule_template` put into the local EventBridge, and the queue the rules feed."""

    endpoint_url: str
    region: str
    template: str
    queue_name: str
    queue_url: str
    queue_arn: str
    rules: tuple[DeployedRule, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        """The deployed rules' names, in template order."""
        return [rule.name for rule in self.rules]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what `local deploy-rules --json` prints)."""
        return asdict(self)


def deploy_rule_template(
    endpoint_url: str,
    template: str | Path,
    queue_name: str,
    *,
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    account_id: str | None = None,
) -> DeployedRules:
    """Put every `AWS::Events::Rule` of `template` (a path or the template text) into the local
    EventBridge of `region`, its exporter-queue imports resolved to the local queue `queue_name`.

    `parameters` gives template parameter values (the others take their defaults); `account_id` a
    member account of the local organisation to deploy into (its rules forward to the exporter's
    account: the queue is still the endpoint's own). Raises RuleTemplateError for a template that
    cannot be read, RuleDeploymentError for a refused rule.
    """
    sqs = local_client(endpoint_url, "sqs", region)
    queue_url, queue_arn = _events_queue(sqs, queue_name)
    account_id = account_id or queue_arn.split(":")[4]
    rules = _load_rules(template, parameters, queue_arn, region, account_id)
    home = queue_arn.split(":")[4]
    events = local_client(endpoint_url, "events", region, None if account_id == home else account_id)
    deployed = tuple(_deploy_rule(events, rule) for rule in rules)
    source = str(template) if isinstance(template, Path) or "\n" not in template else "<text>"
    return DeployedRules(endpoint_url, region, source, queue_name, queue_url, queue_arn, deployed)


def _events_queue(sqs: Any, queue_name: str) -> tuple[str, str]:
    """The queue's URL and ARN, creating it when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        try:
            url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    except ClientError as error:
        raise RuleDeploymentError(f"the events queue {queue_name} could not be found or created: {error}") from error
    return str(url), str(arn)


def _load_rules(
    template: str | Path, parameters: Mapping[str, str] | None, queue_arn: str, region: str, account_id: str
) -> list[EventRule]:
    """Read the template twice: leniently, to learn the export names it imports, then for real."""
    draft = load_rule_template(template, parameters, lenient=True, region=region, account_id=account_id)
    imports = {
        name: queue_arn
        for rule in draft
        for note in rule.unresolved
        if note.reference.startswith(_IMPORT_PREFIX)
        and (name := note.reference[len(_IMPORT_PREFIX) :]).endswith(EVENTS_QUEUE_EXPORT_SUFFIX)
    }
    return load_rule_template(template, parameters, imports, region=region, account_id=account_id)


def _deploy_rule(events: Any, rule: EventRule) -> DeployedRule:
    from botocore.exceptions import ClientError

    request: dict[str, Any] = {"Name": rule.name, "State": rule.state, "EventBusName": rule.event_bus_name}
    if rule.event_pattern is not None:
        request["EventPattern"] = json.dumps(rule.event_pattern)
    if rule.schedule_expression:
        request["ScheduleExpression"] = rule.schedule_expression
    if rule.description:
        request["Description"] = rule.description
    try:
        arn = events.put_rule(**request)["RuleArn"]
    except ClientError as error:
        raise RuleDeploymentError(f"PutRule {rule.name} ({rule.logical_id}) was refused: {error}") from error
    if rule.targets:
        try:
            answer = events.put_targets(
                Rule=rule.name, EventBusName=rule.event_bus_name, Targets=[_target(target) for target in rule.targets]
            )
        except ClientError as error:
            raise RuleDeploymentError(f"PutTargets of {rule.name} ({rule.logical_id}) was refused: {error}") from error
        if answer.get("FailedEntryCount"):
            raise RuleDeploymentError(f"PutTargets of {rule.name} failed for {answer.get('FailedEntries')}")
    return DeployedRule(
        name=rule.name,
        arn=str(arn),
        logical_id=rule.logical_id,
        state=rule.state,
        event_bus_name=rule.event_bus_name,
        targets={target.id: target.arn for target in rule.targets},
        warnings=tuple(rule.warnings),
    )


def _target(target: RuleTarget) -> dict[str, Any]:
    """A PutTargets entry."""
    entry: dict[str, Any] = {"Id": target.id, "Arn": target.arn}
    if target.role_arn is not None:
        entry["RoleArn"] = target.role_arn
    if target.input is not None:
        entry["Input"] = target.input
    if target.input_path is not None:
        entry["InputPath"] = target.input_path
    if target.input_transformer is not None:
        entry["InputTransformer"] = {
            "InputPathsMap": target.input_transformer.input_paths_map,
            "InputTemplate": target.input_transformer.input_template,
        }
    return entry
