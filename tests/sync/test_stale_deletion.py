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
    healthy = by_key[("AWS::SQS::Queue", "us-east-1")]  # the healthy region still synced: seen, already as mapped
    assert (healthy.listed, healthy.written, healthy.unchanged) == (3, 0, 3)


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


def _functions_config() -> ExporterConfig:
    mapping = {"identifier": ".FunctionName", "blueprint": "awsLambdaFunction", "properties": {"arn": ".Arn"}}
    return load_config(
        {
            "resources": [
                {
                    "kind": "AWS::Lambda::Function",
                    "selector": {"aws": {"regions": REGIONS}},
                    "port": {"entity": {"mappings": [mapping]}},
                }
            ]
        }
    )


def test_a_listed_resource_a_read_does_not_find_is_seen_reported_and_its_entity_kept(
    small_world: dict[str, list[str]],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    aws_client: Any,
    fresh_local_aws: RunningLocalAws,
) -> None:
    config = _functions_config()
    run_sync(config)
    gone = small_world["functions"][0]
    aws_client("lambda", "us-east-1").delete_function(FunctionName=gone)
    # Two reads answer "not found" for functions the list just returned (deleted in between, or
    # eventual consistency): ambiguous, so their entities stay; the really deleted one still goes.
    fresh_local_aws.faults.fail("CloudApiService.GetResource", code="ResourceNotFoundException", count=2)

    report = run_sync(config).report

    assert (report.deleted, report.deletion_skipped, report.error_count, report.succeeded) == (1, {}, 0, True)
    assert sum(kind.not_found for kind in report.kinds) == 2
    assert sum(kind.listed for kind in report.kinds) == len(small_world["functions"]) - 1  # seen, counted
    not_found = report.as_dict()["not_found"]
    assert len(not_found) == 2 and {record["kind"] for record in not_found} == {"AWS::Lambda::Function"}
    assert identifiers(example_catalog, "awsLambdaFunction") == sorted(set(small_world["functions"]) - {gone})
    kept = {record["identifier"] for record in not_found}
    assert kept <= set(identifiers(example_catalog, "awsLambdaFunction"))


def test_when_the_entity_of_a_resource_not_found_cannot_be_told_the_blueprint_waits(
    small_world: dict[str, list[str]],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    aws_client: Any,
    fresh_local_aws: RunningLocalAws,
) -> None:
    config = _config()  # queues: listed by URL, their entities named by .QueueName
    run_sync(config)
    _delete_queue(aws_client, "q2-eu-west-1")
    fresh_local_aws.faults.fail("CloudApiService.GetResource", code="ResourceNotFoundException", count=1)

    report = run_sync(config).report

    [reason] = report.deletion_skipped.values()
    assert list(report.deletion_skipped) == ["awsSqsQueue"]
    assert "was listed but not found when read, and no owned entity has that identifier" in reason
    assert report.deleted == 0 and "q2-eu-west-1" in identifiers(example_catalog, "awsSqsQueue")
    clean = run_sync(config).report  # the next run settles it
    assert clean.deleted == 1 and "q2-eu-west-1" not in identifiers(example_catalog, "awsSqsQueue")


class _PortGoesDownForTheStaleSearch:
    """The catalog, whose Port-compatible server goes down as the stale-entity search starts (a
    blueprint's second search: its first reads what the catalog holds, before any write)."""

    def __init__(self, port: PortClient, catalog: RunningCatalog) -> None:
        self._port = port
        self._catalog = catalog
        self._searched: set[str] = set()

    def bulk_upsert(self, blueprint: str, entities: Any) -> Any:
        return self._port.bulk_upsert(blueprint, entities)

    def bulk_delete(self, blueprint: str, identifiers: Any, delete_dependents: bool = True) -> list[str]:
        return self._port.bulk_delete(blueprint, identifiers, delete_dependents)

    def get_blueprint(self, identifier: str) -> dict[str, Any] | None:
        return self._port.get_blueprint(identifier)

    def iter_blueprint_entities(self, blueprint: str, *args: Any, **options: Any) -> Any:
        if blueprint in self._searched:
            self._catalog.faults.start_outage(60.0)
        self._searched.add(blueprint)
        return self._port.iter_blueprint_entities(blueprint, *args, **options)


def test_port_failing_during_the_stale_search_is_that_blueprint_s_skipped_deletion(
    small_world: dict[str, list[str]],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    local_catalog: RunningCatalog,
    aws_client: Any,
) -> None:
    run_sync(_config())
    _delete_queue(aws_client, "q0-us-east-1")
    with make_port_client(local_catalog, retry_budget_seconds=0.5) as port:
        outcome = run_sync(_config(), catalog=_PortGoesDownForTheStaleSearch(port, local_catalog))
    local_catalog.faults.clear()

    report = outcome.report
    assert outcome.finished and report.deleted == 0 and not report.succeeded
    # The owned entities were read once, before the writes: only a blueprint with stale candidates
    # searches again (their `$updatedAt`), and only its deletion meets the outage.
    assert set(report.deletion_skipped) == {"awsSqsQueue"} == set(report.deletion_errors)
    for reason in report.deletion_skipped.values():
        assert reason.startswith("searching its owned entities failed: Port API POST /v1/blueprints/")
        assert "503" in reason
    assert report.as_dict()["deletion_errors"] == report.deletion_skipped
    assert "q0-us-east-1" in identifiers(example_catalog, "awsSqsQueue")
