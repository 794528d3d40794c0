"""Stale deletion: what is gone from AWS goes from the catalog, but only when it is safe."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from tests.fixtures.local_catalog import make_port_client
from tests.sync.conftest import SyncRunner, entities_by_id, identifiers

REGIONS = ["us-east-1", "eu-west-1"]


def _config(**queue_properties: str) -> ExporterConfig:
    def entry(kind: str, identifier: str, blueprint: str, properties: dict[str, str]) -> dict[str, Any]:
        return {
            "kind": kind,
            "selector": {"aws": {"regions": REGIONS}},
            "port": {
                "entity": {"mappings": [{"identifier": identifier, "blueprint": blueprint, "properties": properties}]}
            },
        }

    return load_config(
        {
            "resources": [
                entry("AWS::SQS::Queue", ".QueueName", "awsSqsQueue", {"arn": ".Arn", **queue_properties}),
                entry("AWS::Lambda::Function", ".FunctionName", "awsLambdaFunction", {"arn": ".Arn"}),
            ]
        }
    )


@pytest.fixture
def small_world(fresh_local_aws: RunningLocalAws, aws_client: Any) -> dict[str, list[str]]:
    """Four queues and three functions per region, made through the service APIs."""
    world: dict[str, list[str]] = {"queues": [], "functions": []}
    for region in REGIONS:
        sqs = aws_client("sqs", region)
        for n in range(4):
            name = f"q{n}-{region}"
            sqs.create_queue(QueueName=name)
            world["queues"].append(name)
        world["functions"] += fresh_local_aws.bulk_create_lambda_functions(3, region=region, prefix=f"fn-{region}")
    return world


def _delete_queue(aws_client: Any, name: str) -> None:
    region = name.split("-", 1)[1]
    sqs = aws_client("sqs", region)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])


def test_a_resource_deleted_in_aws_disappears_on_the_next_run(
    small_world: dict[str, list[str]], run_sync: SyncRunner, example_catalog: PortClient, aws_client: Any
) -> None:
    config = _config()
    run_sync(config)
    assert identifiers(example_catalog, "awsSqsQueue") == sorted(small_world["queues"])
    _delete_queue(aws_client, "q2-eu-west-1")
    report = run_sync(config).report
    assert report.deleted == 1 and report.deletion_skipped == {}
    assert identifiers(example_catalog, "awsSqsQueue") == sorted(set(small_world["queues"]) - {"q2-eu-west-1"})
    assert identifiers(example_catalog, "awsLambdaFunction") == sorted(small_world["functions"])


def test_a_failing_region_blocks_deletion_of_its_blueprints_only(
    small_world: dict[str, list[str]],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    aws_client: Any,
    fresh_local_aws: RunningLocalAws,
) -> None:
    config = _config()
    run_sync(config)
    _delete_queue(aws_client, "q0-us-east-1")
    aws_client("lambda", "us-east-1").delete_function(FunctionName=small_world["functions"][0])
    fresh_local_aws.faults.fail("CloudApiService.ListResources", code="AccessDeniedException", region="eu-west-1")
    report = run_sync(config).report
    assert report.deleted == 0
    reasons = report.deletion_skipped
    assert set(reasons) == {"awsSqsQueue", "awsLambdaFunction"}
    assert reasons["awsSqsQueue"] == "AWS::SQS::Queue in eu-west-1 had errors"
    errors = {(e.kind, e.region) for e in report.errors}
    assert errors == {("AWS::SQS::Queue", "eu-west-1"), ("AWS::Lambda::Function", "eu-west-1")}
    assert all("AccessDeniedException" in e.error for e in report.errors)
    assert "q0-us-east-1" in identifiers(example_catalog, "awsSqsQueue")  # kept: not safe to prune
    by_key = {(k.kind, k.region): k for k in report.kinds}
    assert by_key[("AWS::SQS::Queue", "us-east-1")].written == 3  # the healthy region still synced


def test_a_failing_read_blocks_deletion(
    small_world: dict[str, list[str]],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    aws_client: Any,
    fresh_local_aws: RunningLocalAws,
) -> None:
    config = _config()
    run_sync(config)
    _delete_queue(aws_client, "q1-us-east-1")
    fresh_local_aws.faults.fail("CloudApiService.GetResource", code="InternalFailure", status=400, count=1)
    report = run_sync(config).report
    [error] = report.errors
    assert error.kind == "AWS::SQS::Queue"  # the first kind of the config is read first
    assert error.identifier is not None and "InternalFailure" in error.error
    assert "q1-us-east-1" in identifiers(example_catalog, "awsSqsQueue")
    assert report.deleted == 0
    assert report.deletion_skipped == {"awsSqsQueue": f"AWS::SQS::Queue in {error.region} had errors"}


def test_the_threshold_blocks_a_mass_deletion(
    small_world: dict[str, list[str]], run_sync: SyncRunner, example_catalog: PortClient, aws_client: Any
) -> None:
    config = _config()
    run_sync(config)
    for name in ["q0-us-east-1", "q1-us-east-1", "q2-us-east-1", "q3-us-east-1", "q0-eu-west-1"]:
        _delete_queue(aws_client, name)
    guarded = run_sync(config, deletion_threshold=0.5).report
    assert guarded.deleted == 0
    assert guarded.deletion_skipped == {
        "awsSqsQueue": "5 of 8 owned entities would be deleted (62%), above the deletion threshold of 50%"
    }
    allowed = run_sync(config).report  # the config's default threshold, 0.9
    assert allowed.deleted == 5
    assert identifiers(example_catalog, "awsSqsQueue") == ["q1-eu-west-1", "q2-eu-west-1", "q3-eu-west-1"]


def test_another_installations_entities_survive(
    small_world: dict[str, list[str]],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    local_catalog: RunningCatalog,
) -> None:
    other = Installation("999999999999", "us-east-1")
    neighbour = Installation("123456789012", "eu-west-1")  # same account, another installation
    for installation in (other, neighbour):
        with make_port_client(local_catalog, installation) as client:
            results = client.bulk_upsert(
                "awsSqsQueue",
                [{"identifier": f"theirs-{installation.account_id}-{installation.region}", "properties": {}}],
            )
            assert all(result.ok for result in results)
    report = run_sync(_config()).report
    assert report.deleted == 0
    assert {"theirs-999999999999-us-east-1", "theirs-123456789012-eu-west-1"} <= set(
        identifiers(example_catalog, "awsSqsQueue")
    )


def test_an_entity_updated_by_an_event_during_the_run_survives(
    small_world: dict[str, list[str]], run_sync: SyncRunner, example_catalog: PortClient
) -> None:
    config = _config()
    first = run_sync(config)
    assert first.finished
    # An event path write of the same installation, after this run's start: it is not stale.
    late: list[bool] = []
    once = threading.Lock()  # regions report progress from their own threads

    def write_during_run(_: object) -> None:
        with once:
            if late:
                return
            late.append(
                example_catalog.bulk_upsert("awsSqsQueue", [{"identifier": "created-by-event", "properties": {}}])[0].ok
            )

    report = run_sync(config, on_progress=write_during_run).report
    assert late == [True]
    assert report.deleted == 0
    assert "created-by-event" in identifiers(example_catalog, "awsSqsQueue")


def test_a_mapping_error_is_reported_and_blocks_deletion(
    small_world: dict[str, list[str]], run_sync: SyncRunner, example_catalog: PortClient, aws_client: Any
) -> None:
    run_sync(_config())
    _delete_queue(aws_client, "q3-eu-west-1")
    broken = _config(url='if .QueueName == "q1-us-east-1" then error("no url for you") else .QueueUrl end')
    report = run_sync(broken).report
    [error] = report.errors
    assert (error.kind, error.region) == ("AWS::SQS::Queue", "us-east-1")
    assert error.identifier is not None and error.identifier.endswith("/q1-us-east-1")
    assert "resources[0].port.entity.mappings[0].properties.url" in error.error and "no url for you" in error.error
    assert report.deletion_skipped == {"awsSqsQueue": "AWS::SQS::Queue in us-east-1 had errors"}
    queues = entities_by_id(example_catalog, "awsSqsQueue")
    assert "q3-eu-west-1" in queues  # not pruned
    assert queues["q0-us-east-1"]["properties"]["url"].endswith("/q0-us-east-1")


def test_a_dry_run_writes_and_deletes_nothing_but_says_what_would_change(
    small_world: dict[str, list[str]], run_sync: SyncRunner, example_catalog: PortClient, aws_client: Any
) -> None:
    config = _config()
    dry = run_sync(config, dry_run=True).report
    assert identifiers(example_catalog, "awsSqsQueue") == []
    assert dry.changes["awsSqsQueue"].create == 8 and dry.changes["awsLambdaFunction"].create == 6
    run_sync(config)
    _delete_queue(aws_client, "q0-eu-west-1")
    second = run_sync(_config(url=".QueueUrl"), dry_run=True).report
    assert second.changes["awsSqsQueue"].update == 7  # a new property on every queue still there
    assert second.changes["awsSqsQueue"].delete == ["q0-eu-west-1"]
    assert second.changes["awsLambdaFunction"].unchanged == 6
    assert second.deleted == 0 and "q0-eu-west-1" in identifiers(example_catalog, "awsSqsQueue")
    assert second.as_dict()["dry_run"] is True
