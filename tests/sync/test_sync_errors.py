"""Errors a full sync meets are reported with kind, region, identifier and cause; the rest goes on."""

from __future__ import annotations

from typing import Any

from port_aws_exporter.core.config import load_config
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.port import PortClient
from tests.sync.conftest import SyncRunner, identifiers


def _entry(kind: str, blueprint: str = "awsSqsQueue", **selector: Any) -> dict[str, Any]:
    mapping = {"identifier": ".QueueName // .Id // .ListenerArn", "blueprint": blueprint}
    return {"kind": kind, "selector": selector, "port": {"entity": {"mappings": [mapping]}}}


def test_unsupported_kinds_and_missing_parents_are_explained_and_the_rest_syncs(
    fresh_local_aws: RunningLocalAws, aws_client: Any, run_sync: SyncRunner, example_catalog: PortClient
) -> None:
    aws_client("sqs").create_queue(QueueName="still-synced")
    config = load_config(
        {
            "resources": [
                _entry("AWS::Nonexistent::Thing", "awsIamRole"),
                _entry("AWS::ElasticLoadBalancingV2::Listener", "awsLoadBalancer"),
                _entry("AWS::ApiGateway::Account", "awsCloudFormationStack"),
                _entry("AWS::SQS::Queue"),
            ]
        }
    )
    report = run_sync(config).report
    errors = {error.kind: error.error for error in report.errors}
    assert "TypeNotFoundException" in errors["AWS::Nonexistent::Thing"]
    listener = errors["AWS::ElasticLoadBalancingV2::Listener"]
    assert "needs its parent in a resource model" in listener
    assert "selector.aws.regions_config.us-east-1.resources_models" in listener and "LoadBalancerArn" in listener
    assert "cannot list this type" in errors["AWS::ApiGateway::Account"]
    assert identifiers(example_catalog, "awsSqsQueue") == ["still-synced"]
    assert set(report.deletion_skipped) == {"awsIamRole", "awsLoadBalancer", "awsCloudFormationStack"}


def test_throttling_that_outlasts_the_retries_is_reported(
    fresh_local_aws: RunningLocalAws, aws_client: Any, run_sync: SyncRunner
) -> None:
    aws_client("sqs").create_queue(QueueName="throttled")
    fresh_local_aws.faults.fail("CloudApiService.ListResources", code="ThrottlingException")
    report = run_sync(load_config({"resources": [_entry("AWS::SQS::Queue")]})).report
    [error] = report.errors
    assert (error.kind, error.region, error.identifier) == ("AWS::SQS::Queue", "us-east-1", None)
    assert error.error.startswith("AWS::SQS::Queue in us-east-1: ThrottlingException")
    assert report.deletion_skipped == {"awsSqsQueue": "AWS::SQS::Queue in us-east-1 had errors"}
