"""A whole AWS Organization from one exporter, on the local stack: three accounts in two OUs.

The local AWS holds an organisation whose management account is the endpoint's default account
(the exporter's home), with `team-a` in the OU Workloads and `team-b` in the OU Sandbox, each with
the read role. Every account has Lambda functions of the same names; the mapping's identifier
carries the account (`.FunctionName + "@" + .__AccountId`), so each account has its own entities.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from port_aws_exporter.aws.account_sessions import AccountSessions, RoleSettings
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.identity import resolve_identity
from port_aws_exporter.cli.organization import run_organization_sync
from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.local.aws import OrganizationSummary, RunningLocalAws, seed_organization
from port_aws_exporter.local.aws.service_clients import in_account
from port_aws_exporter.port import PortClient
from port_aws_exporter.sync.accounts import OrganizationReport
from port_aws_exporter.sync.full_sync import SyncOptions

HOME = "123456789012"
READ_ALL = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:List*", "Resource": "*"}]}'
FUNCTIONS = 3
BLUEPRINT = "awsLambdaFunction"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _config(accounts: dict[str, Any], regions: list[str] | None = None, **aws: Any) -> ExporterConfig:
    mapping = {
        "identifier": '.FunctionName + "@" + .__AccountId',
        "blueprint": BLUEPRINT,
        "properties": {"arn": ".Arn", "runtime": ".Runtime"},
    }
    selector = {"regions": regions or ["us-east-1"], **aws}
    entry = {
        "kind": "AWS::Lambda::Function",
        "selector": {"aws": selector},
        "port": {"entity": {"mappings": [mapping]}},
    }
    return load_config({"accounts": accounts, "resources": [entry]})


@pytest.fixture
def organization(fresh_local_aws: RunningLocalAws, aws_env: dict[str, str]) -> OrganizationSummary:
    """Home + team-a (Workloads) + team-b (Sandbox), each with functions fn-00000.. in us-east-1."""
    summary = seed_organization(fresh_local_aws.url, members=2)
    for account in [HOME, *(member.account_id for member in summary.members)]:
        fresh_local_aws.bulk_create_lambda_functions(FUNCTIONS, region="us-east-1", account_id=account, prefix="fn")
    return summary


SyncAccounts = Callable[..., OrganizationReport]


@pytest.fixture
def sync_accounts(example_catalog: PortClient) -> SyncAccounts:
    def run(config: ExporterConfig, sessions: AccountSessions | None = None, **options: Any) -> OrganizationReport:
        clients = AwsClients(max_attempts=2)
        caller = resolve_identity(clients.session)
        delete_departed = options.pop("delete_departed", None)
        return run_organization_sync(
            config,
            clients,
            caller,
            example_catalog,
            SyncOptions(**options),
            delete_departed=delete_departed,
            sessions=sessions,
        )

    return run


def _owned(port: PortClient, account_id: str) -> list[str]:
    """The entities the exporter owns for one account (its `$datasource`)."""
    query = Installation(account_id, "us-east-1").owned_entities_query
    return sorted(entity["identifier"] for entity in port.iter_blueprint_entities(BLUEPRINT, query))


def _names(account_id: str, count: int = FUNCTIONS) -> list[str]:
    return [f"fn-{index:05d}@{account_id}" for index in range(count)]


def _client_in(service: str, aws: RunningLocalAws, account_id: str, region: str = "us-east-1") -> Any:
    """A client whose calls land in `account_id` (the local endpoint's admin path, not a role)."""
    client = boto3.client(
        service, region_name=region, endpoint_url=aws.url, aws_access_key_id="x", aws_secret_access_key="x"
    )
    return in_account(client, account_id)


def _lambda_in(aws: RunningLocalAws, account_id: str, region: str = "us-east-1") -> Any:
    return _client_in("lambda", aws, account_id, region)


def _iam_in(aws: RunningLocalAws, account_id: str, region: str = "us-east-1") -> Any:
    return _client_in("iam", aws, account_id, region)


def test_the_whole_organisation_writes_every_accounts_resources_with_its_datasource(
    organization: OrganizationSummary, sync_accounts: SyncAccounts, example_catalog: PortClient
) -> None:
    report = sync_accounts(_config({"organization": {}}))

    assert report.error_count == 0, report.as_dict()["errors"]
    team_a, team_b = (organization.member(name).account_id for name in ("team-a", "team-b"))
    assert {part.account_id: part.status for part in report.accounts} == {
        HOME: "synced",
        team_a: "synced",
        team_b: "synced",
    }
    for account in (HOME, team_a, team_b):
        assert _owned(example_catalog, account) == _names(account)
    entity = example_catalog.get_entity(BLUEPRINT, f"fn-00000@{team_a}")
    assert entity is not None
    assert f":{team_a}:function:fn-00000" in entity["properties"]["arn"]
    assert report.as_dict()["accounts"][1]["written"] == FUNCTIONS


def test_ou_ids_read_only_that_units_accounts(
    organization: OrganizationSummary,
    sync_accounts: SyncAccounts,
    example_catalog: PortClient,
    fresh_local_aws: RunningLocalAws,
) -> None:
    workloads = organization.units["Workloads"]
    report = sync_accounts(_config({"organization": {"ouIds": [workloads]}, "includeHome": False}))

    team_a = organization.member("team-a").account_id
    assert [part.account_id for part in report.accounts] == [team_a]
    assert _owned(example_catalog, team_a) == _names(team_a)
    assert _owned(example_catalog, organization.member("team-b").account_id) == []
    assert _owned(example_catalog, HOME) == []
    assert [call.role_arn for call in fresh_local_aws.sts.calls] == [
        f"arn:aws:iam::{team_a}:role/PortAwsExporterReadRole"
    ]


def test_an_account_whose_role_is_gone_is_reported_and_skipped_and_the_others_prune(
    organization: OrganizationSummary,
    sync_accounts: SyncAccounts,
    example_catalog: PortClient,
    fresh_local_aws: RunningLocalAws,
) -> None:
    config = _config({"organization": {}})
    sync_accounts(config)
    team_a, team_b = (organization.member(name).account_id for name in ("team-a", "team-b"))
    for account in (HOME, team_a, team_b):
        _lambda_in(fresh_local_aws, account).delete_function(FunctionName="fn-00002")
    _iam_in(fresh_local_aws, team_b).delete_role(RoleName="PortAwsExporterReadRole")

    report = sync_accounts(config)

    by_account = {part.account_id: part for part in report.accounts}
    assert by_account[team_b].status == "unavailable"
    assert "AccessDenied" in (by_account[team_b].reason or "")
    assert "PortAwsExporterReadRole" in (by_account[team_b].reason or "")
    warnings = report.as_dict()["warnings"]
    assert [warning["account"] for warning in warnings] == [team_b]
    assert report.error_count == 0  # a warning, not an error
    # The two others synced and pruned their deleted function; team-b's entities are all kept.
    assert _owned(example_catalog, HOME) == _names(HOME, 2)
    assert _owned(example_catalog, team_a) == _names(team_a, 2)
    assert _owned(example_catalog, team_b) == _names(team_b)
    assert report.deleted == 2


def test_a_resource_deleted_in_one_account_leaves_the_same_name_in_another(
    organization: OrganizationSummary,
    sync_accounts: SyncAccounts,
    example_catalog: PortClient,
    fresh_local_aws: RunningLocalAws,
) -> None:
    config = _config({"organization": {}})
    sync_accounts(config)
    team_a, team_b = (organization.member(name).account_id for name in ("team-a", "team-b"))
    _lambda_in(fresh_local_aws, team_a).delete_function(FunctionName="fn-00001")

    report = sync_accounts(config)

    assert report.deleted == 1
    assert example_catalog.get_entity(BLUEPRINT, f"fn-00001@{team_a}") is None
    assert example_catalog.get_entity(BLUEPRINT, f"fn-00001@{team_b}") is not None
    assert example_catalog.get_entity(BLUEPRINT, f"fn-00001@{HOME}") is not None


def test_a_suspended_accounts_entities_stay_unless_asked_to_delete_them(
    organization: OrganizationSummary,
    sync_accounts: SyncAccounts,
    example_catalog: PortClient,
    aws_client: Any,
) -> None:
    config = _config({"organization": {}})
    sync_accounts(config)
    team_b = organization.member("team-b").account_id
    aws_client("organizations").close_account(AccountId=team_b)

    kept = sync_accounts(config)

    part = next(part for part in kept.accounts if part.account_id == team_b)
    assert part.status == "departed"
    assert "SUSPENDED" in (part.reason or "") and "kept" in (part.reason or "")
    assert part.departed_entities == FUNCTIONS
    assert _owned(example_catalog, team_b) == _names(team_b)
    assert kept.error_count == 0

    # The share threshold alone never deletes them, even at 100 %.
    lenient = config.model_copy(update={"deletion_threshold": 1.0})
    sync_accounts(lenient)
    assert _owned(example_catalog, team_b) == _names(team_b)

    deleted = sync_accounts(config, delete_departed=True)
    assert next(part for part in deleted.accounts if part.account_id == team_b).departed_deleted == FUNCTIONS
    assert _owned(example_catalog, team_b) == []
    assert _owned(example_catalog, organization.member("team-a").account_id) != []


def test_star_regions_read_each_accounts_enabled_regions(
    organization: OrganizationSummary,
    sync_accounts: SyncAccounts,
    example_catalog: PortClient,
    fresh_local_aws: RunningLocalAws,
) -> None:
    team_a = organization.member("team-a").account_id
    fresh_local_aws.regions.enable(team_a, "ap-east-1")
    fresh_local_aws.bulk_create_lambda_functions(1, region="ap-east-1", account_id=team_a, prefix="hk")
    policy = {"allow": ["us-east-1", "eu-west-1", "ap-east-1"]}
    config = _config({"organization": {}, "includeHome": True}, ["*"], regionPolicy=policy)

    report = sync_accounts(config)

    assert report.error_count == 0, report.as_dict()["errors"]
    regions = {part.account_id: sorted(k.region for k in part.report.kinds) for part in report.accounts if part.report}
    assert regions[team_a] == ["ap-east-1", "eu-west-1", "us-east-1"]
    assert regions[HOME] == ["eu-west-1", "us-east-1"]  # ap-east-1 is an opt-in region the home has not enabled
    assert f"hk-00000@{team_a}" in _owned(example_catalog, team_a)


def test_a_named_region_not_enabled_in_an_account_is_a_warning_that_keeps_only_its_deletions(
    organization: OrganizationSummary,
    sync_accounts: SyncAccounts,
    example_catalog: PortClient,
    fresh_local_aws: RunningLocalAws,
) -> None:
    team_a = organization.member("team-a").account_id
    fresh_local_aws.regions.enable(team_a, "ap-east-1")
    config = _config({"organization": {}}, ["us-east-1", "ap-east-1"])
    sync_accounts(config)
    for account in (HOME, team_a):
        _lambda_in(fresh_local_aws, account).delete_function(FunctionName="fn-00000")

    report = sync_accounts(config)

    home = next(part for part in report.accounts if part.account_id == HOME)
    # AWS refuses the role's token in a region the account has not enabled: a denied region.
    assert [(w.region, w.reason.split(":")[0]) for w in home.all_warnings] == [("ap-east-1", "denied")]
    assert "UnrecognizedClientException" in home.all_warnings[0].reason
    assert BLUEPRINT in home.report.deletion_skipped  # type: ignore[union-attr]
    assert _owned(example_catalog, HOME) == _names(HOME)  # kept: ap-east-1 is unknown there
    assert _owned(example_catalog, team_a) == _names(team_a)[1:]  # team-a pruned its own


def test_each_account_assumes_its_role_once_per_run_and_a_warm_session_not_again(
    organization: OrganizationSummary, sync_accounts: SyncAccounts, fresh_local_aws: RunningLocalAws
) -> None:
    config = _config({"organization": {}}, ["us-east-1", "eu-west-1"])
    clients = AwsClients(max_attempts=2)
    assert config.accounts is not None
    sessions = AccountSessions(clients, resolve_identity(clients.session), RoleSettings.of(config.accounts))

    sync_accounts(config, sessions)
    sync_accounts(config, sessions)

    members = {member.account_id for member in organization.members}
    assert sessions.assume_role_calls() == dict.fromkeys(members, 1)
    assert len(fresh_local_aws.sts.calls) == 2


def test_sessions_near_expiry_are_renewed_before_use(
    organization: OrganizationSummary, aws_env: dict[str, str]
) -> None:
    clients = AwsClients(max_attempts=2)
    # 15 minutes is inside botocore's advisory refresh window: every use renews the credentials.
    sessions = AccountSessions(clients, resolve_identity(clients.session), RoleSettings(session_seconds=900))
    team_a = organization.member("team-a").account_id

    member = sessions.clients(team_a)
    for _ in range(2):
        member.client("lambda", "us-east-1").list_functions()

    assert sessions.assume_role_calls()[team_a] >= 2
    assert member.session.get_credentials().get_frozen_credentials().access_key


def test_an_external_id_is_sent_and_a_wrong_one_refused(
    fresh_local_aws: RunningLocalAws, sync_accounts: SyncAccounts, example_catalog: PortClient, aws_env: dict[str, str]
) -> None:
    summary = seed_organization(fresh_local_aws.url, members=1, external_id="port-secret-handshake")
    team_a = summary.member("team-a").account_id
    fresh_local_aws.bulk_create_lambda_functions(1, region="us-east-1", account_id=team_a, prefix="fn")

    wrong = sync_accounts(_config({"ids": [team_a], "includeHome": False, "externalId": "not-it"}))
    right = sync_accounts(_config({"ids": [team_a], "includeHome": False, "externalId": "port-secret-handshake"}))

    assert wrong.accounts[0].status == "unavailable"
    assert right.accounts[0].status == "synced"
    assert [call.external_id for call in fresh_local_aws.sts.calls] == ["not-it", "port-secret-handshake"]
    assert _owned(example_catalog, team_a) == _names(team_a, 1)


def test_a_govcloud_caller_builds_aws_us_gov_role_arns(
    fresh_local_aws: RunningLocalAws,
    aws_env: dict[str, str],
    sync_accounts: SyncAccounts,
    example_catalog: PortClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member = "210987654321"
    region = "us-gov-west-1"
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, region)
    iam = _iam_in(fresh_local_aws, member, region)
    iam.create_role(
        RoleName="PortAwsExporterReadRole",
        AssumeRolePolicyDocument='{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
        f'"Principal": {{"AWS": "arn:aws-us-gov:iam::{HOME}:root"}}}}]}}',
    )
    fresh_local_aws.bulk_create_lambda_functions(1, region=region, account_id=member, prefix="gov")

    report = sync_accounts(_config({"ids": [member], "includeHome": False}, [region]))

    assert [call.role_arn for call in fresh_local_aws.sts.calls] == [
        f"arn:aws-us-gov:iam::{member}:role/PortAwsExporterReadRole"
    ]
    assert report.accounts[0].status == "synced", report.as_dict()
    owned = Installation(member, region).owned_entities_query
    assert [e["identifier"] for e in example_catalog.iter_blueprint_entities(BLUEPRINT, owned)] == [
        f"gov-00000@{member}"
    ]


def test_the_member_role_template_makes_a_role_the_exporter_can_assume(
    fresh_local_aws: RunningLocalAws, sync_accounts: SyncAccounts, example_catalog: PortClient, aws_env: dict[str, str]
) -> None:
    member = "222233334444"
    iam = _iam_in(fresh_local_aws, member)
    policy = iam.create_policy(PolicyName="port-read", PolicyDocument=READ_ALL)["Policy"]["Arn"]
    template = (EXAMPLES.parent / "deploy" / "member-role.yaml").read_text()
    cloudformation = _client_in("cloudformation", fresh_local_aws, member)
    parameters = {"ExporterAccountId": HOME, "ExternalId": "handshake-42", "ReadPolicyArns": policy}
    cloudformation.create_stack(
        StackName="port-aws-exporter-member",
        TemplateBody=template,
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    fresh_local_aws.bulk_create_lambda_functions(2, region="us-east-1", account_id=member, prefix="fn")

    refused = sync_accounts(_config({"ids": [member], "includeHome": False}))
    report = sync_accounts(_config({"ids": [member], "includeHome": False, "externalId": "handshake-42"}))

    assert refused.accounts[0].status == "unavailable"  # the template requires the external id
    assert report.accounts[0].status == "synced", report.as_dict()
    assert _owned(example_catalog, member) == _names(member, 2)


def test_the_organisation_example_relates_every_entity_to_its_account_and_region(
    organization: OrganizationSummary, sync_accounts: SyncAccounts, example_catalog: PortClient
) -> None:
    config = load_config(EXAMPLES / "organization.config.json")

    report = sync_accounts(config)

    assert report.error_count == 0, report.as_dict()["errors"]
    accounts = {entity["identifier"]: entity for entity in example_catalog.iter_blueprint_entities("awsAccount")}
    team_a = organization.member("team-a")
    assert set(accounts) == {HOME, team_a.account_id, organization.member("team-b").account_id}
    assert accounts[team_a.account_id]["title"] == "team-a"
    assert accounts[team_a.account_id]["properties"]["organizationalUnitPath"] == "Root/Workloads"
    assert accounts[team_a.account_id]["properties"]["state"] == "ACTIVE"
    function = example_catalog.get_entity("awsLambdaFunction", f"fn-00000@{team_a.account_id}")
    assert function is not None
    assert (function["relations"]["account"], function["relations"]["region"]) == (team_a.account_id, "us-east-1")
    # The organisation's accounts are read once, at home, before any account's entities relate to them.
    assert report.organization is not None and report.organization.report is not None
    assert [kind.kind for kind in report.organization.report.kinds] == ["AWS::Organizations::Account"]
    roles = _owned_in(example_catalog, "awsIamRole", team_a.account_id)
    assert f"PortAwsExporterReadRole@{team_a.account_id}" in roles


def _owned_in(port: PortClient, blueprint: str, account_id: str) -> list[str]:
    query = Installation(account_id, "us-east-1").owned_entities_query
    return sorted(entity["identifier"] for entity in port.iter_blueprint_entities(blueprint, query))


def test_an_identifier_that_is_not_unique_across_accounts_is_a_warning(
    organization: OrganizationSummary, sync_accounts: SyncAccounts, example_catalog: PortClient
) -> None:
    config = _config({"organization": {}})
    plain = config.model_copy(deep=True)
    plain.resources[0].port.entity.mappings[0].identifier = ".FunctionName"

    report = sync_accounts(plain)

    shared = [warning.reason for _, warning in report.warnings]
    assert len(shared) == FUNCTIONS
    assert shared[0].startswith("awsLambdaFunction/fn-00000 was written by accounts ")
    assert "unique across accounts" in shared[0]
    assert report.error_count == 0
    assert sync_accounts(config).warnings == []


def test_an_interrupted_organisation_sync_opens_no_further_account_and_deletes_nothing(
    organization: OrganizationSummary, sync_accounts: SyncAccounts, example_catalog: PortClient, aws_client: Any
) -> None:
    config = _config({"organization": {}, "concurrency": 1})
    sync_accounts(config)
    team_a, team_b = (organization.member(name).account_id for name in ("team-a", "team-b"))
    aws_client("organizations").close_account(AccountId=team_b)
    stop = threading.Event()  # Ctrl-C, as `sync` sets it, right after the first page of the first account

    report = sync_accounts(config, delete_departed=True, should_stop=stop.is_set, on_progress=lambda _: stop.set())

    first, second = report.accounts
    assert (first.account_id, first.status) == (HOME, "synced")
    assert first.report is not None and first.report.interrupted
    assert (second.account_id, second.status, second.report) == (team_a, "interrupted", None)
    assert report.interrupted and report.as_dict()["interrupted"] is True and report.error_count == 0
    # The departed account is not looked at: asked to delete its entities, the run deleted none.
    assert team_b not in [part.account_id for part in report.accounts]
    assert _owned(example_catalog, team_b) == _names(team_b)
