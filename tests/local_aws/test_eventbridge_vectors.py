"""The shared vectors through the running endpoint: each InputTransformer vector deployed on a rule,
its event put with boto3, and the body that reached SQS compared with what AWS delivered.

Vectors whose output depends on what a local put cannot reproduce (the event id AWS assigned, an
account other than moto's, a rule ARN or ingestion time recorded on AWS) are left to the renderer's
own vector tests; so is the one low-confidence vector.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.local.aws import RunningLocalAws
from tests.conftest import SHARED_DATA

MOTO_ACCOUNT = "123456789012"
_EVENT_VARIABLES = ("<aws.events.event>", "<aws.events.event.json>")


def _reproducible(vector: dict[str, Any]) -> bool:
    paths = vector["input_paths_map"].values()
    uses_envelope = any(path in ("$.id", "$.account") for path in paths) or any(
        variable in vector["input_template"] for variable in _EVENT_VARIABLES
    )
    return (
        vector["confidence"] != "low"
        and not vector.get("context")
        and not uses_envelope
        and vector["event"].get("account", MOTO_ACCOUNT) in (MOTO_ACCOUNT, "111111111111")
    )


def _vectors() -> list[dict[str, Any]]:
    path = SHARED_DATA / "input-transformer-vectors.json"
    if not path.is_file():
        return []
    return [vector for vector in json.loads(path.read_text(encoding="utf-8"))["vectors"] if _reproducible(vector)]


VECTORS = _vectors()


def test_most_vectors_are_reproducible_through_the_endpoint() -> None:
    assert len(VECTORS) >= 28


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["id"] for vector in VECTORS])
def test_transformer_vector_end_to_end(
    vector: dict[str, Any],
    fresh_local_aws: RunningLocalAws,
    aws_client: Callable[..., Any],
    queue_bodies: Callable[..., list[str]],
) -> None:
    event = vector["event"]
    region = event.get("region", "us-east-1")
    sqs, events = aws_client("sqs", region=region), aws_client("events", region=region)
    queue_url = sqs.create_queue(QueueName="vector")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="vector", EventPattern=json.dumps({"source": [event["source"]]}))
    target = {
        "Id": "target-id",
        "Arn": queue_arn,
        "InputTransformer": {"InputPathsMap": vector["input_paths_map"], "InputTemplate": vector["input_template"]},
    }
    if vector["outcome"] == "put_targets_error":
        _assert_refused(events, target, vector)
        return
    events.put_targets(Rule="vector", Targets=[target])

    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event.get("resources", []),
    }
    if "time" in event:
        entry["Time"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    bodies = queue_bodies(queue_url, region=region)
    if vector["outcome"] == "not_delivered":
        assert bodies == []
        assert fresh_local_aws.eventbridge.rule("vector").failed_invocations == 1
        return
    [body] = bodies
    if vector["compare"] == "exact":
        assert body == vector["expected_output"]
    else:
        expected = vector.get("expected_output_json", vector.get("expected_output"))
        if isinstance(expected, str):
            expected = json.loads(expected)
        assert json.loads(body) == expected


def _assert_refused(events: Any, target: dict[str, Any], vector: dict[str, Any]) -> None:
    if "InputPath: $.detail" in vector.get("note", ""):
        target["InputPath"] = "$.detail"
    with pytest.raises(ClientError) as raised:
        events.put_targets(Rule="vector", Targets=[target])
    error = raised.value.response["Error"]
    expected = vector["expected_error"]
    assert error["Code"] == expected["Code"]
    assert error["Message"] == expected["Message"].replace("<target-id>", "target-id")
