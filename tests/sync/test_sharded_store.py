"""The sharded run's planner and store on the local stack's SQS, DynamoDB and S3: exactly one
worker finishes a shard, exactly one claims a scope's deletion, a duplicate finish changes nothing."""

from __future__ import annotations

import datetime
import functools
import threading
import time
from typing import Any

import pytest

from port_aws_exporter.aws.run_store import in_parallel
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.sharded_runs import (
    DeletionStatus,
    Scope,
    ScopeState,
    ShardResult,
    ShardTask,
    ShardTaskError,
)
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.sync.sharded.plan import ShardPlanner
from port_aws_exporter.sync.sharded.shard import ShardOutcome
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


def test_a_plan_writes_one_shard_per_region_and_the_last_finish_of_a_scope_claims_its_deletion_once(
    fresh_local_aws: RunningLocalAws, aws_client: Any
) -> None:
    store, queue, sqs = local_run_state(aws_client)
    planned = ShardPlanner(_config(), store, queue, home_account_id=HOME, home_region="us-east-1").plan()

    bodies: list[str] = []
    while len(bodies) < 2:
        answer = sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies += [message["Body"] for message in answer.get("Messages", [])]
    tasks = sorted((ShardTask.from_body(body) for body in bodies), key=lambda task: task.region)
    assert [task.shard_id for task in tasks] == [f"{HOME}/0/eu-west-1", f"{HOME}/0/us-east-1"]
    scope = Scope(HOME, "awsLambdaFunction")
    assert planned.scopes == {scope: 2}
    assert store.run_state(planned.run_id).status == "running"

    results = [ShardResult(seen={"awsLambdaFunction": {f"fn-{task.region}"}}) for task in tasks]
    for task in tasks:
        assert store.start_shard(task)
    finished: list[bool] = []
    claims: list[object] = []

    def finish(task: ShardTask, result: ShardResult) -> None:
        finished.append(store.finish_shard(task, result, None))
        claims.append(store.claim_deletion(task.run_id, scope))

    threads = [threading.Thread(target=finish, args=pair) for pair in zip(tasks, results, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert finished == [True, True]
    assert len([claim for claim in claims if claim is not None]) == 1

    # A duplicate delivery of a finished shard changes nothing, and cannot claim again.
    assert not store.start_shard(tasks[0])
    assert not store.finish_shard(tasks[0], results[0], None)
    assert store.claim_deletion(planned.run_id, scope) is None

    assert store.seen_identifiers(planned.run_id, scope) == ({"fn-eu-west-1", "fn-us-east-1"}, set())
    [claimed] = [claim for claim in claims if claim is not None]
    assert isinstance(claimed, ScopeState)
    assert store.finish_deletion(planned.run_id, claimed, DeletionStatus.DONE, 0, None)
    state = store.run_state(planned.run_id)
    assert state.status == "complete"
    assert [shard.status for shard in state.shards] == ["done", "done"]
    assert state.as_dict()["scopes"][0]["deletion"] == "done"


def test_a_claim_whose_lease_expired_is_taken_over_and_only_the_new_claimer_records_the_outcome(
    fresh_local_aws: RunningLocalAws, aws_client: Any
) -> None:
    store, queue, _ = local_run_state(aws_client)
    planned = ShardPlanner(_config(), store, queue, home_account_id=HOME, home_region="us-east-1").plan()
    scope = Scope(HOME, "awsLambdaFunction")
    assert store.claim_deletion(planned.run_id, scope, time.time() + 60) is None  # shards not done yet
    for task in planned.tasks:
        assert store.finish_shard(task, ShardResult(), None)

    first = store.claim_deletion(planned.run_id, scope, time.time() + 1)
    assert first is not None and first.claim_token
    assert store.claim_deletion(planned.run_id, scope, time.time() + 60) is None  # a live claim holds
    assert store.scope_state(planned.run_id, scope).deletion == "claimed"

    time.sleep(1.2)  # the first claimer's lease passes (it died, or it is slow)
    second = store.claim_deletion(planned.run_id, scope, time.time() + 60)
    assert second is not None and second.claim_token != first.claim_token
    assert store.claim_deletion(planned.run_id, scope, time.time() + 60) is None

    # The first claimer, alive after all, finishes late: it adds its count, the outcome stays open.
    assert not store.finish_deletion(planned.run_id, first, DeletionStatus.DONE, 2, None)
    mid = store.run_state(planned.run_id)
    assert (mid.status, mid.scopes[0].deletion, mid.scopes[0].deleted) == ("running", "claimed", 2)
    assert store.finish_deletion(planned.run_id, second, DeletionStatus.DONE, 1, None)
    state = store.run_state(planned.run_id)
    assert (state.status, state.scopes[0].deletion, state.scopes[0].deleted) == ("complete", "done", 3)
    assert not store.finish_deletion(planned.run_id, second, DeletionStatus.DONE, 0, None)  # recorded once
    assert store.run_state(planned.run_id).as_dict()["deleted"] == 3


def test_a_part_handing_on_keeps_its_scope_waiting_and_a_continuation_whose_message_was_lost_is_sent_again(
    fresh_local_aws: RunningLocalAws, aws_client: Any, example_catalog: Any
) -> None:
    store, queue, sqs = local_run_state(aws_client)
    config = _config()
    planned = ShardPlanner(config, store, queue, home_account_id=HOME, home_region="us-east-1").plan()
    first, second = planned.tasks
    scope = Scope(HOME, "awsLambdaFunction")
    continuation = first.continued('{"model": 0, "token": "page-2"}')
    assert continuation.shard_id == f"{first.shard_id}#2" and continuation.continued("t").shard_id.endswith("#3")
    assert ShardTask.from_body(continuation.body()) == continuation
    assert ShardTask.from_body(first.body()) == first and '"part"' not in first.body()
    with pytest.raises(ShardTaskError, match="resume_token"):
        ShardTask.from_body(continuation.body().replace('"resume_token":', '"token":'))

    assert store.start_shard(first)
    assert store.finish_shard(first, ShardResult(seen={"awsLambdaFunction": {"fn-1"}}), None, continuation)
    assert not store.finish_shard(first, ShardResult(), None, continuation)  # a duplicate's finish
    assert store.finish_shard(second, ShardResult(seen={"awsLambdaFunction": {"fn-2"}}), None)
    waiting = store.scope_state(planned.run_id, scope)
    assert (waiting.total, waiting.remaining, waiting.deletion) == (3, 1, "waiting")
    assert store.claim_deletion(planned.run_id, scope) is None  # the last part is still to run

    # The finishing worker died before sending the continuation: a duplicate delivery sends it.
    assert store.unsent_continuation(first) == continuation
    drained = _bodies(sqs, queue.queue_url, 2)
    runner = in_process_runner(config, store, example_catalog, tasks=queue)
    assert runner.run(first, receive_count=2) is ShardOutcome.DUPLICATE
    assert _bodies(sqs, queue.queue_url, 1) == [continuation.body()]
    assert sorted(drained) == sorted([first.body(), second.body()])

    assert store.start_shard(continuation)
    assert store.unsent_continuation(first) is None  # started: nothing to send again
    assert store.finish_shard(continuation, ShardResult(seen={"awsLambdaFunction": {"fn-3"}}), None)
    assert store.claim_deletion(planned.run_id, scope) is not None
    assert store.seen_identifiers(planned.run_id, scope) == ({"fn-1", "fn-2", "fn-3"}, set())


def _bodies(sqs: Any, queue_url: str, count: int) -> list[str]:
    bodies: list[str] = []
    while len(bodies) < count:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_a_failed_shard_blocks_its_scope_with_the_reason(fresh_local_aws: RunningLocalAws, aws_client: Any) -> None:
    store, queue, _ = local_run_state(aws_client)
    started = datetime.datetime.now(datetime.UTC)
    planned = ShardPlanner(_config(), store, queue, home_account_id=HOME, home_region="us-east-1").plan(started)
    first, second = planned.tasks
    scope = Scope(HOME, "awsLambdaFunction")

    assert store.finish_shard(first, None, "AccessDenied listing functions")
    assert store.finish_shard(second, ShardResult(), None)
    claimed = store.claim_deletion(planned.run_id, scope)

    assert claimed is not None
    assert claimed.blocked == f"shard {first.shard_id} failed: AccessDenied listing functions"


def test_shards_run_in_process_write_the_catalog_and_the_last_one_deletes_the_stale_entity_once(
    fresh_local_aws: RunningLocalAws, aws_client: Any, aws_env: dict[str, str], example_catalog: Any
) -> None:
    for region in ("us-east-1", "eu-west-1"):
        fresh_local_aws.bulk_create_lambda_functions(2, region=region, prefix=f"fn-{region}")
    example_catalog.bulk_upsert("awsLambdaFunction", [{"identifier": "gone", "properties": {}}])
    store, queue, _ = local_run_state(aws_client)
    config = _config()
    planned = ShardPlanner(config, store, queue, home_account_id=HOME, home_region="us-east-1").plan()
    runner = in_process_runner(config, store, example_catalog)

    outcomes = [runner.run(task) for task in planned.tasks]
    assert outcomes == [ShardOutcome.DONE, ShardOutcome.DONE]
    assert runner.run(planned.tasks[0], receive_count=2) is ShardOutcome.DUPLICATE

    names = sorted(entity["identifier"] for entity in example_catalog.iter_blueprint_entities("awsLambdaFunction"))
    assert "gone" not in names and len(names) == 4
    state = store.run_state(planned.run_id)
    assert state.status == "complete"
    assert state.as_dict()["deleted"] == 1


def test_a_plan_written_on_several_writers_holds_every_shard_and_sends_every_message(
    fresh_local_aws: RunningLocalAws, aws_client: Any
) -> None:
    store, queue, sqs = local_run_state(aws_client)
    regions = [f"region-{number:03d}" for number in range(260)]
    planner = ShardPlanner(
        _config(), store, queue, home_account_id=HOME, home_region="us-east-1", regions_for=lambda *_: regions
    )
    assert store.writers > 1 and queue.writers > 1

    planned = planner.plan()

    state = store.run_state(planned.run_id)
    assert sorted(shard.task.shard_id for shard in state.shards) == sorted(f"{HOME}/0/{region}" for region in regions)
    attributes = sqs.get_queue_attributes(QueueUrl=queue.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(attributes["Attributes"]["ApproximateNumberOfMessages"]) == len(regions)


def test_the_first_failing_call_of_the_planners_writers_is_raised_and_the_rest_not_started() -> None:
    started: list[int] = []

    def call(number: int) -> None:
        started.append(number)
        if number == 0:
            raise RuntimeError("sending 1 shard message(s) failed")
        time.sleep(0.05)

    with pytest.raises(RuntimeError, match="shard message"):
        in_parallel([functools.partial(call, number) for number in range(200)], writers=4)
    assert len(started) < 200


def test_a_shard_whose_relations_point_at_an_earlier_entrys_blueprint_waits_for_its_shards(
    demo_world: Any, aws_client: Any, aws_env: dict[str, str], example_catalog: Any, example_config: Any
) -> None:
    # The queues (entry 0) and the topics that relate to them (entry 1), as the examples configure them.
    config = example_config.model_copy(update={"resources": example_config.resources[:2]})
    store, queue, sqs = local_run_state(aws_client)
    planned = ShardPlanner(config, store, queue, home_account_id=HOME, home_region="us-east-1").plan()
    sqs.purge_queue(QueueUrl=queue.queue_url)
    runner = in_process_runner(config, store, example_catalog, tasks=queue, relation_wait_seconds=0)
    queues = [task for task in planned.tasks if task.entry == 0]
    topics = [task for task in planned.tasks if task.entry == 1]

    # A topic's shard first: sent back once, with its count of waits, nothing written.
    assert runner.run(topics[0]) is ShardOutcome.WAITING
    (message,) = sqs.receive_message(QueueUrl=queue.queue_url, WaitTimeSeconds=1)["Messages"]
    waited = ShardTask.from_body(message["Body"])
    assert (waited.shard_id, waited.waited) == (topics[0].shard_id, 1)
    assert list(example_catalog.iter_blueprint_entities("awsSnsTopic")) == []

    # A queue's shard never waits; once both are done, the topics' shards run and find every queue.
    assert [runner.run(task) for task in queues] == [ShardOutcome.DONE, ShardOutcome.DONE]
    assert [runner.run(task) for task in [waited, topics[1]]] == [ShardOutcome.DONE, ShardOutcome.DONE]
    written = {entity["identifier"]: entity for entity in example_catalog.iter_blueprint_entities("awsSnsTopic")}
    for topic, subscribed in demo_world.subscriptions.items():
        assert sorted(written[topic]["relations"]["queues"]) == sorted(subscribed), topic
    assert store.run_state(planned.run_id).status == "complete"
