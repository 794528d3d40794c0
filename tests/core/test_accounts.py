"""The pure pieces of multi-account syncs: the accounts config, account selection, partitions,
regions, and the account and region every document carries."""

from __future__ import annotations

import json

import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st

from port_aws_exporter.core.accounts import AccountSource, OrganizationAccount, select_accounts
from port_aws_exporter.core.config import AccountsConfig, AwsSelector, check_config
from port_aws_exporter.core.fetching import ResourceDocument, with_origin
from port_aws_exporter.core.kinds.registry import spec_for
from port_aws_exporter.core.partitions import PARTITIONS, UnknownPartitionError, partition_of_arn, partition_of_region
from port_aws_exporter.core.regions import AccountRegions, plan_regions, single_account_regions

HOME = "111111111111"
AWS = PARTITIONS["aws"]


def _accounts(**section: object) -> AccountsConfig:
    return AccountsConfig.model_validate(section)


def _problems(accounts: object) -> list[str]:
    return [str(problem) for problem in check_config({"resources": [], "accounts": accounts}).errors]


def test_accounts_defaults_and_what_must_be_given() -> None:
    accounts = _accounts(organization={})
    assert (accounts.role_name, accounts.external_id, accounts.include_home) == ("PortAwsExporterReadRole", None, True)
    assert accounts.organization is not None and accounts.organization.ou_ids is None
    assert _problems({}) == [
        "accounts: accounts needs 'organization' ({} for the whole organisation, or {\"ouIds\": [...]}) or 'ids' "
        "(a list of account ids), or leave 'accounts' out to read only this account"
    ]


def test_bad_accounts_values_say_what_they_should_look_like() -> None:
    problems = _problems({"ids": ["1234"], "organization": {"ouIds": ["sales"]}, "externalId": "has space"})
    assert problems == [
        "accounts.externalId: an external id is 2 to 1224 letters, digits or +=,.@:/_- (no spaces)",
        "accounts.ids[0]: an AWS account id is 12 digits, not '1234'",
        "accounts.organization.ouIds[0]: an organisational unit id looks like ou-ab12-cd34ef56 (or the root, r-ab12), "
        "not 'sales'",
    ]


def test_a_config_without_accounts_is_unchanged() -> None:
    report = check_config({"resources": []})
    assert report.valid and report.config is not None and report.config.accounts is None and not report.warnings


def test_star_stands_alone() -> None:
    entry = {"kind": "AWS::SQS::Queue", "selector": {"aws": {"regions": ["*", "us-east-1"]}}}
    entry["port"] = {"entity": {"mappings": [{"identifier": ".QueueName", "blueprint": "q"}]}}
    errors = check_config({"resources": [entry]}).errors
    assert [problem.path for problem in errors] == ["resources[0].selector.aws.regions"]


def test_selection_home_first_departed_and_left_out_apart() -> None:
    organization = [
        OrganizationAccount(HOME, "management"),
        OrganizationAccount("222222222222", "a"),
        OrganizationAccount("333333333333", "b", state="SUSPENDED"),
        OrganizationAccount("444444444444", "c", state="PENDING_ACTIVATION"),
        OrganizationAccount("555555555555", "d"),
    ]
    selection = select_accounts(
        _accounts(organization={}, exclude=["555555555555"], ids=["666666666666", "222222222222"]), HOME, organization
    )
    assert [(t.account_id, t.source) for t in selection.targets] == [
        (HOME, AccountSource.HOME),
        ("222222222222", AccountSource.ORGANIZATION),
        ("666666666666", AccountSource.IDS),
    ]
    assert [(d.account_id, d.state) for d in selection.departed] == [("333333333333", "SUSPENDED")]
    assert set(selection.left_out) == {"444444444444", "555555555555"}


def test_include_home_false_leaves_the_home_out_even_when_the_organisation_lists_it() -> None:
    selection = select_accounts(_accounts(organization={}, includeHome=False), HOME, [OrganizationAccount(HOME)])
    assert selection.targets == []
    assert "includeHome" in selection.left_out[HOME]


def test_an_explicit_id_the_organisation_calls_closed_has_departed() -> None:
    explicit = {"222222222222": OrganizationAccount("222222222222", state="CLOSED"), "333333333333": None}
    selection = select_accounts(_accounts(ids=["222222222222", "333333333333"]), HOME, None, explicit)
    assert [t.account_id for t in selection.targets] == [HOME, "333333333333"]
    assert [d.account_id for d in selection.departed] == ["222222222222"]


@given(st.lists(st.sampled_from(["222222222222", "333333333333", HOME]), max_size=6))
def test_an_account_is_read_at_most_once(ids: list[str]) -> None:
    organization = [OrganizationAccount(account) for account in ids]
    selection = select_accounts(_accounts(organization={}, ids=ids or ["222222222222"]), HOME, organization)
    targets = [target.account_id for target in selection.targets]
    assert len(targets) == len(set(targets))


