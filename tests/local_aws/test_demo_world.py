"""The demo world: what it creates, that Cloud Control and the native APIs serve it, and that it is
deterministic."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from port_aws_exporter.local.aws import RunningLocalAws, SeedSummary, seed_demo_world
from port_aws_exporter.local.aws.cloudcontrol.schemas import ResourceSchemas

REGIONS = ["us-east-1", "eu-west-1"]
CLOUD_CONTROL_KINDS = [
    "AWS::Lambda::Function",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::DynamoDB::Table",
    "AWS::ECS::Cluster",
    "AWS::ECS::Service",
    "AWS::ECR::Repository",
]


@pytest.fixture(scope="module")
def world(local_aws: RunningLocalAws) -> Iterator[SeedSummary]:
    """Seeded once for the module; the tests here only read."""
    local_aws.reset()
    yield seed_demo_world(local_aws.url, regions=REGIONS)
    local_aws.reset()


def _cc_documents(aws_client: Callable[..., Any], kind: str, region: str) -> list[dict[str, Any]]:
    """Every resource of `kind` as GetResource reads it (list descriptions carry only identifiers)."""
    cc = aws_client("cloudcontrol", region)
    pages = cc.get_paginator("list_resources").paginate(TypeName=kind)
    identifiers = [d["Identifier"] for page in pages for d in page["ResourceDescriptions"]]
    return [
        json.loads(cc.get_resource(TypeName=kind, Identifier=identifier)["ResourceDescription"]["Properties"])
        for identifier in identifiers
    ]


# The property each kind's Port mapping uses as the entity identifier.
IDENTIFIER_PROPERTY = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::Service": "ServiceName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::IAM::Role": "RoleName",
}


def test_the_summary_names_every_resource_deterministically(world: SeedSummary) -> None:
    assert world.names("AWS::Lambda::Function", "eu-west-1") == [
        "demo-orders-api-eu-west-1",
        "demo-payments-worker-eu-west-1",
        "demo-image-resizer-eu-west-1",
        "demo-report-generator-eu-west-1",
    ]
    assert world.names("AWS::SQS::Queue", "us-east-1") == [
        "demo-orders-dlq-us-east-1",
        "demo-orders-us-east-1",
        "demo-payments-us-east-1",
        "demo-notifications-us-east-1",
    ]
    assert world.names("AWS::IAM::Role") == ["demo-lambda-role", "demo-ecs-task-role"]
    assert world.subscriptions["demo-order-events-eu-west-1"] == [
        "demo-orders-eu-west-1",
        "demo-payments-eu-west-1",
    ]
    per_region = {kind: len(world.names(kind, "us-east-1")) for kind in world.resources if kind != "AWS::IAM::Role"}
    assert per_region == {
        "AWS::Lambda::LayerVersion": 1,
        "AWS::Lambda::Function": 4,
        "AWS::S3::Bucket": 2,
        "AWS::DynamoDB::Table": 2,
        "AWS::SQS::Queue": 4,
        "AWS::SNS::Topic": 2,
        "AWS::EC2::Instance": 2,
        "AWS::ACM::Certificate": 1,
        "AWS::ElasticLoadBalancingV2::LoadBalancer": 1,
        "AWS::ECR::Repository": 1,
        "AWS::ECS::Cluster": 1,
        "AWS::ECS::Service": 2,
        "AWS::ElastiCache::CacheCluster": 1,
        "AWS::CloudFormation::Stack": 1,
    }
    assert world.count() == 2 + 2 * sum(per_region.values())


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("kind", CLOUD_CONTROL_KINDS)
def test_cloud_control_serves_exactly_the_seeded_resources(
    world: SeedSummary, aws_client: Callable[..., Any], kind: str, region: str
) -> None:
    documents = _cc_documents(aws_client, kind, region)
    names = [document[IDENTIFIER_PROPERTY[kind]] for document in documents]
    # S3 lists every region's buckets, as AWS does.
    expected = world.names(kind) if kind == "AWS::S3::Bucket" else world.names(kind, region)
    assert sorted(names) == sorted(expected)


def test_every_cloud_control_document_validates_against_its_schema(
    world: SeedSummary, aws_client: Callable[..., Any]
) -> None:
    schemas = ResourceSchemas()
    for kind in [*CLOUD_CONTROL_KINDS, "AWS::IAM::Role"]:
        schema = schemas.get(kind, "eu-west-1")
        assert schema is not None
        for document in _cc_documents(aws_client, kind, "eu-west-1"):
            assert schema.validation_errors(document, as_read=True) == [], (kind, document)


def test_documents_carry_what_the_port_mappings_read(world: SeedSummary, aws_client: Callable[..., Any]) -> None:
    functions = {d["FunctionName"]: d for d in _cc_documents(aws_client, "AWS::Lambda::Function", "us-east-1")}
    orders = functions["demo-orders-api-us-east-1"]
    assert (orders["MemorySize"], orders["Timeout"], orders["Runtime"], orders["EphemeralStorage"]) == (
        512,
        30,
        "python3.12",
        {"Size": 512},
    )
    assert orders["Layers"] == world.names("AWS::Lambda::LayerVersion", "us-east-1")
    assert {"Key": "app", "Value": "orders-api"} in orders["Tags"]
    assert orders["Environment"] == {"Variables": {"TABLE": "orders", "LOG_LEVEL": "info"}}
    assert [name for name, d in functions.items() if d.get("Layers")] == [
        "demo-orders-api-us-east-1",
        "demo-payments-worker-us-east-1",
    ]

    topics = {d["TopicName"]: d for d in _cc_documents(aws_client, "AWS::SNS::Topic", "eu-west-1")}
    for topic, queues in world.subscriptions.items():
        if topic.endswith("eu-west-1"):
            subscribed = [s["Endpoint"].split(":")[-1] for s in topics[topic]["Subscription"] if s["Protocol"] == "sqs"]
            assert subscribed == queues

    services = _cc_documents(aws_client, "AWS::ECS::Service", "eu-west-1")
    assert {s["Cluster"].split("/")[-1] for s in services} == {"demo-cluster-eu-west-1"}
    web = next(s for s in services if s["ServiceName"] == "demo-web-eu-west-1")
    assert web["LaunchType"] == "FARGATE"
    assert web["LoadBalancers"][0]["ContainerPort"] == 80
    assert web["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]


def test_native_kinds_are_served_by_moto(world: SeedSummary, aws_client: Callable[..., Any]) -> None:
    region = "eu-west-1"
    reservations = aws_client("ec2", region).describe_instances()["Reservations"]
    instances = [instance for reservation in reservations for instance in reservation["Instances"]]
    assert sorted(i["InstanceId"] for i in instances) == sorted(world.names("AWS::EC2::Instance", region))
    names = sorted(next(t["Value"] for t in i["Tags"] if t["Key"] == "Name") for i in instances)
    assert names == ["demo-web-1-eu-west-1", "demo-web-2-eu-west-1"]

    elbv2 = aws_client("elbv2", region)
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    assert [b["LoadBalancerName"] for b in balancers] == world.names(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", region
    )
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancers[0]["LoadBalancerArn"])["Listeners"]
    assert sorted((listener["Protocol"], listener["Port"]) for listener in listeners) == [
        ("HTTP", 80),
        ("HTTPS", 443),
    ]
    tags = elbv2.describe_tags(ResourceArns=[balancers[0]["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert {"Key": "env", "Value": "demo"} in tags

    certificates = aws_client("acm", region).list_certificates()["CertificateSummaryList"]
    assert [c["CertificateArn"] for c in certificates] == world.names("AWS::ACM::Certificate", region)

    elasticache = aws_client("elasticache", region)
    clusters = elasticache.describe_cache_clusters()["CacheClusters"]
    assert [c["CacheClusterId"] for c in clusters] == world.names("AWS::ElastiCache::CacheCluster", region)
    cache_tags = elasticache.list_tags_for_resource(ResourceName=clusters[0]["ARN"])["TagList"]
    assert {"Key": "app", "Value": "sessions"} in cache_tags

    cloudformation = aws_client("cloudformation", region)
    stacks = cloudformation.describe_stacks()["Stacks"]
    assert [s["StackName"] for s in stacks] == world.names("AWS::CloudFormation::Stack", region)
    resources = cloudformation.describe_stack_resources(StackName=stacks[0]["StackName"])["StackResources"]
    assert [r["ResourceType"] for r in resources] == ["AWS::Logs::LogGroup"]


def test_seeding_again_creates_nothing_and_gives_the_same_summary(
    world: SeedSummary, local_aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    before = {region: len(aws_client("lambda", region).list_functions()["Functions"]) for region in REGIONS}
    again = seed_demo_world(local_aws.url, regions=["us-east-1"])
    assert again.already_seeded == ["us-east-1"]
    assert again.resources == {
        kind: {region: names for region, names in by_region.items() if region in ("us-east-1", "global")}
        for kind, by_region in world.resources.items()
        if "us-east-1" in by_region or "global" in by_region
    }
    assert {region: len(aws_client("lambda", region).list_functions()["Functions"]) for region in REGIONS} == before


def test_a_fresh_seed_is_identical_and_resources_n_adds_bulk_functions(
    world: SeedSummary, local_aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    core = world.count()
    local_aws.reset()
    again = seed_demo_world(local_aws.url, regions=REGIONS, resources=core + 5)
    bulk = {region: [n for n in again.names("AWS::Lambda::Function", region) if "bulk" in n] for region in REGIONS}
    assert bulk == {
        "us-east-1": ["demo-bulk-us-east-1-00000", "demo-bulk-us-east-1-00001", "demo-bulk-us-east-1-00002"],
        "eu-west-1": ["demo-bulk-eu-west-1-00000", "demo-bulk-eu-west-1-00001"],
    }
    for kind in world.resources:
        for region in (*REGIONS, "global"):
            names = [name for name in again.names(kind, region) if "bulk" not in name]
            assert names == world.names(kind, region), (kind, region)
    assert again.names("AWS::IAM::Role", "global")[-1] == "local-bulk-lambda-role"
    functions = aws_client("lambda", "eu-west-1").list_functions()["Functions"]
    assert len(functions) == 4 + 2
