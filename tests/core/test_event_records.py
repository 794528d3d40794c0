"""SQS records read leniently, message results, partial batch responses; the over-match hints."""

from __future__ import annotations

import boto3
import pytest

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.sqs_queues import queue_by_arn, queue_region
from port_aws_exporter.core.delete_guard import overmatch_hint
from port_aws_exporter.events.batch import EventOptions
from port_aws_exporter.events.records import BatchOutcome, EntityRef, MessageResult, SqsRecord, retry_delay


def test_lambda_and_boto3_records_read_the_same() -> None:
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:events"
    from_lambda = SqsRecord.from_lambda(
        {
            "messageId": "a",
            "body": "{}",
            "attributes": {"ApproximateReceiveCount": "3"},
            "receiptHandle": "h",
            "eventSourceARN": queue_arn,
        }
    )
    from_receive = SqsRecord.from_receive(
        {"MessageId": "a", "Body": "{}", "ReceiptHandle": "h", "Attributes": {"ApproximateReceiveCount": "3"}}
    )
    assert from_lambda == SqsRecord("a", "{}", 3, "h", queue_arn)
    assert from_receive == SqsRecord("a", "{}", 3, "h")


def test_the_retry_delay_doubles_per_delivery_up_to_its_maximum() -> None:
    assert [retry_delay(count, 10, 600) for count in (1, 2, 3, 6, 7, 100)] == [10, 20, 40, 320, 600, 600]
    assert retry_delay(0, 10, 600) == 10 and retry_delay(5, 0, 600) == 0


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("not a mapping", SqsRecord("", "not a mapping")),
        ({}, SqsRecord("", "")),
        ({"messageId": 7, "body": {"a": 1}, "attributes": "x"}, SqsRecord("", '{"a": 1}')),
        ({"messageId": "m", "body": "b", "attributes": {"ApproximateReceiveCount": "zero"}}, SqsRecord("m", "b")),
        ({"messageId": "m", "body": "b", "attributes": {"ApproximateReceiveCount": -4}}, SqsRecord("m", "b")),
    ],
)
def test_odd_records_never_raise(record: object, expected: SqsRecord) -> None:
    assert SqsRecord.from_lambda(record) == expected


def test_results_and_the_partial_batch_response() -> None:
    applied = MessageResult("a", "AWS::Lambda::Function", "upsert", "eu-west-1", "f", written=[EntityRef("fn", "f")])
    skipped = MessageResult("b", skipped="superseded")
    failed = MessageResult("c", error="Port is down", transient=True)
    outcome = BatchOutcome([applied, skipped, failed, MessageResult("c", error="again")])
    assert [r.outcome for r in outcome.results] == ["applied", "skipped", "failed", "failed"]
    assert outcome.batch_item_failures() == {"batchItemFailures": [{"itemIdentifier": "c"}]}
    assert applied.as_dict() == {
        "action": "upsert",
        "region": "eu-west-1",
        "identifier": "f",
        "written": [{"blueprint": "fn", "identifier": "f"}],
        "deleted": [],
        "skipped": None,
        "error": None,
    }
    assert failed.log_fields()["transient"] is True and "transient" not in applied.log_fields()


def test_the_hint_names_the_prefix_that_over_matches() -> None:
    hint = overmatch_hint("AWS::Lambda::Function", {"eventName": "DeleteFunctionConcurrency20171031"})
    assert hint.startswith(
        "the rule's prefix DeleteFunction also matches DeleteFunctionConcurrency20171031, which is not a delete of "
        "AWS::Lambda::Function (its delete is DeleteFunction20150331)"
    )


def test_hints_without_an_event_name_or_for_a_real_delete() -> None:
    generic = overmatch_hint("AWS::Lambda::Function", {"resource_type": "AWS::Lambda::Function"})
    assert "DeleteFunction matches DeleteFunctionConcurrency20171031" in generic
    real = overmatch_hint("AWS::SQS::Queue", {"eventName": "DeleteQueue"})
    assert real.startswith("the event DeleteQueue is the delete of AWS::SQS::Queue, yet the resource still exists")
    unrelated = overmatch_hint("AWS::SQS::Queue", {"name": "TagQueue"})
    assert unrelated.startswith("the event TagQueue is not a delete of AWS::SQS::Queue (its delete is DeleteQueue)")
    unknown_kind = overmatch_hint("AWS::Made::Up", {})
    assert "exact event name" in unknown_kind


def test_queue_region() -> None:
    assert queue_region("https://sqs.eu-west-1.amazonaws.com/123456789012/events") == "eu-west-1"
    assert queue_region("https://sqs.us-gov-west-1.amazonaws.com/1/q") == "us-gov-west-1"
    assert queue_region("http://127.0.0.1:4566/123456789012/events") is None


def test_a_queue_arn_gives_its_regions_client_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    clients = AwsClients(boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"))
    sqs, url = queue_by_arn(clients, "arn:aws:sqs:eu-west-1:123456789012:events")
    assert sqs.meta.region_name == "eu-west-1"
    assert url == "https://sqs.eu-west-1.amazonaws.com/123456789012/events"
    for not_a_queue in ("arn:aws:sns:eu-west-1:123456789012:topic", "arn:aws:sqs:eu-west-1:events", "events"):
        with pytest.raises(ValueError, match="not an SQS queue ARN"):
            queue_by_arn(clients, not_a_queue)


def test_event_options_are_checked() -> None:
    with pytest.raises(ValueError, match="not_found_attempts must be at least 1, got 0"):
        EventOptions(not_found_attempts=0)
