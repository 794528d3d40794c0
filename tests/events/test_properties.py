"""Property: no message body, however malformed, crashes a batch or the worker.

Bodies are drawn from arbitrary text, arbitrary JSON, message-shaped objects whose fields hold
anything from a correct jq program to garbage, and EventBridge-shaped events (CloudTrail calls of
the registry, native and Config events) whose details hold anything; the batch must answer one result per record, and a
message it could not read must fail permanently (it can never succeed).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.raw_events import CLOUDTRAIL_DETAIL_TYPE
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.core.message import MessageError
from port_aws_exporter.events import intake
from port_aws_exporter.events.batch import EventBatch
from port_aws_exporter.events.records import SqsRecord
from port_aws_exporter.events.worker import SqsWorker, WorkerOptions
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.port import PortClient
from tests.fixtures.event_queues import EventQueues
from tests.fixtures.local_catalog import CATALOG_INSTALLATION

CONFIG = {
    "resources": [
        {
            "kind": "AWS::Lambda::Function",
            "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": "fn", "properties": {}}]}},
        }
    ]
}
# What SQS accepts in a body: no control characters but tab, newline and carriage return.
SQS_TEXT = st.text(
    alphabet=st.characters(
        exclude_categories=["Cs"], exclude_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
    ),
    min_size=1,
    max_size=300,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | SQS_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(SQS_TEXT, children, max_size=4),
    max_leaves=12,
)
JQ_FIELDS = st.one_of(
    st.sampled_from(
        ['"us-east-1"', "us-east-1", '"not a region"', ".missing", '"a" | ascii_upcase', "error", "[", "1/0"]
    ),
    st.sampled_from(['"upsert"', '"delete"', '"DELETE"', '"remove"', "null", "def f: f; f", "range(1e9)"]),
    SQS_TEXT.map(json.dumps),
    SQS_TEXT,
    JSON_VALUES,
)
MESSAGES = st.fixed_dictionaries(
    {"resource_type": st.sampled_from(["AWS::Lambda::Function", "AWS::S3::Bucket", ""]) | JSON_VALUES},
    optional={"region": JQ_FIELDS, "identifier": JQ_FIELDS, "action": JQ_FIELDS, "extra": JSON_VALUES},
)
# Mostly well-formed: these reach AWS and the catalog, with odd identifiers and both actions.
NEAR_VALID = st.fixed_dictionaries(
    {
        "resource_type": st.just("AWS::Lambda::Function"),
        "region": st.sampled_from(['"us-east-1"', '"eu-west-1"', '"us-east-1" | ascii_upcase']),
        "identifier": st.sampled_from(['"prop-00000"', '"prop-00001"', '"missing"']) | SQS_TEXT.map(json.dumps),
    },
    optional={"action": st.sampled_from(['"upsert"', '"delete"', '"Delete"', '"upsert" | ascii_upcase'])},
)
# Raw EventBridge events: registry event sources and names, requests and responses of any shape.
CALLS = st.sampled_from(
    [
        (spec.cloudtrail.event_source, name)
        for spec in KINDS.values()
        if spec.cloudtrail
        for name in spec.cloudtrail.event_names
    ]
)
FUNCTION_REQUESTS = st.fixed_dictionaries(
    {"functionName": st.sampled_from(["prop-00000", "missing", ""]) | JSON_VALUES}
)
DETAIL_EXTRAS = st.dictionaries(
    st.sampled_from(["errorCode", "eventSource", "eventName", "apiVersion"]), JSON_VALUES, max_size=2
)
RAW_DETAILS = st.one_of(
    JSON_VALUES,
    st.builds(
        lambda call, request, response, extra: {
            "eventSource": call[0],
            "eventName": call[1],
            "requestParameters": request,
            "responseElements": response,
            **extra,
        },
        CALLS,
        JSON_VALUES | FUNCTION_REQUESTS,
        JSON_VALUES,
        DETAIL_EXTRAS,
    ),
    st.fixed_dictionaries(
        {"configurationItem": st.dictionaries(SQS_TEXT, JSON_VALUES, max_size=4) | JSON_VALUES},
    ),
)
RAW_EVENTS = st.fixed_dictionaries(
    {
        "detail-type": st.sampled_from(
            [CLOUDTRAIL_DETAIL_TYPE, "EC2 Instance State-change Notification", "Config Configuration Item Change"]
        )
        | JSON_VALUES,
        "detail": RAW_DETAILS,
    },
    optional={
        "source": st.sampled_from(["aws.lambda", "aws.ec2", "aws.config"]) | JSON_VALUES,
        "account": st.sampled_from(["123456789012", "210987654321", ""]) | JSON_VALUES,
        "region": st.sampled_from(["us-east-1", "eu-west-1", "moon"]) | JSON_VALUES,
    },
)
BODIES = st.one_of(
    RAW_EVENTS.map(json.dumps),
    NEAR_VALID.map(json.dumps),
    SQS_TEXT,
    JSON_VALUES.map(json.dumps),
    MESSAGES.map(json.dumps),
    MESSAGES.map(lambda m: json.dumps(m)[:-1]),
)


@pytest.fixture
def property_batch(
    fresh_local_aws: RunningLocalAws, aws_env: dict[str, str], port_client: PortClient
) -> Iterator[EventBatch]:
    port_client.apply_blueprint({"identifier": "fn", "title": "fn", "schema": {"properties": {}, "required": []}})
    fresh_local_aws.bulk_create_lambda_functions(2, prefix="prop")
    clients = AwsClients(max_attempts=1)
    with TimeLimitedJq(timeout_seconds=0.5) as evaluator:
        yield EventBatch(
            load_config(CONFIG),
            lambda spec: fetcher_for(spec, clients),
            port_client,
            evaluator,
            owned_entities_query=CATALOG_INSTALLATION.owned_entities_query,
        )


def unreadable(body: str) -> bool:
    """Whether the consumer's intake refuses the body for good (a raw event that does not resolve)."""
    try:
        parsed = intake.parse(body)
        if isinstance(parsed, intake.RawEvent):
            intake.resolve(parsed, ["AWS::Lambda::Function"])
    except (MessageError, RecursionError):
        return True
    return False


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(BODIES, min_size=1, max_size=10))
def test_no_body_crashes_a_batch(property_batch: EventBatch, bodies: list[str]) -> None:
    records = [SqsRecord(f"id-{n}", body, receive_count=1 + n % 4) for n, body in enumerate(bodies)]
    outcome = property_batch.process(records)
    assert [result.message_id for result in outcome.results] == [record.message_id for record in records]
    for record, result in zip(records, outcome.results, strict=True):
        assert result.acknowledged == (result.error is None)
        if unreadable(record.body):
            assert (result.acknowledged, result.transient) == (False, False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(RAW_EVENTS, min_size=1, max_size=8))
