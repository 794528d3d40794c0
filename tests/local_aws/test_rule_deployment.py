"""`deploy_rule_template`: rule templates (the seed's, `rules generate`'s) into the local EventBridge."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.aws.rule_deployment import DeployedRules, RuleDeploymentError, deploy_rule_template
from port_aws_exporter.rules.template import RuleTemplateError


def test_the_seed_template_is_deployed_with_its_queue(
    deployed_seed_rule: DeployedRules, aws_client: Callable[..., Any]
) -> None:
    events, sqs = aws_client("events"), aws_client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=deployed_seed_rule.queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    assert deployed_seed_rule.queue_arn == queue_arn
    assert deployed_seed_rule.names == ["port-aws-exporter-sync-lambda-trails"]
    [rule] = events.list_rules()["Rules"]
    assert (rule["Name"], rule["State"], rule["Arn"]) == (
        "port-aws-exporter-sync-lambda-trails",
        "ENABLED",
        deployed_seed_rule.rules[0].arn,
    )
    assert json.loads(rule["EventPattern"])["detail"]["eventName"][0] == {"prefix": "UpdateFunctionConfiguration"}
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert (target["Id"], target["Arn"]) == ("PortAWSExporterEventsQueue", queue_arn)
    assert "<responseFunctionName>" in target["InputTransformer"]["InputTemplate"]


def test_an_existing_queue_is_reused_and_redeploying_replaces_the_rules(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any], shared_data: Path
) -> None:
    sqs = aws_client("sqs", region="eu-west-1")
    url = sqs.create_queue(QueueName="events", Attributes={"VisibilityTimeout": "77"})["QueueUrl"]
    template = shared_data / "port-examples" / "docs-event-based-updates.lambda.rule.yaml"

    first = deploy_rule_template(fresh_local_aws.url, template, "events", region="eu-west-1")
    second = deploy_rule_template(fresh_local_aws.url, template, "events", region="eu-west-1")

    assert first.queue_url == second.queue_url == url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "77"
    assert len(aws_client("events", region="eu-west-1").list_rules()["Rules"]) == 1
    assert aws_client("events").list_rules()["Rules"] == []  # only the region asked for


def test_a_generated_template_deploys_every_rule(
    deployed_example_rules: DeployedRules, aws_client: Callable[..., Any]
) -> None:
    deployed = deployed_example_rules
    listed = {rule["Name"] for rule in aws_client("events").list_rules(Limit=100)["Rules"]}
    assert set(deployed.names) == listed
    assert "port-aws-exporter-sync-lambda-function" in listed and len(listed) >= 10
    for rule in deployed.rules:
        assert rule.targets == {"PortAWSExporterEventsQueue": deployed.queue_arn}
    assert deployed.template == "<text>"


def test_a_stack_name_parameter_changes_only_the_export_name(
    fresh_local_aws: RunningLocalAws, shared_data: Path
) -> None:
    template = shared_data / "port-examples" / "docs-event-based-updates.lambda.rule.yaml"
    deployed = deploy_rule_template(
        fresh_local_aws.url, template, "events", parameters={"PortAWSExporterStackName": "my-exporter"}
    )
    assert deployed.rules[0].targets == {"PortAWSExporterEventsQueue": deployed.queue_arn}


def test_other_imports_stay_an_error_naming_the_rule(fresh_local_aws: RunningLocalAws) -> None:
    template = """
Resources:
  Rule:
    Type: AWS::Events::Rule
    Properties:
      Name: r
      EventPattern: {source: [aws.s3]}
      Targets:
        - Id: t
          Arn: !ImportValue other-stack-TopicArn
"""
    with pytest.raises(RuleTemplateError, match="other-stack-TopicArn"):
        deploy_rule_template(fresh_local_aws.url, template, "events")


def test_a_pattern_aws_refuses_is_refused_with_aws_message(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    template = """
Resources:
  Good:
    Type: AWS::Events::Rule
    Properties:
      Name: good
      EventPattern: {source: [aws.s3]}
  Bad:
    Type: AWS::Events::Rule
    Properties:
      Name: bad
      EventPattern: {detail: {eventName: [{wildcard: "Create**"}]}}
"""
    with pytest.raises(RuleDeploymentError) as raised:
        deploy_rule_template(fresh_local_aws.url, template, "events")
    message = str(raised.value)
    assert "PutRule bad (Bad)" in message
    assert "InvalidEventPatternException" in message and "Event pattern is not valid" in message
    assert [rule["Name"] for rule in aws_client("events").list_rules()["Rules"]] == ["good"]
