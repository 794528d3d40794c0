"""The full sync as Lambda runs it: config and credentials as the original, checkpoints when time is short."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from port_aws_exporter.aws.run_store import DynamoRunStore, create_run_table
from port_aws_exporter.cli.demo import DEMO_REGIONS, apply_example_blueprints
from port_aws_exporter.handler import lambda_handler
from port_aws_exporter.lambda_runtime.sync_invocation import SyncInvocation
from port_aws_exporter.lambda_runtime.warm_state import WarmState
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient, PortConfigurationError
from tests.sync.conftest import EXAMPLES, entities_by_id
from tests.sync.test_shard_records import sqs_records

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:port-aws-exporter"
BUCKET = "exporter-config"
CONFIG_KEY = "exporter/config.json"


@dataclass
class LambdaContext:
    """What a Lambda context offers the handler; the Lambda runtime itself cannot run here."""

    aws_request_id: str
    remaining_ms: int = 600_000
    invoked_function_arn: str = FUNCTION_ARN

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Reinvocations:
    """Collects the payloads the handler asks to be invoked with."""

    payloads: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, payload: Mapping[str, Any], context: Any) -> None:
        self.payloads.append(dict(payload))


CONFIG = {
    "resources": [
        {
            "kind": "AWS::Lambda::Function",
            "port": {
                "entity": {
                    "mappings": [
                        {
                            "identifier": ".FunctionName",
                            "blueprint": "awsLambdaFunction",
                            "properties": {"arn": ".Arn", "memorySize": ".MemorySize"},
                        }
                    ]
                }
            },
        },
        {
            "kind": "AWS::SQS::Queue",
            "selector": {"aws": {"regions": ["us-east-1", "eu-west-1"]}},
            "port": {
                "entity": {
                    "mappings": [
                        {"identifier": ".QueueName", "blueprint": "awsSqsQueue", "properties": {"arn": ".Arn"}}
                    ]
                }
            },
        },
    ]
}


@pytest.fixture
def lambda_env(
    aws_env: dict[str, str],
    fresh_local_aws: RunningLocalAws,
    aws_client: Any,
    local_catalog: RunningCatalog,
    example_catalog: PortClient,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """A deployed-like environment: config in S3, Port credentials in a secret, 120 functions, 3 queues."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=CONFIG_KEY, Body=json.dumps(CONFIG).encode())
    secret = aws_client("secretsmanager").create_secret(
        Name="port-credentials",
        SecretString=json.dumps({"id": local_catalog.client_id, "clientSecret": local_catalog.client_secret}),
    )
    fresh_local_aws.bulk_create_lambda_functions(120, region="us-east-1", prefix="fn")
    for region in ("us-east-1", "eu-west-1"):
        for n in range(3 if region == "us-east-1" else 1):
            aws_client("sqs", region).create_queue(QueueName=f"queue-{n}-{region}")
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("CONFIG_JSON_FILE_KEY", CONFIG_KEY)
    monkeypatch.setenv("PORT_CREDS_SECRET_ARN", secret["ARN"])
    monkeypatch.setenv("PORT_API_URL", local_catalog.url)
    for name in ("PORT_CLIENT_ID", "PORT_CLIENT_SECRET", "PORT_AWS_EXPORTER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return {"s3": s3, "secret": local_catalog.client_secret}


def _snapshot(port: PortClient) -> dict[str, dict[str, Any]]:
    return {
        blueprint: {i: e["properties"] for i, e in entities_by_id(port, blueprint).items()}
        for blueprint in ("awsLambdaFunction", "awsSqsQueue")
    }


def test_a_scheduled_run_reads_config_from_s3_and_credentials_from_the_secret(
    lambda_env: dict[str, Any], example_catalog: PortClient
) -> None:
    handler = SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    result = handler(scheduled, LambdaContext("req-1"))
    assert result["status"] == "done"
    assert result["report"]["error_count"] == 0
    snapshot = _snapshot(example_catalog)
    assert len(snapshot["awsLambdaFunction"]) == 120 and len(snapshot["awsSqsQueue"]) == 4


def test_a_checkpointed_run_ends_with_the_same_catalog_as_one_run(
    lambda_env: dict[str, Any],
    example_catalog: PortClient,
    local_catalog: RunningCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stale = {"identifier": "deleted-since-last-run", "properties": {}}
    assert example_catalog.bulk_upsert("awsSqsQueue", [stale])[0].ok

    # One uninterrupted run, for comparison.
    one_run = SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())({}, LambdaContext("single"))
    assert one_run["status"] == "done" and one_run["report"]["deleted"] == 1
    expected = _snapshot(example_catalog)

    # The same from scratch, with too little time left at every page: one leg per page.
    local_catalog.reset()
    apply_example_blueprints(example_catalog, EXAMPLES, DEMO_REGIONS)
    assert example_catalog.bulk_upsert("awsSqsQueue", [stale])[0].ok
    monkeypatch.setenv("SYNC_TIME_RESERVE_SECONDS", "120")
    reinvocations = Reinvocations()
    handler = SyncInvocation(reinvoke=reinvocations, warm=WarmState())
    event: dict[str, Any] = {}
    results = []
    for leg in range(10):
        result = handler(event, LambdaContext(f"leg-{leg}", remaining_ms=60_000))
        results.append(result)
        if result["status"] == "done":
            break
        saved = result["checkpoint"]
        bucket, key = saved.removeprefix("s3://").split("/", 1)
        assert (bucket, key) == (BUCKET, f"exporter/checkpoints/leg-{leg}.json")
        text = lambda_env["s3"].get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        assert lambda_env["secret"] not in text and "clientSecret" not in text
        assert result["report"]["deleted"] == 0  # deletion waits for the very end
        event = reinvocations.payloads[-1]
        assert event == {"checkpoint": saved}
    assert [r["status"] for r in results] == ["continuing", "continuing", "done"]  # 120 functions: 3 pages of 50
    assert results[-1]["report"]["deleted"] == 1
    listed = {(k["kind"], k["region"]): k["listed"] for k in results[-1]["report"]["kinds"]}
    assert listed == {
        ("AWS::Lambda::Function", "us-east-1"): 120,
        ("AWS::SQS::Queue", "us-east-1"): 3,
        ("AWS::SQS::Queue", "eu-west-1"): 1,
    }
    assert _snapshot(example_catalog) == expected
    leftovers = lambda_env["s3"].list_objects_v2(Bucket=BUCKET, Prefix="exporter/checkpoints/").get("KeyCount", 0)
    assert leftovers == 0  # each leg deletes the checkpoint it resumed from


def test_credentials_in_the_event_travel_in_the_payload_never_in_the_checkpoint(
    lambda_env: dict[str, Any], local_catalog: RunningCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORT_CREDS_SECRET_ARN")
    reinvocations = Reinvocations()
    handler = SyncInvocation(reinvoke=reinvocations, warm=WarmState())
    event = {"port_client_id": local_catalog.client_id, "port_client_secret": local_catalog.client_secret}
    first = handler(event, LambdaContext("creds", remaining_ms=60_000))
    assert first["status"] == "continuing"
    assert reinvocations.payloads[-1]["port_client_secret"] == local_catalog.client_secret
    bucket, key = first["checkpoint"].removeprefix("s3://").split("/", 1)
    assert (
        local_catalog.client_secret not in lambda_env["s3"].get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    )


def test_lambda_handler_dispatches_like_the_original(
    lambda_env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    ignored = lambda_handler({"detail-type": "Something Else", "source": "aws.s3"}, LambdaContext("other"))
    assert ignored == {"status": "ignored", "error": "unrecognised invocation event"}
    assert lambda_handler({}, LambdaContext("empty"))["status"] == "done"


def test_missing_configuration_says_what_to_set(lambda_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.delenv("BUCKET_NAME")
    with pytest.raises(PortConfigurationError, match="PORT_AWS_EXPORTER_CONFIG"):
        SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())({}, LambdaContext("no-config"))
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.delenv("PORT_CREDS_SECRET_ARN")
    with pytest.raises(PortConfigurationError, match="PORT_CREDS_SECRET_ARN"):
        SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())({}, LambdaContext("no-credentials"))


def test_a_long_sync_logs_heartbeats_with_the_request_id_and_a_finished_line(
    lambda_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNC_HEARTBEAT_SECONDS", "0.01")
    monkeypatch.setenv("SYNC_HEARTBEAT_RESOURCES", "20")
    handler = SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())
    result = handler({}, LambdaContext("req-heartbeat"))
    assert result["status"] == "done"

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    beats = [line for line in lines if line["message"] == "sync progress"]
    assert beats, [line["message"] for line in lines]
    assert all(beat["aws_request_id"] == "req-heartbeat" for beat in beats)
    assert {beat["kind"] for beat in beats} <= {"AWS::Lambda::Function", "AWS::SQS::Queue"}
    assert all({"listed", "written", "failed", "seconds", "rate", "region"} <= set(beat) for beat in beats)
    [finished] = [line for line in lines if line["message"] == "full sync finished"]
    assert finished["aws_request_id"] == "req-heartbeat"
    assert (finished["listed"], finished["error_count"], finished["interrupted"]) == (124, 0, False)


def _sharded_stack(aws_client: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """The function's environment with `ShardedSync`: the run table and the tasks queue (and its SQS)."""
    create_run_table(aws_client("dynamodb"), "sync-runs")
    sqs = aws_client("sqs")
    queue_url: str = sqs.create_queue(QueueName="sync-tasks")["QueueUrl"]
    monkeypatch.setenv("SYNC_TASKS_QUEUE_URL", queue_url)
    monkeypatch.setenv("SYNC_RUN_TABLE", "sync-runs")
    return sqs, queue_url


def test_a_sharded_stack_plans_on_schedule_and_its_tasks_batches_complete_the_run(
    lambda_env: dict[str, Any], aws_client: Any, example_catalog: PortClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, queue_url = _sharded_stack(aws_client, monkeypatch)
    handler = SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())

    planned = handler({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, LambdaContext("plan"))

    assert planned["status"] == "planned"
    shards = planned["run"]["shards"]
    assert shards == 3  # functions in us-east-1; queues in us-east-1 and eu-west-1
    for n, record in enumerate(sqs_records(sqs, queue_url, shards)):
        # The mapping's batch size is 1: one shard per invocation of the same function.
        assert handler({"Records": [record]}, LambdaContext(f"shard-{n}")) == {"batchItemFailures": []}
    store = DynamoRunStore(aws_client("dynamodb"), lambda_env["s3"], "sync-runs", BUCKET)
    assert store.run_state(planned["run"]["run_id"]).status == "complete"
    sharded = _snapshot(example_catalog)
    # The tasks queue is an SQS queue of the account too: the config catalogues it.
    assert len(sharded["awsLambdaFunction"]) == 120 and len(sharded["awsSqsQueue"]) == 5

    monkeypatch.delenv("SYNC_TASKS_QUEUE_URL")
    monkeypatch.delenv("SYNC_RUN_TABLE")
    unsharded = SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())({}, LambdaContext("one-process"))
    assert unsharded["status"] == "done"
    assert unsharded["report"]["created"] == unsharded["report"]["updated"] == 0
    assert _snapshot(example_catalog) == sharded


def test_a_shard_near_the_invocations_end_hands_on_and_the_continuations_complete_the_run(
    lambda_env: dict[str, Any], aws_client: Any, example_catalog: PortClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, queue_url = _sharded_stack(aws_client, monkeypatch)
    # 60 s left of every invocation, 120 kept in reserve: each shard hands on after its first page.
    monkeypatch.setenv("SYNC_TIME_RESERVE_SECONDS", "120")
    handler = SyncInvocation(reinvoke=Reinvocations(), warm=WarmState())
    planned = handler({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, LambdaContext("plan"))
    run_id = planned["run"]["run_id"]
    store = DynamoRunStore(aws_client("dynamodb"), lambda_env["s3"], "sync-runs", BUCKET)

    invocations = 0
    while store.run_state(run_id).status != "complete":
        assert invocations < 10, "the continuations did not complete the run"
        for record in sqs_records(sqs, queue_url, 1):
            answer = handler({"Records": [record]}, LambdaContext(f"shard-{invocations}", remaining_ms=60_000))
            assert answer == {"batchItemFailures": []}
            invocations += 1
    assert invocations == 5  # the functions' shard in three parts, a shard per region of queues
    state = store.run_state(run_id)
    assert state.status == "complete"
    functions = sorted(
        (shard.task.part, shard.counts["listed"])
        for shard in state.shards
        if shard.task.kind == "AWS::Lambda::Function"
    )
    assert functions == [(1, 50), (2, 50), (3, 20)]  # the local Cloud Control's pages of 50
    sharded = _snapshot(example_catalog)
    assert len(sharded["awsLambdaFunction"]) == 120 and len(sharded["awsSqsQueue"]) == 5


def test_a_tasks_batch_without_the_sharded_settings_says_what_to_set(lambda_env: dict[str, Any]) -> None:
    record = {"messageId": "m", "body": "{}", "eventSource": "aws:sqs", "attributes": {}}
    with pytest.raises(PortConfigurationError, match="SYNC_TASKS_QUEUE_URL and SYNC_RUN_TABLE are not set"):
        SyncInvocation(warm=WarmState())({"Records": [record]}, LambdaContext("shard"))