def test_no_raw_event_crashes_a_batch(property_batch: EventBatch, events: list[dict[str, Any]]) -> None:
    records = [SqsRecord(f"raw-{n}", json.dumps(event)) for n, event in enumerate(events)]
    outcome = property_batch.process(records)
    assert [result.message_id for result in outcome.results] == [record.message_id for record in records]
    for record, result in zip(records, outcome.results, strict=True):
        assert result.acknowledged == (result.error is None)
        if unreadable(record.body):
            assert (result.acknowledged, result.transient) == (False, False)
        elif result.ignored is not None:
            assert result.acknowledged and result.skipped


@pytest.fixture
def running_worker(
    event_queues: Callable[..., EventQueues], property_batch: EventBatch
) -> Iterator[tuple[EventQueues, SqsWorker, threading.Thread]]:
    queues = event_queues(visibility_timeout=30, max_receive_count=1)
    worker = SqsWorker(
        property_batch.process, queues.sqs, WorkerOptions(queues.queue_url, wait_seconds=1, retry_delay_seconds=0)
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield queues, worker, thread
    worker.stop()
    thread.join(timeout=15)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(BODIES, min_size=1, max_size=5))
def test_no_body_crashes_the_worker(running_worker: tuple[EventQueues, SqsWorker, Any], bodies: list[str]) -> None:
    queues, worker, thread = running_worker
    received = worker.stats.as_dict()["received"]
    queues.send(*bodies)
    deadline = time.monotonic() + 60
    # Every message is handled: acknowledged, or failed once and moved to the dead-letter queue.
    while queues.depth() > 0 or worker.stats.as_dict()["received"] < received + len(bodies):
        assert time.monotonic() < deadline, "the worker stopped handling messages"
        time.sleep(0.05)
    assert thread.is_alive() and not worker.stopping
