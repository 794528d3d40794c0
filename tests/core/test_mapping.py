"""Resource documents (shaped like Cloud Control's properties) → entities, value by value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.mapping import MappingResult, ResourceMapper

ACCOUNT = "123456789012"
CONSOLE = "https://console.aws.amazon.com/go/view?arn="


def _example(shared_data: Path, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((shared_data / "port-examples" / name).read_text())
    return document


@pytest.fixture(params=[True, False], ids=["python-subset", "jq-program"])
def python_subset(request: pytest.FixtureRequest) -> bool:
    """Every mapping test runs on both evaluation paths, which must agree."""
    enabled: bool = request.param
    return enabled


def _mapper(config: dict[str, Any], kind: str, python_subset: bool) -> ResourceMapper:
    (entry,) = [(i, r) for i, r in enumerate(load_config(config).resources) if r.kind == kind]
    return ResourceMapper(entry[1], entry[0], python_subset=python_subset)


def _outputs(result: MappingResult) -> list[dict[str, Any]]:
    assert not result.failures, [str(f) for f in result.failures]
    return [entity.as_output() for entity in result.entities]


LAMBDA: dict[str, Any] = {
    "FunctionName": "orders-api",
    "Arn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders-api",
    "Description": "Orders API",
    "MemorySize": 512,
    "EphemeralStorage": {"Size": 1024},
    "Timeout": 30,
    "Runtime": "python3.12",
    "PackageType": "Zip",
    "Environment": {"Variables": {"STAGE": "prod"}},
    "Architectures": ["arm64"],
    "Layers": [
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:common:3",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:otel:1",
    ],
    "Tags": [{"Key": "team", "Value": "payments"}],
    "Role": f"arn:aws:iam::{ACCOUNT}:role/orders-api",
}


def test_lambda_with_layers_through_items_to_parse(shared_data: Path, python_subset: bool) -> None:
    config = _example(shared_data, "lambda.mapping.json")
    config["resources"][0]["port"]["entity"]["mappings"].append(
        {
            "itemsToParse": ".Layers",
            "identifier": '.item | split(":")[6]',
            "title": ".item",
            "blueprint": "functionLayer",
            "properties": {"function": ".FunctionName", "arn": ".item"},
        }
    )
    entities = _outputs(_mapper(config, "AWS::Lambda::Function", python_subset).map(LAMBDA))
    assert entities == [
        {
            "blueprint": "lambda",
            "identifier": "orders-api",
            "title": "orders-api",
            "properties": {
                "link": CONSOLE + LAMBDA["Arn"],
                "description": "Orders API",
                "memorySize": 512,
                "ephemeralStorageSize": 1024,
                "timeout": 30,
                "runtime": "python3.12",
                "packageType": "Zip",
                "environment": {"Variables": {"STAGE": "prod"}},
                "architectures": ["arm64"],
                "layers": LAMBDA["Layers"],
                "tags": [{"Key": "team", "Value": "payments"}],
                "iamRole": CONSOLE + LAMBDA["Role"],
                "arn": LAMBDA["Arn"],
            },
        },
        {
            "blueprint": "functionLayer",
            "identifier": "common",
            "title": LAMBDA["Layers"][0],
            "properties": {"function": "orders-api", "arn": LAMBDA["Layers"][0]},
        },
        {
            "blueprint": "functionLayer",
            "identifier": "otel",
            "title": LAMBDA["Layers"][1],
            "properties": {"function": "orders-api", "arn": LAMBDA["Layers"][1]},
        },
    ]


def test_properties_are_sent_even_when_null_and_items_need_an_array(shared_data: Path, python_subset: bool) -> None:
    config = _example(shared_data, "lambda.mapping.json")
    config["resources"][0]["port"]["entity"]["mappings"].append(
        {"itemsToParse": ".Layers", "identifier": ".item", "blueprint": "functionLayer"}
    )
    (function_entity,) = _outputs(
        _mapper(config, "AWS::Lambda::Function", python_subset).map({"FunctionName": "bare", "Arn": "a", "Role": "r"})
    )
    assert function_entity["properties"]["memorySize"] is None
    assert function_entity["properties"]["environment"] is None
    assert set(function_entity) == {
        "blueprint",
        "identifier",
        "title",
        "properties",
    }  # no relations, icon, team


def test_sqs_queue(shared_data: Path, python_subset: bool) -> None:
    queue: dict[str, Any] = {
        "QueueName": "orders",
        "QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders",
        "Arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders",
        "VisibilityTimeout": 60,
        "MessageRetentionPeriod": 345600,
        "MaximumMessageSize": 262144,
        "ReceiveMessageWaitTimeSeconds": 0,
        "DelaySeconds": 0,
        "Tags": [{"Key": "env", "Value": "prod"}],
    }
    (entity,) = _outputs(
        _mapper(_example(shared_data, "sns-sqs.mapping.json"), "AWS::SQS::Queue", python_subset).map(queue)
    )
    assert entity == {
        "blueprint": "sqs",
        "identifier": "orders",
        "title": "orders",
        "properties": {
            "link": CONSOLE + queue["Arn"],
            "fifoQueue": False,
            "visibilityTimeout": 60,
            "messageRetentionPeriod": 345600,
            "maximumMessageSize": 262144,
            "receiveMessageWaitTimeSeconds": 0,
            "delaySeconds": 0,
            "tags": [{"Key": "env", "Value": "prod"}],
            "arn": queue["Arn"],
        },
    }


def test_sns_topic_relates_to_its_sqs_subscriptions(shared_data: Path, python_subset: bool) -> None:
    topic: dict[str, Any] = {
        "TopicName": "order-events",
        "TopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:order-events",
        "FifoTopic": False,
        "Subscription": [
            {"Protocol": "sqs", "Endpoint": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders"},
            {"Protocol": "email", "Endpoint": "ops@example.com"},
            {"Protocol": "sqs", "Endpoint": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:audit"},
        ],
        "Tags": [],
    }
    mapper = _mapper(_example(shared_data, "sns-sqs.mapping.json"), "AWS::SNS::Topic", python_subset)
    (entity,) = _outputs(mapper.map(topic))
    assert entity["relations"] == {"sqs": ["orders", "audit"]}
    assert entity["properties"] == {
        "link": CONSOLE + topic["TopicArn"],
        "fifoTopic": False,
        "subscriptions": topic["Subscription"],
        "tags": [],
        "arn": topic["TopicArn"],
    }
    (no_subscriptions,) = _outputs(mapper.map({"TopicName": "t", "TopicArn": "arn:t"}))
    assert no_subscriptions["relations"] == {"sqs": []}
    assert no_subscriptions["properties"]["fifoTopic"] is False


def test_s3_bucket(shared_data: Path, python_subset: bool) -> None:
    bucket: dict[str, Any] = {
        "BucketName": "acme-logs",
        "Arn": "arn:aws:s3:::acme-logs",
        "RegionalDomainName": "acme-logs.s3.eu-west-1.amazonaws.com",
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True},
    }
    (entity,) = _outputs(
        _mapper(_example(shared_data, "s3.mapping.json"), "AWS::S3::Bucket", python_subset).map(bucket)
    )
    assert entity["identifier"] == "acme-logs"
    assert entity["properties"] == {
        "link": CONSOLE + "arn:aws:s3:::acme-logs",
        "regionalDomainName": "acme-logs.s3.eu-west-1.amazonaws.com",
        "versioningStatus": "Enabled",
        "encryption": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
        "lifecycleRules": None,
        "publicAccess": {"BlockPublicAcls": True},
        "tags": None,
        "arn": "arn:aws:s3:::acme-logs",
    }


def test_dynamodb_table(shared_data: Path, python_subset: bool) -> None:
    table: dict[str, Any] = {
        "TableName": "orders",
        "Arn": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders",
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2},
        "DeletionProtectionEnabled": True,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires"},
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }
    (entity,) = _outputs(
        _mapper(_example(shared_data, "dynamodb.mapping.json"), "AWS::DynamoDB::Table", python_subset).map(table)
    )
    assert entity["properties"] == {
        "link": CONSOLE + table["Arn"],
        "writeCapacityUnits": 2,
        "readCapacityUnits": 5,
        "deletionProtectionEnabled": True,
        "pointInTimeRecoveryEnabled": False,
        "ttlEnabled": True,
        "ttlAttributeName": "expires",
        "billingMode": "PROVISIONED",
        "attributeDefinitions": table["AttributeDefinitions"],
        "keySchema": table["KeySchema"],
        "tags": None,
        "arn": table["Arn"],
    }


def test_ecs_service_relates_to_its_cluster(shared_data: Path, python_subset: bool) -> None:
    service: dict[str, Any] = {
        "ServiceArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/prod/checkout",
        "ServiceName": "checkout",
        "Cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/prod",
        "DesiredCount": 3,
        "LaunchType": "FARGATE",
        "SchedulingStrategy": "REPLICA",
        "LoadBalancers": [],
        "NetworkConfiguration": {
            "AwsvpcConfiguration": {"SecurityGroups": ["sg-1"], "Subnets": ["subnet-1", "subnet-2"]}
        },
        "TaskDefinition": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/checkout:7",
    }
    (entity,) = _outputs(
        _mapper(_example(shared_data, "ecs.mapping.json"), "AWS::ECS::Service", python_subset).map(service)
    )
    assert entity == {
        "blueprint": "ecsService",
        "identifier": "checkout",
        "title": "checkout",
        "properties": {
            "link": CONSOLE + service["ServiceArn"],
            "desiredCount": 3,
            "launchType": "FARGATE",
            "cluster": "prod",
            "schedulingStrategy": "REPLICA",
            "loadBalancers": [],
            "securityGroups": ["sg-1"],
            "subnets": ["subnet-1", "subnet-2"],
            "taskDefinition": "checkout:7",
            "iamRole": None,
            "arn": service["ServiceArn"],
        },
        "relations": {"ecsCluster": "prod"},
    }


def test_selector_false_maps_to_nothing(shared_data: Path, python_subset: bool) -> None:
    mapper = _mapper(_example(shared_data, "ec2.mapping.json"), "AWS::EC2::Instance", python_subset)
    terminated = mapper.map({"InstanceId": "i-1", "State": {"Name": "terminated"}})
    assert terminated.filtered and terminated.entities == [] and terminated.failures == []
    running = mapper.map(
        {"InstanceId": "i-2", "State": {"Name": "running"}, "Placement": {"AvailabilityZone": "eu-west-1a"}}
    )
    assert not running.filtered
    (entity,) = _outputs(running)
    assert entity["title"] is None  # no Name tag: null, not a dropped resource
    assert entity["properties"]["link"] == (
        "https://console.aws.amazon.com/ec2/home?region=eu-west-1#InstanceDetails:instanceId=i-2"
    )


def _single_mapping(**mapping: Any) -> dict[str, Any]:
    return {
        "resources": [{"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": [{"blueprint": "sqs", **mapping}]}}}]
    }


def test_a_missing_identifier_names_the_mapping_and_expression(python_subset: bool) -> None:
    result = _mapper(_single_mapping(identifier=".QueueName"), "AWS::SQS::Queue", python_subset).map({"Arn": "x"})
    assert result.entities == []
    (failure,) = result.failures
    assert failure.path == "resources[0].port.entity.mappings[0].identifier"
    assert failure.expression == ".QueueName"
    assert "evaluated to null" in failure.message


def test_a_failing_field_is_located_and_other_mappings_still_map(python_subset: bool) -> None:
    config = _single_mapping(identifier=".QueueName", properties={"size": ".Size | ascii_downcase"})
    config["resources"][0]["port"]["entity"]["mappings"].append({"identifier": ".QueueName", "blueprint": "queueCopy"})
    result = _mapper(config, "AWS::SQS::Queue", python_subset).map({"QueueName": "q", "Size": 5})
    assert [e.blueprint for e in result.entities] == ["queueCopy"]
    (failure,) = result.failures
    assert failure.path == "resources[0].port.entity.mappings[0].properties.size"
    assert failure.expression == ".Size | ascii_downcase"
    assert failure.message == "explode input must be a string"


def test_a_failing_selector_is_reported(python_subset: bool) -> None:
    config = _single_mapping(identifier=".QueueName")
    config["resources"][0]["selector"] = {"query": '.Tags | startswith("x")'}
    (failure,) = _mapper(config, "AWS::SQS::Queue", python_subset).map({"QueueName": "q", "Tags": []}).failures
    assert failure.path == "resources[0].selector.query"
    assert "startswith() requires string inputs" in failure.message


def test_optional_fields_relations_and_quoted_blueprints(python_subset: bool) -> None:
    config = _single_mapping(
        identifier=".QueueName",
        title=".QueueName | ascii_upcase",
        icon='"SQS"',
        team=".Team",
        relations={"topic": ".Topics // []"},
    )
    config["resources"][0]["port"]["entity"]["mappings"][0]["blueprint"] = '"sqs"'
    (entity,) = _outputs(_mapper(config, "AWS::SQS::Queue", python_subset).map({"QueueName": "q1", "Team": None}))
    assert entity == {
        "blueprint": "sqs",
        "identifier": "q1",
        "title": "Q1",
        "icon": "SQS",
        "team": None,
        "properties": {},
        "relations": {"topic": []},
    }


def test_numeric_identifiers_become_strings_and_map_text_agrees(python_subset: bool) -> None:
    mapper = _mapper(_single_mapping(identifier=".Id", properties={"n": ".Id"}), "AWS::SQS::Queue", python_subset)
    (entity,) = mapper.map({"Id": 42}).entities
    assert entity.identifier == "42"
    assert entity.entity["properties"] == {"n": 42}
    assert [e.entity for e in mapper.map_text('{"Id": 42}').entities] == [entity.entity]


def test_delete_targets_one_entity_per_blueprint_of_the_resource(python_subset: bool) -> None:
    config = _single_mapping(identifier=".QueueName")
    mappings = config["resources"][0]["port"]["entity"]["mappings"]
    mappings.append({"identifier": ".QueueName", "blueprint": "queueMirror"})
    mappings.append({"identifier": ".QueueName", "blueprint": "sqs"})
    mappings.append({"identifier": ".item", "blueprint": "tag", "itemsToParse": ".Tags"})
    mapper = _mapper(config, "AWS::SQS::Queue", python_subset)
    assert mapper.delete_targets("orders") == [("sqs", "orders"), ("queueMirror", "orders")]
    assert mapper.blueprints == ["sqs", "queueMirror", "tag"]


@pytest.mark.parametrize("items", ["null", '"text"', "{}", "5"])
def test_items_to_parse_that_is_not_an_array_gives_no_entity(items: str, python_subset: bool) -> None:
    mapper = _mapper(_single_mapping(identifier=".item", itemsToParse=items), "AWS::SQS::Queue", python_subset)
    result = mapper.map({"QueueName": "q"})
    assert result.entities == [] and result.failures == [] and not result.filtered


def test_plain_path_mappings_are_evaluated_in_python(shared_data: Path) -> None:
    lambda_mapper = _mapper(_example(shared_data, "lambda.mapping.json"), "AWS::Lambda::Function", True)
    ec2_mapper = _mapper(_example(shared_data, "ec2.mapping.json"), "AWS::EC2::Instance", True)
    assert lambda_mapper.evaluated_in_python
    assert not ec2_mapper.evaluated_in_python  # its selector pipes into startswith


def test_the_python_path_defers_to_jq_when_unsure() -> None:
    # `+` of a string and a number is a jq error: the Python path must not invent an answer.
    mapper = _mapper(_single_mapping(identifier=".QueueName", properties={"x": '"n=" + .N'}), "AWS::SQS::Queue", True)
    assert mapper.evaluated_in_python
    result = mapper.map({"QueueName": "q", "N": 3})
    (failure,) = result.failures
    assert failure.path == "resources[0].port.entity.mappings[0].properties.x"
    assert "cannot be added" in failure.message
