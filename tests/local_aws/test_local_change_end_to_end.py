"""`make_change` end to end: every kind and action, through the rules `rules generate` writes for
examples/config.json, to the message the exporter reads, and the resource as Cloud Control sees it.

For each change, the messages that reach the events queue are evaluated as the exporter evaluates
them (jq over the message, first output): their identifier must be the resource's Cloud Control
identifier for an upsert and its Port entity identifier for a delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.message import EvaluatedMessage, evaluate_message, parse_message
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.aws.changes import ChangeResult, make_change
from port_aws_exporter.local.aws.rule_deployment import DeployedRules, deploy_rule_template
from port_aws_exporter.local.aws.service_clients import local_client
from port_aws_exporter.rules.generate import generate_rules
from port_aws_exporter.rules.rule_output import render_cloudformation

REGION = "us-east-1"  # IAM's events reach EventBridge only there
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "config.json"


@dataclass(frozen=True)
class KindCase:
    kind: str
    name: str
    # The Port entity identifier of a delete message, when it is not the Cloud Control identifier.
    delete_identifier: Callable[[str], str] | None = None
    cloud_control: bool = True


CASES = [
    KindCase("AWS::Lambda::Function", "e2e-function"),
    KindCase("AWS::SQS::Queue", "e2e-queue", lambda url: url.rsplit("/", 1)[-1]),
    KindCase("AWS::SNS::Topic", "e2e-topic", lambda arn: arn.rsplit(":", 1)[-1]),
    KindCase("AWS::S3::Bucket", "e2e-bucket"),
    KindCase("AWS::DynamoDB::Table", "e2e-table"),
    KindCase("AWS::ECS::Cluster", "e2e-cluster"),
    KindCase("AWS::ECS::Service", "e2e-services/e2e-service", lambda ids: ids.split("|")[0].rsplit("/", 1)[-1]),
    KindCase("AWS::ECR::Repository", "e2e-repository"),
    KindCase("AWS::EC2::Instance", "e2e-instance", cloud_control=False),
    KindCase("AWS::IAM::Role", "e2e-role"),
]


@dataclass
class World:
    aws: RunningLocalAws
    deployed: DeployedRules
    drain: Callable[..., list[str]]
    evaluator: TimeLimitedJq

    def messages(self, kind: str) -> list[EvaluatedMessage]:
        """The messages about `kind` waiting in the events queue, evaluated (others dropped)."""
        parsed = [parse_message(body) for body in self.drain(self.deployed.queue_url)]
        return [evaluate_message(message, self.evaluator) for message in parsed if message.resource_type == kind]


@pytest.fixture(scope="module")
def world(local_aws: RunningLocalAws, jq_evaluator: TimeLimitedJq) -> Iterator[World]:
    local_aws.reset()
    template = render_cloudformation(generate_rules(load_config(EXAMPLE_CONFIG)).rules)
    deployed = deploy_rule_template(local_aws.url, template, "port-aws-exporter-events", region=REGION)
    yield World(local_aws, deployed, _drainer(local_aws.url), jq_evaluator)
    local_aws.reset()


def _drainer(endpoint_url: str) -> Callable[..., list[str]]:

    sqs = local_client(endpoint_url, "sqs", REGION)

    def drain(queue_url: str) -> list[str]:
        bodies: list[str] = []
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    return drain


def _cloud_control(world: World, case: KindCase, identifier: str) -> dict[str, Any] | None:

    cloudcontrol = local_client(world.aws.url, "cloudcontrol", REGION)
    try:
        return dict(cloudcontrol.get_resource(TypeName=case.kind, Identifier=identifier)["ResourceDescription"])
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        return None


def _change(world: World, case: KindCase, action: str) -> tuple[ChangeResult, list[EvaluatedMessage]]:
    result = make_change(world.aws.url, case.kind, action, case.name, region=REGION)
    messages = world.messages(case.kind)
    assert messages, f"{case.kind} {action}: no message reached the queue"
    return result, messages


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_every_action_reaches_the_exporter_with_the_right_identifier(world: World, case: KindCase) -> None:
    created, messages = _change(world, case, "create")
    identifier = created.identifier
    assert identifier
    assert {(m.action, m.identifier) for m in messages} == {("upsert", identifier)}
    if case.cloud_control:
        found = _cloud_control(world, case, identifier)
        assert found is not None and found["Identifier"] == identifier

    for action in ("update", "tag"):
        result, messages = _change(world, case, action)
        assert result.identifier == identifier
        assert {(m.action, m.identifier) for m in messages} == {("upsert", identifier)}, action

    deleted, messages = _change(world, case, "delete")
    assert deleted.identifier == identifier
    entity = case.delete_identifier(identifier) if case.delete_identifier else identifier
    assert messages[-1].action == "delete"
    assert {m.identifier for m in messages if m.action == "delete"} == {entity}
    if case.cloud_control:
        assert _cloud_control(world, case, identifier) is None


def test_ec2_changes_emit_the_native_state_changes(world: World) -> None:
    created = make_change(world.aws.url, "ec2", "create", "native-web", region=REGION)
    deleted = make_change(world.aws.url, "ec2", "delete", created.identifier, region=REGION)
    world.messages("AWS::EC2::Instance")

    def states(result: ChangeResult) -> list[str]:
        return [
            e["detail"]["state"] for e in result.events if e["detail-type"] == "EC2 Instance State-change Notification"
        ]

    assert states(created) == ["pending", "running"]
    assert states(deleted) == ["shutting-down", "terminated"]
    native = deleted.events[-1]
    assert native["resources"] == [f"arn:aws:ec2:{REGION}:{created.account_id}:instance/{created.identifier}"]
    assert native["detail"] == {"instance-id": created.identifier, "state": "terminated"}
    [terminate] = [e for e in deleted.events if e["detail-type"] == "AWS API Call via CloudTrail"]
    [item] = terminate["detail"]["responseElements"]["instancesSet"]["items"]
    assert item["instanceId"] == created.identifier
    assert item["currentState"]["name"] in ("shutting-down", "terminated")
