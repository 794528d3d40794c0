"""`make_change`: the calls it makes, the CloudTrail events it puts, and how it fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.message import evaluate_message, parse_message
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.aws.changes import ChangeError, make_change, resolve_kind, supported_kinds
from port_aws_exporter.local.aws.changes.recorded_call import HIDDEN, cloudtrail_parameters, cloudtrail_time
from port_aws_exporter.local.aws.rule_deployment import DeployedRules, deploy_rule_template
from port_aws_exporter.rules.generate import generate_rules
from port_aws_exporter.rules.rule_output import render_cloudformation

CLOUDTRAIL = "AWS API Call via CloudTrail"


def _cloudtrail(events: tuple[dict[str, Any], ...], name: str) -> dict[str, Any]:
    [event] = [e for e in events if e["detail-type"] == CLOUDTRAIL and e["detail"]["eventName"] == name]
    return event


def test_create_function_records_the_real_call(
    deployed_seed_rule: DeployedRules, queue_bodies: Callable[..., list[str]], aws_client: Callable[..., Any]
) -> None:
    result = make_change(deployed_seed_rule.endpoint_url, "AWS::Lambda::Function", "create", "orders-api")

    function = aws_client("lambda").get_function(FunctionName="orders-api")["Configuration"]
    assert result.identifier == "orders-api"
    # The role new functions run as was created first: that call is recorded (in us-east-1, IAM's region).
    assert [call.event_name for call in result.calls] == ["CreateRole", "CreateFunction20150331"]
    event = _cloudtrail(result.events, "CreateFunction20150331")
    detail = event["detail"]
    assert (event["source"], event["region"], event["account"]) == ("aws.lambda", "us-east-1", result.account_id)
    assert (detail["eventSource"], detail["awsRegion"], detail["readOnly"]) == (
        "lambda.amazonaws.com",
        "us-east-1",
        False,
    )
    request, response = detail["requestParameters"], detail["responseElements"]
    assert request["functionName"] == "orders-api" and request["memorySize"] == 128
    assert request["code"] == {}  # the zip is not recorded
    assert request["tags"] == {"managed-by": "port-aws-exporter", "created-by": "local-change"}
    assert response["functionName"] == "orders-api" and response["functionArn"] == function["FunctionArn"]
    # The event put is the one delivered: the seed's rule rendered it.
    [body] = queue_bodies(deployed_seed_rule.queue_url)
    message = json.loads(body)
    assert (message["responseFunctionName"], message["eventName"]) == ("orders-api", "CreateFunction20150331")


def test_delete_function_has_null_response_elements_and_the_seed_message_an_empty_response_name(
    deployed_seed_rule: DeployedRules, queue_bodies: Callable[..., list[str]], jq_evaluator: TimeLimitedJq
) -> None:
    make_change(deployed_seed_rule.endpoint_url, "lambda", "create", "orders-api")
    queue_bodies(deployed_seed_rule.queue_url)

    result = make_change(deployed_seed_rule.endpoint_url, "lambda", "delete", "orders-api")

    event = _cloudtrail(result.events, "DeleteFunction20150331")
    assert event["detail"]["requestParameters"] == {"functionName": "orders-api"}
    assert event["detail"]["responseElements"] is None
    [body] = queue_bodies(deployed_seed_rule.queue_url)
    assert json.loads(body)["responseFunctionName"] == ""
    evaluated = evaluate_message(parse_message(body), jq_evaluator)
    assert (evaluated.action, evaluated.identifier) == ("delete", "orders-api")


def test_a_failed_call_is_recorded_with_its_error_and_only_unfiltered_rules_see_it(
    deployed_seed_rule: DeployedRules, queue_bodies: Callable[..., list[str]], shared_data: Path
) -> None:
    generated = render_cloudformation(generate_rules(["AWS::Lambda::Function"]).rules)
    filtered = deploy_rule_template(deployed_seed_rule.endpoint_url, generated, "filtered-events")

    with pytest.raises(ChangeError, match="DeleteFunction failed: ResourceNotFoundException") as raised:
        make_change(deployed_seed_rule.endpoint_url, "lambda", "delete", "never-created")

    result = raised.value.result
    [event] = result.events
    assert event["detail"]["errorCode"] == "ResourceNotFoundException"
    assert event["detail"]["responseElements"] is None
    # The seed's pattern does not drop failed calls; a generated rule does (`errorCode: exists false`).
    assert len(queue_bodies(deployed_seed_rule.queue_url)) == 1
    assert queue_bodies(filtered.queue_url) == []


def test_a_missing_resource_is_an_error_without_events(fresh_local_aws: RunningLocalAws) -> None:
    with pytest.raises(ChangeError, match="no SQS queue ghost in eu-west-1") as raised:
        make_change(fresh_local_aws.url, "AWS::SQS::Queue", "update", "ghost", region="eu-west-1")
    assert raised.value.result is None
    assert fresh_local_aws.eventbridge.snapshot()["rules"] == {}


def test_iam_events_are_delivered_in_us_east_1_whatever_the_region(fresh_local_aws: RunningLocalAws) -> None:
    result = make_change(fresh_local_aws.url, "AWS::IAM::Role", "create", "app-role", region="eu-west-1")
    [event] = result.events
    assert (event["region"], event["detail"]["awsRegion"], event["source"]) == ("us-east-1", "us-east-1", "aws.iam")
    assert event["detail"]["requestParameters"]["roleName"] == "app-role"


def test_ecs_service_create_records_every_call_it_needs(fresh_local_aws: RunningLocalAws) -> None:
    result = make_change(fresh_local_aws.url, "ecs-service", "create", "web", region="eu-west-1")

    assert [call.event_name for call in result.calls] == ["CreateCluster", "RegisterTaskDefinition", "CreateService"]
    service = _cloudtrail(result.events, "CreateService")["detail"]["responseElements"]["service"]
    assert result.identifier == f"{service['serviceArn']}|{service['clusterArn']}"
    assert service["clusterArn"].endswith(":cluster/default")


def test_s3_records_its_own_request_shape(fresh_local_aws: RunningLocalAws) -> None:
    result = make_change(fresh_local_aws.url, "s3", "create", "my-assets-bucket", region="eu-west-1")
    [event] = result.events
    assert event["detail"]["requestParameters"] == {
        "bucketName": "my-assets-bucket",
        "Host": "my-assets-bucket.s3.eu-west-1.amazonaws.com",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
    }
    assert event["detail"]["responseElements"] is None


def test_updates_and_tags_change_the_resource(fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    url = make_change(fresh_local_aws.url, "sqs", "create", "jobs").identifier
    make_change(fresh_local_aws.url, "sqs", "update", "jobs")
    tagged = make_change(fresh_local_aws.url, "sqs", "tag", "jobs")

    sqs = aws_client("sqs")
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "45"
    }
    tag_time = tagged.events[0]["detail"]["requestParameters"]["tags"]["local-change"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"]["local-change"] == tag_time
    assert tagged.events[0]["time"] == tag_time


def test_ec2_instances_are_found_by_name_tag(fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    instance_id = make_change(fresh_local_aws.url, "ec2", "create", "web-1").identifier
    updated = make_change(fresh_local_aws.url, "ec2", "update", "web-1")
    [instance] = aws_client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    assert updated.identifier == instance_id and instance["InstanceType"] == "t3.small"
    assert updated.events[0]["detail"]["requestParameters"] == {
        "instanceId": instance_id,
        "instanceType": {"value": "t3.small"},
    }


def test_kinds_are_named_in_full_or_by_alias() -> None:
    assert resolve_kind("aws::lambda::function") == "AWS::Lambda::Function"
    assert resolve_kind("sqs") == "AWS::SQS::Queue"
    assert resolve_kind("ecs-service") == "AWS::ECS::Service"
    assert set(supported_kinds()) >= {
        "AWS::Lambda::Function",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::ECS::Service",
        "AWS::EC2::Instance",
    }
    with pytest.raises(
        ChangeError, match=r"does not know the kind 'AWS::RDS::DBInstance'.*AWS::SQS::Queue \(sqs/queue\)"
    ):
        resolve_kind("AWS::RDS::DBInstance")


def test_an_unknown_action_is_an_error(fresh_local_aws: RunningLocalAws) -> None:
    with pytest.raises(ChangeError, match="unknown action 'rename': use one of create, update, tag, delete"):
        make_change(fresh_local_aws.url, "sqs", "rename", "jobs")


def test_cloudtrail_parameters_follow_cloudtrail_naming() -> None:
    recorded = cloudtrail_parameters(
        "lambda",
        "CreateFunction",
        {
            "FunctionName": "fn",
            "Code": {"ZipFile": b"PK..."},
            "Environment": {"Variables": {"SECRET": "x"}},
            "Tags": {"Team": "a"},
            "Layers": ["arn:layer"],
        },
    )
    assert recorded == {
        "functionName": "fn",
        "code": {},
        "environment": {"variables": HIDDEN},
        "tags": {"Team": "a"},
        "layers": ["arn:layer"],
    }
    response = cloudtrail_parameters(
        "dynamodb",
        "CreateTable",
        {"TableDescription": {"TableName": "t", "CreationDateTime": datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)}},
        output=True,
    )
    assert response == {"tableDescription": {"tableName": "t", "creationDateTime": "Jan 2, 2024, 3:04:05 PM"}}
    assert cloudtrail_parameters("sqs", "DeleteQueue", {}, output=True) is None
    assert cloudtrail_time(datetime(2024, 1, 2, 0, 4, 5)) == "Jan 2, 2024, 12:04:05 AM"


def test_changes_find_the_demo_worlds_resources(demo_world: Any, aws_client: Callable[..., Any]) -> None:
    endpoint = demo_world.endpoint_url
    service = make_change(endpoint, "ecs-service", "update", "demo-web-us-east-1")
    assert service.identifier.startswith("arn:aws:ecs:us-east-1:")
    assert service.identifier.endswith(":cluster/demo-cluster-us-east-1")

    instance = make_change(endpoint, "ec2", "tag", "demo-web-1-us-east-1")
    assert instance.identifier == demo_world.names("AWS::EC2::Instance", "us-east-1")[0]

    bucket = "demo-assets-eu-west-1"
    make_change(endpoint, "s3", "tag", bucket, region="eu-west-1")
    tags = {tag["Key"]: tag["Value"] for tag in aws_client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["app"] == "assets" and "local-change" in tags  # the demo's tags are kept

    function = make_change(endpoint, "lambda", "update", "demo-orders-api-eu-west-1", region="eu-west-1")
    request = function.events[0]["detail"]["requestParameters"]
    assert request == {"functionName": "demo-orders-api-eu-west-1", "memorySize": 640}
