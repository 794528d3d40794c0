"""The tasks queue's records through `run_shard_records`: planned messages received from the local
stack's SQS complete the run; a record that fails is reported in batchItemFailures, the others not."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.sharded_runs import Scope, ShardResult
from port_aws_exporter.lambda_runtime.shard_records import run_shard_records
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.sync.sharded.plan import ShardPlanner
from tests.fixtures.sharded_runs import in_process_runner, local_run_state

HOME = "123456789012"


def _config() -> Any:
    mapping = {"identifier": ".FunctionName", "blueprint": "awsLambdaFunction", "properties": {"arn": ".Arn"}}
    entry = {
        "kind": "AWS::Lambda::Function",
        "selector": {"aws": {"regions": ["us-east-1", "eu-west-1"]}},
        "port": {"entity": {"mappings": [mapping]}},
    }
    return load_config({"resources": [entry]})


def sqs_records(sqs: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    """The messages as Lambda's SQS event source hands them to the function."""
    records: list[dict[str, Any]] = []
    while len(records) < count:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        )
        records += [
            {
                "messageId": message["MessageId"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "eventSource": "aws:sqs",
            }
            for message in answer.get("Messages", [])
        ]
    return records


def test_the_planned_records_complete_the_run_and_a_failing_record_alone_is_reported(
    fresh_local_aws: RunningLocalAws,
    aws_client: Any,
    aws_env: dict[str, str],
    example_catalog: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for region in ("us-east-1", "eu-west-1"):
        fresh_local_aws.bulk_create_lambda_functions(2, region=region, prefix=f"fn-{region}")
    store, queue, sqs = local_run_state(aws_client)
    config = _config()
    planned = ShardPlanner(config, store, queue, home_account_id=HOME, home_region="us-east-1").plan()
    runner = in_process_runner(config, store, example_catalog)
    records = sqs_records(sqs, queue.queue_url, len(planned.tasks))
    broken = {"messageId": "not-a-shard", "body": "{not json", "attributes": {"ApproximateReceiveCount": "1"}}

    answer = run_shard_records(runner, [broken, *records], cold_start=True)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "not-a-shard"}]}
    names = [entity["identifier"] for entity in example_catalog.iter_blueprint_entities("awsLambdaFunction")]
    assert len(names) == 4
    assert store.run_state(planned.run_id).status == "complete"
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (metrics,) = documents
    assert (metrics["ShardsDone"], metrics["ShardsFailed"], metrics["ShardsDuplicate"]) == ([2], [1], [0])


def test_a_record_meeting_a_live_claim_on_its_scopes_deletion_comes_back_and_is_not_counted_failed(
    fresh_local_aws: RunningLocalAws,
    aws_client: Any,
    aws_env: dict[str, str],
    example_catalog: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, queue, sqs = local_run_state(aws_client)
    config = _config()
    planned = ShardPlanner(config, store, queue, home_account_id=HOME, home_region="us-east-1").plan()
    # Both shards finished by a worker that then claimed the deletion and is still at it.
    for task in planned.tasks:
        assert store.finish_shard(task, ShardResult(), None)
    assert store.claim_deletion(planned.run_id, Scope(HOME, "awsLambdaFunction"), time.time() + 600) is not None
    runner = in_process_runner(config, store, example_catalog)
    records = sqs_records(sqs, queue.queue_url, len(planned.tasks))

    answer = run_shard_records(runner, records, cold_start=False, lease_until=time.time() + 60)

    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in records]}
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (metrics,) = documents
    assert (metrics["ShardsDone"], metrics["ShardsFailed"], metrics["ShardsDuplicate"]) == ([0], [0], [0])
    assert store.run_state(planned.run_id).scopes[0].deletion == "claimed"
