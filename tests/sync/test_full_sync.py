"""The full sync against the local stack: the demo world in, exactly the expected catalog out."""

from __future__ import annotations

from typing import Any

from port_aws_exporter.local.aws import SeedSummary
from port_aws_exporter.port import PortClient
from tests.sync.conftest import SyncRunner, entities_by_id, identifiers

# Blueprint of the examples → the demo world's kind that feeds it.
EXPECTED_BLUEPRINTS = {
    "awsSqsQueue": "AWS::SQS::Queue",
    "awsSnsTopic": "AWS::SNS::Topic",
    "awsLambdaFunction": "AWS::Lambda::Function",
    "awsLambdaLayer": "AWS::Lambda::LayerVersion",
    "awsS3Bucket": "AWS::S3::Bucket",
    "awsDynamoDbTable": "AWS::DynamoDB::Table",
    "awsEcsCluster": "AWS::ECS::Cluster",
    "awsEcsService": "AWS::ECS::Service",
    "awsEcrRepository": "AWS::ECR::Repository",
    "awsEc2Instance": "AWS::EC2::Instance",
    "awsLoadBalancer": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "awsAcmCertificate": "AWS::ACM::Certificate",
    "awsCacheCluster": "AWS::ElastiCache::CacheCluster",
    "awsCloudFormationStack": "AWS::CloudFormation::Stack",
    "awsIamRole": "AWS::IAM::Role",
}


def test_the_demo_world_becomes_exactly_the_expected_catalog(
    demo_world: SeedSummary, run_sync: SyncRunner, example_catalog: PortClient
) -> None:
    outcome = run_sync()
    report = outcome.report
    assert outcome.finished
    assert report.errors == [] and report.error_count == 0
    for blueprint, kind in EXPECTED_BLUEPRINTS.items():
        assert identifiers(example_catalog, blueprint) == sorted(demo_world.names(kind)), blueprint

    # Cloud Control kinds: properties as mapped from the CloudFormation shape.
    functions = entities_by_id(example_catalog, "awsLambdaFunction")
    orders = functions["demo-orders-api-us-east-1"]
    assert orders["properties"]["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:demo-orders-api-us-east-1"
    assert orders["properties"]["runtime"].startswith(("python", "nodejs"))
    assert isinstance(orders["properties"]["memorySize"], int)
    assert orders["relations"]["region"] == "us-east-1"
    with_layers = [f for f in functions.values() if f["relations"]["layers"]]
    assert sorted({layer for f in with_layers for layer in f["relations"]["layers"]}) == sorted(
        demo_world.names("AWS::Lambda::LayerVersion")
    )

    # SNS → SQS relations: exactly the subscriptions the demo world made.
    topics = entities_by_id(example_catalog, "awsSnsTopic")
    for topic, queues in demo_world.subscriptions.items():
        assert sorted(topics[topic]["relations"]["queues"]) == sorted(queues), topic
        assert topics[topic]["relations"]["region"] in ("us-east-1", "eu-west-1")

    services = entities_by_id(example_catalog, "awsEcsService")
    assert services["demo-web-eu-west-1"]["relations"]["cluster"] == "demo-cluster-eu-west-1"

    # Native kinds: the SDK describe shapes.
    instances = entities_by_id(example_catalog, "awsEc2Instance")
    for instance_id in demo_world.names("AWS::EC2::Instance", "eu-west-1"):
        instance = instances[instance_id]
        assert instance["properties"]["state"] == "running"
        assert instance["properties"]["availabilityZone"].startswith("eu-west-1")
        assert instance["relations"]["region"] == "eu-west-1"
    balancer = entities_by_id(example_catalog, "awsLoadBalancer")["demo-alb-us-east-1"]
    assert balancer["properties"]["listenerPorts"] == [80, 443]
    assert balancer["properties"]["arn"].startswith("arn:aws:elasticloadbalancing:us-east-1:123456789012:")
    assert {"Key": "app", "Value": "web"} in balancer["properties"]["tags"]
    certificate_arn = demo_world.names("AWS::ACM::Certificate", "us-east-1")[0]
    certificate = entities_by_id(example_catalog, "awsAcmCertificate")[certificate_arn]
    assert certificate["relations"]["region"] == "us-east-1"
    assert certificate["properties"]["domainName"]
    cache = entities_by_id(example_catalog, "awsCacheCluster")["demo-cache-eu-west-1"]
    assert cache["properties"]["engine"] == "redis"
    assert {"Key": "app", "Value": "sessions"} in cache["properties"]["tags"]
    stack = entities_by_id(example_catalog, "awsCloudFormationStack")["demo-stack-us-east-1"]
    assert stack["properties"]["status"] == "CREATE_COMPLETE"
    assert stack["properties"]["resourceCount"] >= 1

    # The report: per kind and region, listed resources and written entities.
    by_key = {(k.kind, k.region): k for k in report.kinds}
    lambda_east = by_key[("AWS::Lambda::Function", "us-east-1")]
    assert lambda_east.listed == len(demo_world.names("AWS::Lambda::Function", "us-east-1"))
    assert lambda_east.written >= lambda_east.listed
    assert by_key[("AWS::IAM::Role", "us-east-1")].listed == 2
    assert report.deleted == 0 and report.deletion_skipped == {}


def test_a_second_run_changes_nothing_and_deletes_nothing(
    demo_world: SeedSummary, run_sync: SyncRunner, example_catalog: PortClient
) -> None:
    run_sync()
    before = {bp: entities_by_id(example_catalog, bp) for bp in EXPECTED_BLUEPRINTS}
    second = run_sync().report
    assert second.deleted == 0 and second.error_count == 0
    after = {bp: entities_by_id(example_catalog, bp) for bp in EXPECTED_BLUEPRINTS}
    strip = {"updatedAt", "createdAt"}

    def comparable(catalog: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
        return {
            bp: {i: {k: v for k, v in e.items() if k not in strip} for i, e in es.items()} for bp, es in catalog.items()
        }

    assert comparable(after) == comparable(before)