def test_partitions_agree_with_botocore() -> None:
    endpoints = botocore.session.get_session().get_component("data_loader").load_data("endpoints")
    known = {partition["partition"]: partition for partition in endpoints["partitions"]}
    for name, partition in PARTITIONS.items():
        data = known[name]
        iam = data["services"]["iam"]["endpoints"][data["services"]["iam"]["partitionEndpoint"]]
        assert partition.global_region == iam["credentialScope"]["region"], name
        for region in data["regions"]:
            assert partition_of_region(region) is partition, region


def test_partition_of_an_arn() -> None:
    assert partition_of_arn("arn:aws-us-gov:sts::123456789012:assumed-role/r/s").name == "aws-us-gov"
    assert partition_of_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:f").role_arn("1" * 12, "R") == (
        "arn:aws-cn:iam::111111111111:role/R"
    )
    with pytest.raises(UnknownPartitionError, match="aws-iso"):
        partition_of_arn("arn:aws-iso:sts::123456789012:user/x")


REGIONS = AccountRegions(
    offered=frozenset({"us-east-1", "eu-west-1", "ap-east-1", "me-south-1"}),
    enabled=frozenset({"us-east-1", "eu-west-1", "ap-east-1"}),
)


def _plan(kind: str, account: AccountRegions | None = REGIONS, **aws: object) -> tuple[list[str], list[str]]:
    plan = plan_regions(
        AwsSelector.model_validate(aws),
        spec_for(kind),
        partition=AWS,
        default_region="eu-west-1",
        account_regions=account,
        regions_unknown_reason="denied",
    )
    return plan.regions, [f"{skip.region}: {skip.reason.split(':')[0]}" for skip in plan.skipped]


def test_region_plans() -> None:
    queue = "AWS::SQS::Queue"
    assert _plan(queue, regions=["*"]) == (["ap-east-1", "eu-west-1", "us-east-1"], [])
    assert _plan(queue, regions=["*"], regionPolicy={"deny": ["ap-east-1"]}) == (["eu-west-1", "us-east-1"], [])
    assert _plan(queue, regions=["*"], regionPolicy={"allow": ["us-east-1", "me-south-1"]}) == (["us-east-1"], [])
    assert _plan(queue) == (["eu-west-1"], [])
    assert _plan(queue, regions=["us-east-1", "me-south-1", "us-gov-west-1", "xx-east-9"]) == (
        ["us-east-1"],
        ["me-south-1: not enabled", "us-gov-west-1: not offered", "xx-east-9: not offered"],
    )
    assert _plan(queue, None, regions=["*"]) == ([], ["*: the regions enabled in the account are unknown (denied)"])
    assert _plan(queue, None, regions=["us-east-1"]) == (["us-east-1"], [])


def test_global_kinds_are_read_once_in_the_partitions_global_region() -> None:
    for kind in ("AWS::IAM::Role", "AWS::S3::Bucket", "AWS::Route53::HostedZone", "AWS::Organizations::Account"):
        assert _plan(kind, regions=["eu-west-1", "us-east-1"]) == (["us-east-1"], []), kind
    gov = plan_regions(
        AwsSelector(),
        spec_for("AWS::IAM::Role"),
        partition=PARTITIONS["aws-us-gov"],
        default_region="x",
        account_regions=None,
    )
    assert gov.regions == ["us-gov-west-1"]


def test_single_account_regions_keep_todays_reading_and_add_star() -> None:
    assert single_account_regions(AwsSelector.model_validate({"regions": ["us-east-1"]}), None, "eu-west-1") == [
        "us-east-1"
    ]
    assert single_account_regions(AwsSelector(), None, "eu-west-1") == ["eu-west-1"]
    assert single_account_regions(AwsSelector.model_validate({"regions": ["*"]}), REGIONS, "x") == [
        "ap-east-1",
        "eu-west-1",
        "us-east-1",
    ]


@given(
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=5),
    st.sampled_from(["", " ", "\n  "]),
)
def test_origin_in_text_equals_origin_in_a_dict(properties: dict[str, object], padding: str) -> None:
    text = json.dumps(properties, indent=1 if padding else None) + padding
    from_text = with_origin(ResourceDocument("x", properties_text=text), "123456789012", "eu-west-1").as_dict()
    from_dict = with_origin(ResourceDocument("x", properties=properties), "123456789012", "eu-west-1").as_dict()
    assert from_text == from_dict
    assert (from_text["__AccountId"], from_text["__Region"]) == ("123456789012", "eu-west-1")
