"""Retries through SQS visibility, with the Lambda consumer behind Lambda's SQS event source.

The queue is the local endpoint's real SQS (visibility timeout 1 s, a redrive policy to a
dead-letter queue), so redelivery, receive counts and dead-lettering are SQS's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.aws.bulk_seed import BulkLambdaSpec
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from tests.events.conftest import MessageFactory
from tests.fixtures.event_queues import EventQueues, LambdaEventSource


def test_while_port_is_down_messages_return_and_are_applied_once_it_is_back(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    event_queues: Callable[..., EventQueues],
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=1, max_receive_count=20)
    names = fresh_local_aws.bulk_create_lambda_functions(12, prefix="outage")
    ids = queues.send(*(seed_message("CreateFunction20150331", name) for name in names))
    local_catalog.faults.start_outage(60)
    source = LambdaEventSource(queues, events_lambda)
    while not source.invocations:
        source.poll()
    # Port is down: the whole batch comes back, nothing is acknowledged.
    failed = source.invocations[0]["response"]["batchItemFailures"]
    records = source.invocations[0]["records"]
    assert [item["itemIdentifier"] for item in failed] == [record["messageId"] for record in records]

    local_catalog.faults.clear()
    # Nothing was written while Port was down (the queue's in-flight count is no witness: moto's lags
    # when a 1 s visibility expires while it counts); all is applied below, from the queue.
    assert list(port.iter_blueprint_entities("lambda")) == []
    source.drain(timeout=30)

    assert sorted(entity["identifier"] for entity in port.iter_blueprint_entities("lambda")) == names
    assert max(source.receive_counts[message_id] for message_id in ids) >= 2
    assert queues.depth(queues.dlq_url) == 0


def test_poison_messages_reach_the_dead_letter_queue_and_good_ones_never_do(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=1, max_receive_count=2)
    names = fresh_local_aws.bulk_create_lambda_functions(4, prefix="good")
    good = [seed_message("CreateFunction20150331", name) for name in names]
    poison = [
        "not json at all",
        json.dumps({"resource_type": "AWS::Nope::Thing", "region": '"us-east-1"', "identifier": '"x"'}),
        json.loads(good[0]) | {"action": '"remove"'},
    ]
    poison[2] = json.dumps(poison[2])
    queues.send(*good[:2], *poison, *good[2:])

    LambdaEventSource(queues, events_lambda).drain(timeout=30)

    dead = queues.peek(queues.dlq_url)
    assert sorted(message["Body"] for message in dead) == sorted(poison)
    assert all(int(message["Attributes"]["ApproximateReceiveCount"]) >= 2 for message in dead)
    assert sorted(entity["identifier"] for entity in port.iter_blueprint_entities("lambda")) == names


def test_a_failed_message_returns_after_its_backoff_not_the_queues_visibility_timeout(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    # Five minutes, as a deployed queue would hold it: the test's 30 s drain fails unless the
    # consumer shortens the visibility of the message it reports failed.
    queues = event_queues(visibility_timeout=300, max_receive_count=5)
    monkeypatch.setenv("EVENTS_RETRY_DELAY_SECONDS", "1")
    monkeypatch.setenv("EVENTS_MAX_RETRY_DELAY_SECONDS", "60")
    spec = BulkLambdaSpec(count=1, prefix="late")
    [message_id] = queues.send(seed_message("CreateFunction20150331", spec.name(0)))
    source = LambdaEventSource(queues, events_lambda)
    while not source.invocations:
        source.poll()
    # The event came before AWS shows the function.
    assert source.invocations[0]["response"] == {"batchItemFailures": [{"itemIdentifier": message_id}]}

    fresh_local_aws.bulk_create_lambda_functions(1, prefix="late")
    source.drain(timeout=30)

    assert [entity["identifier"] for entity in port.iter_blueprint_entities("lambda")] == [spec.name(0)]
    assert source.receive_counts[message_id] == 2
