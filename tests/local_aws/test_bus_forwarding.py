"""The local EventBridge forwards events between accounts' buses as AWS does, and the generated raw
templates deploy on it: a change in a member account reaches the exporter's queue whole, with the
member account in `account`, only when the central bus's policy admits that account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from port_aws_exporter.local.aws import OrganizationSummary, RunningLocalAws, seed_organization
from port_aws_exporter.local.aws.changes.make_change import make_change
from port_aws_exporter.local.aws.rule_deployment import deploy_rule_template
from port_aws_exporter.local.aws.service_clients import local_client
from tests.cli_runner import generate_raw_rules_template

HOME = "123456789012"
REGION = "us-east-1"


def drain(endpoint_url: str, queue_url: str) -> list[dict[str, Any]]:
    sqs = local_client(endpoint_url, "sqs", REGION)
    bodies: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_member_changes_reach_the_central_queue_whole_only_when_the_bus_admits_them(
    fresh_local_aws: RunningLocalAws, aws_env: dict[str, str], tmp_path: Path
) -> None:
    organization: OrganizationSummary = seed_organization(fresh_local_aws.url, members=2)
    team_a, team_b = (organization.member(name).account_id for name in ("team-a", "team-b"))
    central = deploy_rule_template(
        fresh_local_aws.url, generate_raw_rules_template(tmp_path, "central"), "raw-events", region=REGION
    )
    for member in (team_a, team_b):
        deploy_rule_template(
            fresh_local_aws.url,
            generate_raw_rules_template(tmp_path, "member"),
            "raw-events",
            parameters={"CentralAccountId": HOME},
            region=REGION,
            account_id=member,
        )
    # The central template's bus policy, for team-a only (MemberAccountIds).
    local_client(fresh_local_aws.url, "events", REGION).put_permission(
        EventBusName="default", Action="events:PutEvents", Principal=team_a, StatementId="PortAWSExporterMemberAccounts"
    )

    admitted = make_change(fresh_local_aws.url, "AWS::SQS::Queue", "create", "fwd-a", region=REGION, account_id=team_a)
    refused = make_change(fresh_local_aws.url, "AWS::SQS::Queue", "create", "fwd-b", region=REGION, account_id=team_b)
    home = make_change(fresh_local_aws.url, "AWS::SQS::Queue", "create", "fwd-home", region=REGION)

    bodies = drain(fresh_local_aws.url, central.queue_url)
    by_id = {body["id"]: body for body in bodies}
    [forwarded] = [by_id[event["id"]] for event in admitted.events]
    assert forwarded["account"] == team_a and forwarded["detail"]["eventName"] == "CreateQueue"
    assert forwarded["detail"]["responseElements"] == admitted.events[0]["detail"]["responseElements"]
    assert not any(event["id"] in by_id for event in refused.events)
    assert [by_id[event["id"]]["account"] for event in home.events] == [HOME]


def test_the_organisation_is_admitted_by_its_id(
    fresh_local_aws: RunningLocalAws, aws_env: dict[str, str], tmp_path: Path
) -> None:
    organization = seed_organization(fresh_local_aws.url, members=1)
    member = organization.members[0].account_id
    central = deploy_rule_template(
        fresh_local_aws.url, generate_raw_rules_template(tmp_path, "central"), "raw-events", region=REGION
    )
    deploy_rule_template(
        fresh_local_aws.url,
        generate_raw_rules_template(tmp_path, "member"),
        "raw-events",
        parameters={"CentralAccountId": HOME},
        region=REGION,
        account_id=member,
    )
    local_client(fresh_local_aws.url, "events", REGION).put_permission(
        EventBusName="default",
        Action="events:PutEvents",
        Principal="*",
        StatementId="PortAWSExporterOrganization",
        Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": organization.organization_id},
    )

    change = make_change(
        fresh_local_aws.url, "AWS::Lambda::Function", "create", "org-fn", region=REGION, account_id=member
    )

    accounts = {body["id"]: body["account"] for body in drain(fresh_local_aws.url, central.queue_url)}
    assert [accounts.get(event["id"]) for event in change.events if event["source"] == "aws.lambda"] == [member]
