"""CloudTrail events as EventBridge delivers them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.eventbridge.cloudtrail import CLOUDTRAIL_DETAIL_TYPE, cloudtrail_event, eventbridge_source


def test_envelope_and_record() -> None:
    event = cloudtrail_event(
        "lambda.amazonaws.com",
        "CreateFunction20150331",
        region="eu-west-1",
        account_id="123456789012",
        request_parameters={"functionName": "fn"},
        response_elements={"functionName": "fn"},
        event_time=datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    )
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event["version"] == "0"
    assert event["detail-type"] == CLOUDTRAIL_DETAIL_TYPE == "AWS API Call via CloudTrail"
    assert event["source"] == "aws.lambda"
    assert (event["account"], event["region"], event["resources"]) == ("123456789012", "eu-west-1", [])
    assert event["time"] == "2024-01-02T03:04:05Z"
    detail = event["detail"]
    assert detail["eventVersion"] == "1.09"
    assert detail["eventSource"] == "lambda.amazonaws.com"
    assert detail["eventName"] == "CreateFunction20150331"
    assert detail["awsRegion"] == "eu-west-1"
    assert detail["eventTime"] == event["time"]
    assert detail["requestParameters"] == {"functionName": "fn"}
    assert detail["responseElements"] == {"functionName": "fn"}
    assert detail["readOnly"] is False
    assert detail["eventType"] == "AwsApiCall"
    assert detail["managementEvent"] is True
    assert detail["eventCategory"] == "Management"
    assert detail["recipientAccountId"] == "123456789012"
    assert detail["userIdentity"]["accountId"] == "123456789012"
    assert detail["userIdentity"]["type"] == "AssumedRole"
    assert "errorCode" not in detail and "errorMessage" not in detail
    json.dumps(event)  # plain JSON data


def test_failed_call_carries_the_error_and_no_response() -> None:
    event = cloudtrail_event(
        "s3.amazonaws.com",
        "CreateBucket",
        region="us-east-1",
        account_id="123456789012",
        request_parameters={"bucketName": "taken"},
        error_code="BucketAlreadyExists",
    )
    detail = event["detail"]
    assert detail["errorCode"] == "BucketAlreadyExists"
    assert detail["errorMessage"]
    assert detail["responseElements"] is None
    keys = list(detail)
    assert keys.index("errorCode") < keys.index("requestParameters")


def test_success_needs_response_elements() -> None:
    with pytest.raises(TypeError, match="needs response_elements"):
        cloudtrail_event("s3.amazonaws.com", "CreateBucket", region="r", account_id="a", request_parameters={})


@pytest.mark.parametrize(
    ("event_source", "source"),
    [
        ("lambda.amazonaws.com", "aws.lambda"),
        ("elasticfilesystem.amazonaws.com", "aws.elasticfilesystem"),
        ("cognito-idp.amazonaws.com", "aws.cognito-idp"),
        ("es.amazonaws.com", "aws.es"),
    ],
)
def test_eventbridge_source(event_source: str, source: str) -> None:
    assert eventbridge_source(event_source) == source


def test_read_only_is_inferred_and_can_be_given() -> None:
    def read_only(name: str, given: bool | None = None) -> bool:
        event = cloudtrail_event(
            "ec2.amazonaws.com",
            name,
            region="r",
            account_id="a",
            request_parameters=None,
            response_elements=None,
            read_only=given,
        )
        return bool(event["detail"]["readOnly"])

    assert read_only("DescribeInstances") and read_only("GetFunction20150331") and read_only("ListBuckets")
    assert not read_only("RunInstances") and not read_only("DeleteBucket")
    assert read_only("RunInstances", given=True)


def test_ids_are_fresh_unless_given() -> None:
    def make(event_id: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        return cloudtrail_event(
            "sqs.amazonaws.com",
            "CreateQueue",
            region="r",
            account_id="a",
            request_parameters={},
            response_elements={},
            event_time="2024-01-01T00:00:00Z",
            event_id=event_id,
            request_id=request_id,
        )

    first, second = make(), make()
    assert first["id"] != second["id"]
    assert first["detail"]["eventID"] != second["detail"]["eventID"]
    fixed = make(event_id="e-1", request_id="r-1")
    assert (fixed["detail"]["eventID"], fixed["detail"]["requestID"]) == ("e-1", "r-1")
    assert fixed["time"] == "2024-01-01T00:00:00Z"


def test_shape_covers_the_shared_cloudtrail_samples(shared_data: Path) -> None:
    """Every field of the CloudTrail events in the shared vectors is present in ours."""
    vectors = json.loads((shared_data / "input-transformer-vectors.json").read_text(encoding="utf-8"))["vectors"]
    [sample] = [vector["event"] for vector in vectors if vector["id"] == "port-lambda-create"]
    ours = cloudtrail_event(
        "lambda.amazonaws.com",
        "CreateFunction20150331",
        region="eu-west-1",
        account_id="123456789012",
        request_parameters={"functionName": "my-fn"},
        response_elements={"functionName": "my-fn"},
    )
    assert set(sample) <= set(ours)
    assert set(sample["detail"]) <= set(ours["detail"])
    excerpt = (shared_data / "port-examples" / "docs-event-based-updates.cloudtrail-event-excerpt.txt").read_text()
    for field in ("eventSource", "eventName", "awsRegion", "requestParameters", "responseElements"):
        assert f'"{field}"' in excerpt and field in ours["detail"]
