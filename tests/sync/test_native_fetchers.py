"""Native fetchers: describe shapes, each read in its own region, list parameters, not-found as None."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ResourceFetcher
from port_aws_exporter.core.kinds.registry import spec_for
from port_aws_exporter.local.aws import RunningLocalAws

REGION = "eu-west-1"  # not the default region: reads must go to the resource's own region


def _fetcher(kind: str) -> ResourceFetcher:
    return fetcher_for(spec_for(kind), AwsClients(max_attempts=2))


def _listed(fetcher: ResourceFetcher, selector: AwsSelector | None = None) -> dict[str, dict[str, Any]]:
    documents = {}
    for page in fetcher.list_pages(REGION, selector or AwsSelector()):
        for item in page.resources:
            assert item.document is not None
            documents[item.identifier] = item.document.as_dict()
    return documents


@pytest.fixture(scope="module")
def native_world(local_aws: RunningLocalAws) -> dict[str, Any]:
    """Built once for the module (EC2's first call after a reset costs seconds); tests only read it."""

    local_aws.reset()

    def aws_client(service: str, region: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=local_aws.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    ec2 = aws_client("ec2", REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def instance(app: str) -> str:
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": app}]}]
        return str(
            ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=tags)["Instances"][0][
                "InstanceId"
            ]
        )

    subnets = [subnet["SubnetId"] for subnet in ec2.describe_subnets()["Subnets"]][:2]
    elb = aws_client("elbv2", REGION)
    balancer = elb.create_load_balancer(Name="native-lb", Subnets=subnets, Tags=[{"Key": "team", "Value": "edge"}])
    arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = elb.create_target_group(Name="native-tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    action = [{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}]
    elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=8080, DefaultActions=action)
    template = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    aws_client("cloudformation", REGION).create_stack(StackName="native-stack", TemplateBody=template)
    certificate = aws_client("acm", REGION).request_certificate(DomainName="native.example.com")["CertificateArn"]
    aws_client("elasticache", REGION).create_cache_cluster(
        CacheClusterId="native-cache", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )
    return {"web": instance("web"), "batch": instance("batch"), "lb": arn, "certificate": certificate}


def test_ec2_instances_in_describe_shape_filtered_by_list_parameters(
    native_world: dict[str, Any], aws_env: dict[str, str]
) -> None:
    fetcher = _fetcher("AWS::EC2::Instance")
    everything = _listed(fetcher)
    assert set(everything) == {native_world["web"], native_world["batch"]}
    web = everything[native_world["web"]]
    assert web["State"]["Name"] == "running" and web["Placement"]["AvailabilityZone"].startswith(REGION)
    assert isinstance(web["LaunchTime"], str) and web["LaunchTime"].startswith("20")  # datetimes as ISO text
    only_web = _listed(fetcher, AwsSelector(list_parameters={"Filters": [{"Name": "tag:app", "Values": ["web"]}]}))
    assert set(only_web) == {native_world["web"]}
    read = fetcher.read(REGION, native_world["batch"])
    assert read is not None and read.as_dict()["InstanceId"] == native_world["batch"]
    assert fetcher.read(REGION, "i-0123456789abcdef0") is None


def test_load_balancers_with_attributes_listeners_and_tags_read_by_name_or_arn(
    native_world: dict[str, Any], aws_env: dict[str, str]
) -> None:
    fetcher = _fetcher("AWS::ElasticLoadBalancingV2::LoadBalancer")
    [balancer] = _listed(fetcher).values()
    assert balancer["LoadBalancerName"] == "native-lb"
    assert [listener["Port"] for listener in balancer["Listeners"]] == [8080]
    assert {"Key": "team", "Value": "edge"} in balancer["Tags"]
    assert {attribute["Key"] for attribute in balancer["Attributes"]} >= {"deletion_protection.enabled"}
    by_name, by_arn = fetcher.read(REGION, "native-lb"), fetcher.read(REGION, native_world["lb"])
    assert by_name is not None and by_arn is not None and by_name.as_dict() == by_arn.as_dict()
    assert fetcher.read(REGION, "no-such-lb") is None


def test_acm_cloudformation_and_elasticache(native_world: dict[str, Any], aws_env: dict[str, str]) -> None:
    certificates = _listed(_fetcher("AWS::ACM::Certificate"))
    assert certificates[native_world["certificate"]]["DomainName"] == "native.example.com"
    [stack] = _listed(_fetcher("AWS::CloudFormation::Stack")).values()
    assert stack["StackName"] == "native-stack" and stack["StackStatus"] == "CREATE_COMPLETE"
    assert [resource["LogicalResourceId"] for resource in stack["StackResources"]] == ["Queue"]
    assert stack["TemplateBody"] == "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"  # JSON templates as YAML
    [cache] = _listed(_fetcher("AWS::ElastiCache::CacheCluster")).values()
    assert cache["CacheClusterId"] == "native-cache" and cache["Engine"] == "redis" and cache["Tags"] == []
    for kind, missing in [
        ("AWS::ACM::Certificate", native_world["certificate"][:-4] + "0000"),
        ("AWS::CloudFormation::Stack", "no-such-stack"),
        ("AWS::ElastiCache::CacheCluster", "no-such-cache"),
    ]:
        assert _fetcher(kind).read(REGION, missing) is None, kind
