"""The issue's test: the seed's rule template deployed locally, CloudTrail events put through boto3,
and exactly the seed's message arriving in SQS (a Delete with null responseElements included)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.message import evaluate_message, parse_message
from port_aws_exporter.eventbridge.cloudtrail import cloudtrail_event
from port_aws_exporter.local.aws.rule_deployment import DeployedRules

FUNCTION = "test-function"

# The seed's template, rendered as AWS renders it (its whitespace kept): the message of the seed.
SEED_MESSAGE = """{
  "resource_type": "AWS::Lambda::Function",
  "requestFunctionName": "test-function",
  "responseFunctionName": "%(response)s",
  "eventName": "%(event_name)s",
  "region": "\\"us-east-1\\"",
  "identifier": "if .responseFunctionName != \\"\\" then .responseFunctionName else .requestFunctionName end",
  "action": "if .eventName | startswith(\\"Delete\\") then \\"delete\\" else \\"upsert\\" end"
}"""


def _put(aws_client: Callable[..., Any], event: dict[str, Any]) -> str:
    answer = aws_client("events").put_events(
        Entries=[{"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}]
    )
    assert answer["FailedEntryCount"] == 0
    return str(answer["Entries"][0]["EventId"])


def _lambda_event(event_name: str, response: dict[str, Any] | None) -> dict[str, Any]:
    return cloudtrail_event(
        "lambda.amazonaws.com",
        event_name,
        region="us-east-1",
        account_id="123456789012",
        request_parameters={"functionName": FUNCTION, "runtime": "python3.12"},
        response_elements=response,
    )


def test_create_function_delivers_exactly_the_seed_message(
    deployed_seed_rule: DeployedRules,
    aws_client: Callable[..., Any],
    queue_bodies: Callable[..., list[str]],
    jq_evaluator: TimeLimitedJq,
) -> None:
    event = _lambda_event("CreateFunction20150331", {"functionName": FUNCTION, "functionArn": "arn:fn"})
    _put(aws_client, event)

    [body] = queue_bodies(deployed_seed_rule.queue_url)

    assert body == SEED_MESSAGE % {"response": FUNCTION, "event_name": "CreateFunction20150331"}
    evaluated = evaluate_message(parse_message(body), jq_evaluator)
    assert (evaluated.region, evaluated.identifier, evaluated.action) == ("us-east-1", FUNCTION, "upsert")


def test_delete_function_with_null_response_renders_an_empty_response_name(
    deployed_seed_rule: DeployedRules,
    aws_client: Callable[..., Any],
    queue_bodies: Callable[..., list[str]],
    jq_evaluator: TimeLimitedJq,
) -> None:
    event = _lambda_event("DeleteFunction20150331", None)
    assert event["detail"]["responseElements"] is None
    _put(aws_client, event)

    [body] = queue_bodies(deployed_seed_rule.queue_url)

    assert body == SEED_MESSAGE % {"response": "", "event_name": "DeleteFunction20150331"}
    assert json.loads(body)["responseFunctionName"] == ""
    evaluated = evaluate_message(parse_message(body), jq_evaluator)
    assert (evaluated.identifier, evaluated.action) == (FUNCTION, "delete")


def test_events_the_seed_pattern_does_not_admit_are_not_delivered(
    deployed_seed_rule: DeployedRules, aws_client: Callable[..., Any], queue_bodies: Callable[..., list[str]]
) -> None:
    other_call = _lambda_event("PublishVersion20150331", {"functionName": FUNCTION})
    other_service = cloudtrail_event(
        "sqs.amazonaws.com",
        "CreateQueue",
        region="us-east-1",
        account_id="123456789012",
        request_parameters={"queueName": "q"},
        response_elements={"queueUrl": "https://sqs/q"},
    )
    _put(aws_client, other_call)
    _put(aws_client, other_service)

    assert queue_bodies(deployed_seed_rule.queue_url) == []
