"""`sync` and `demo` as a user runs them: real processes, the local stack."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from port_aws_exporter.local.aws import RunningLocalAws
from tests.cli_runner import cli_env, run_cli

REPORT_KEYS = {"kinds", "deleted", "deletion_skipped", "errors", "seconds"}
KIND_KEYS = {"index", "kind", "region", "listed", "written", "failed", "filtered"}


def test_sync_to_a_local_catalog_file_prints_the_report_contract(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    for n in range(3):
        aws_client("sqs").create_queue(QueueName=f"cli-queue-{n}")
    config = tmp_path / "config.json"
    mapping = {"identifier": ".QueueName", "blueprint": "queue", "properties": {"arn": ".Arn"}}
    config.write_text(
        json.dumps({"resources": [{"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": [mapping]}}}]})
    )
    blueprint = tmp_path / "queue.json"
    blueprint.write_text(
        json.dumps({"identifier": "queue", "title": "Queue", "schema": {"properties": {"arn": {"type": "string"}}}})
    )
    env = cli_env(aws_env)
    db = tmp_path / "catalog.db"
    applied = run_cli(["catalog", "blueprints", "apply", "--db", str(db), str(blueprint)], env, tmp_path)
    assert applied.returncode == 0, applied.stderr

    result = run_cli(["sync", "--config", str(config), "--local-catalog", str(db), "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= REPORT_KEYS
    [kind] = report["kinds"]
    assert set(kind) >= KIND_KEYS
    assert (kind["index"], kind["kind"], kind["region"], kind["listed"], kind["written"], kind["failed"]) == (
        0,
        "AWS::SQS::Queue",
        "us-east-1",
        3,
        3,
        0,
    )
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    listed = run_cli(["catalog", "list", "--db", str(db), "--blueprint", "queue", "--json"], env, tmp_path)
    assert sorted(e["identifier"] for e in json.loads(listed.stdout)) == ["cli-queue-0", "cli-queue-1", "cli-queue-2"]

    table = run_cli(["sync", "--config", str(config), "--local-catalog", str(db)], env, tmp_path)
    assert table.returncode == 0, table.stderr
    # The second run finds every entity as mapped: it writes none.
    assert (
        "3 resources listed, 0 entities written (0 new, 0 changed, 3 unchanged), 0 failures, 0 stale entities deleted"
        in table.stdout
    )
    budgeted = {**env, "PORT_MAX_REQUESTS_PER_MINUTE": "600"}
    rewritten = run_cli(
        ["sync", "--config", str(config), "--local-catalog", str(db), "--write-all"], budgeted, tmp_path
    )
    assert "3 entities written (0 new, 0 changed, 3 unchanged)" in rewritten.stdout
    refused = run_cli(
        ["sync", "--config", str(config), "--local-catalog", str(db)],
        {**budgeted, "PORT_MAX_REQUESTS_PER_MINUTE": "0"},
        tmp_path,
    )
    assert refused.returncode == 2 and "--max-requests-per-minute" in refused.stderr


def test_sync_without_port_credentials_or_local_catalog_says_how_to_give_either(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    mapping = {"identifier": ".QueueName", "blueprint": "queue"}
    config.write_text(
        json.dumps({"resources": [{"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": [mapping]}}}]})
    )
    result = run_cli(["sync", "--config", str(config)], cli_env(aws_env), tmp_path)
    assert result.returncode == 1
    assert "PORT_CLIENT_ID" in result.stderr and "--local-catalog" in result.stderr
    assert not (tmp_path / "catalog.db").exists()  # never a silent local write


def test_the_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "AWS_"))}
    db = tmp_path / "demo-catalog.db"
    project = Path(__file__).resolve().parents[2]
    result = run_cli(["demo", "--catalog-db", str(db), "--json"], env, project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == [] and report["deleted"] == 0
    # Three accounts, each with the demo world (S3 and IAM listed once per account); a member also has
    # the OrganizationAccountAccessRole that Organizations creates and the exporter's read role.
    assert [(a["status"], a["listed"]) for a in report["accounts"]] == [("synced", 50), ("synced", 52), ("synced", 52)]
    assert {kind["account"] for kind in report["kinds"]} == {account["account"] for account in report["accounts"]}
    assert db.exists()
    listed = run_cli(["catalog", "list", "--db", str(db), "--blueprint", "awsSnsTopic", "--json"], env, project)
    topics = json.loads(listed.stdout)
    assert len(topics) == 3 * 4 and all(topic["relations"]["queues"] for topic in topics)
    # The live part: every change reached the catalog through EventBridge, SQS and the worker.
    live = report["live"]
    assert [(e["kind"], e["action"]) for e in live][:3] == [
        ("AWS::Lambda::Function", a) for a in ("create", "update", "tag")
    ]
    assert all(event["applied"] for event in live), live
    assert live[0]["events"][-1] == "CreateFunction20150331"
    home, *members = (account["account"] for account in report["accounts"])
    assert [e["effect"] for e in live if e["account"] == home][-1] == "awsDynamoDbTable/demo-live-carts deleted"
    # Then two member accounts' changes, through raw events forwarded to the management account's bus.
    from_members = [e for e in live if e["account"] != home]
    assert {e["account"] for e in from_members} == set(members)
    assert [e["action"] for e in from_members] == ["create", "create", "tag", "update", "delete", "delete"]
    functions = run_cli(
        ["catalog", "list", "--db", str(db), "--blueprint", "awsLambdaFunction", "--json"], env, project
    )
    identifiers = {entity["identifier"] for entity in json.loads(functions.stdout)}
    assert "demo-live-checkout" not in identifiers and "team-b-live-checkout" not in identifiers
    # One awsAccount entity per account; IAM roles of the same name in several accounts stay apart.
    accounts = run_cli(["catalog", "list", "--db", str(db), "--blueprint", "awsAccount", "--json"], env, project)
    assert sorted(entity["identifier"] for entity in json.loads(accounts.stdout)) == sorted([home, *members])
    roles = run_cli(["catalog", "list", "--db", str(db), "--blueprint", "awsIamRole", "--json"], env, project)
    role_ids = [entity["identifier"] for entity in json.loads(roles.stdout)]
    assert f"PortAwsExporterReadRole@{members[0]}" in role_ids and f"PortAwsExporterReadRole@{members[1]}" in role_ids
    assert not [warning for warning in report.get("warnings", []) if "several accounts" in str(warning)]


def test_local_seed_accounts_then_sync_the_organisation(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, tmp_path: Path
) -> None:
    env = cli_env(aws_env)
    seeded = run_cli(["local", "seed", "--accounts", "2", "--regions", "us-east-1", "--json"], env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    organization = json.loads(seeded.stdout)
    members = [member["account_id"] for member in organization["members"]]
    assert [member["unit"] for member in organization["members"]] == ["Workloads", "Sandbox"]
    assert set(organization["resources"]) == {organization["management_account_id"], *members}
    config = tmp_path / "config.json"
    mapping = {"identifier": '.QueueName + "@" + .__AccountId', "blueprint": "queue", "properties": {"arn": ".Arn"}}
    entry = {
        "kind": "AWS::SQS::Queue",
        "selector": {"aws": {"regions": ["us-east-1"]}},
        "port": {"entity": {"mappings": [mapping]}},
    }
    config.write_text(json.dumps({"accounts": {"organization": {}}, "resources": [entry]}))
    blueprint = tmp_path / "queue.json"
    blueprint.write_text(
        json.dumps({"identifier": "queue", "title": "Queue", "schema": {"properties": {"arn": {"type": "string"}}}})
    )
    db = tmp_path / "catalog.db"
    assert run_cli(["catalog", "blueprints", "apply", "--db", str(db), str(blueprint)], env, tmp_path).returncode == 0

    result = run_cli(["sync", "--config", str(config), "--local-catalog", str(db), "--json"], env, tmp_path)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= REPORT_KEYS
    assert [(a["account"], a["status"], a["written"]) for a in report["accounts"]] == [
        (organization["management_account_id"], "synced", 4),
        *sorted((member, "synced", 4) for member in members),
    ]
    assert {kind["account"] for kind in report["kinds"]} == {organization["management_account_id"], *members}
    table = run_cli(["sync", "--config", str(config), "--local-catalog", str(db)], env, tmp_path)
    assert table.returncode == 0, table.stderr
    # The second run finds every entity as mapped.
    assert "3 accounts: 12 resources listed, 0 entities written (12 unchanged), 0 failures" in table.stdout
