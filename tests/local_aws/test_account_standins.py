"""The local AWS answers AssumeRole and the regions of an account as AWS does, not as moto does."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.aws.organization_seed import create_read_role

HOME = "123456789012"
MEMBER = "222233334444"


def test_describe_regions_lists_the_callers_partition_and_what_its_account_enabled(
    fresh_local_aws: RunningLocalAws, aws_client: Any
) -> None:
    ec2 = aws_client("ec2")
    enabled = {region["RegionName"] for region in ec2.describe_regions()["Regions"]}
    every = {region["RegionName"]: region["OptInStatus"] for region in ec2.describe_regions(AllRegions=True)["Regions"]}

    assert {"us-east-1", "eu-west-1"} <= enabled and "ap-east-1" not in enabled
    assert every["ap-east-1"] == "not-opted-in" and every["us-east-1"] == "opt-in-not-required"
    assert not any(name.startswith(("us-gov-", "cn-")) for name in every)
    gov = {region["RegionName"] for region in aws_client("ec2", region="us-gov-west-1").describe_regions()["Regions"]}
    assert gov == {"us-gov-east-1", "us-gov-west-1"}

    fresh_local_aws.regions.enable(HOME, "ap-east-1")
    filtered = ec2.describe_regions(Filters=[{"Name": "opt-in-status", "Values": ["opted-in"]}])["Regions"]
    assert [region["RegionName"] for region in filtered] == ["ap-east-1"]


def test_a_call_in_a_region_the_account_has_not_enabled_is_refused(
    fresh_local_aws: RunningLocalAws, aws_client: Any
) -> None:
    with pytest.raises(ClientError) as refused:
        aws_client("lambda", region="ap-east-1").list_functions()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    fresh_local_aws.regions.enable(HOME, "ap-east-1")
    assert aws_client("lambda", region="ap-east-1").list_functions()["Functions"] == []


def test_assume_role_needs_the_role_its_trust_and_its_external_id(
    fresh_local_aws: RunningLocalAws, aws_client: Any
) -> None:
    sts = aws_client("sts")
    arn = f"arn:aws:iam::{MEMBER}:role/PortAwsExporterReadRole"
    with pytest.raises(ClientError) as missing:
        sts.assume_role(RoleArn=arn, RoleSessionName="tests")
    assert missing.value.response["Error"]["Code"] == "AccessDenied"
    assert f"is not authorized to perform: sts:AssumeRole on resource: {arn}" in str(missing.value)

    create_read_role(fresh_local_aws.url, MEMBER, "999999999999", external_id="xyz")
    for kwargs in ({}, {"ExternalId": "xyz"}):  # trusted: another account only
        with pytest.raises(ClientError):
            sts.assume_role(RoleArn=arn, RoleSessionName="tests", **kwargs)
    create_read_role(fresh_local_aws.url, MEMBER, HOME, "TrustsHome", external_id="xyz")
    trusted = arn.replace("PortAwsExporterReadRole", "TrustsHome")
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=trusted, RoleSessionName="tests", ExternalId="wrong")
    credentials = sts.assume_role(RoleArn=trusted, RoleSessionName="tests", ExternalId="xyz")["Credentials"]
    assert credentials["AccessKeyId"]
    assert [(call.role_arn, call.allowed) for call in fresh_local_aws.sts.calls][-1] == (trusted, True)
    assert [call.reason for call in fresh_local_aws.sts.calls][:1] == [
        f"no role PortAwsExporterReadRole in account {MEMBER}"
    ]
