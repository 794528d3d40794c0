"""The seed's rule template, end to end: CloudTrail event -> pattern -> InputTransformer -> message.

The message's `region`, `identifier` and `action` are evaluated with jq over the message itself, as
the exporter does (first output), to show that the rendered text is what the seed expects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jq
import pytest

from port_aws_exporter.eventbridge.cloudtrail import cloudtrail_event
from port_aws_exporter.rules.template import EventRule, load_rule_template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:port-aws-exporter-events"

CREATE_MESSAGE = """{
  "resource_type": "AWS::Lambda::Function",
  "requestFunctionName": "test-function",
  "responseFunctionName": "test-function",
  "eventName": "CreateFunction20150331",
  "region": "\\"eu-west-1\\"",
  "identifier": "if .responseFunctionName != \\"\\" then .responseFunctionName else .requestFunctionName end",
  "action": "if .eventName | startswith(\\"Delete\\") then \\"delete\\" else \\"upsert\\" end"
}"""


@pytest.fixture(scope="module")
def seed_rule(shared_data: Path) -> EventRule:
    template = shared_data / "port-examples" / "docs-event-based-updates.lambda.rule.yaml"
    [rule] = load_rule_template(template, imports={"serverlessrepo-port-aws-exporter-EventsQueueARN": QUEUE_ARN})
    return rule


def lambda_event(event_name: str, response: dict[str, Any] | None, error_code: str | None = None) -> dict[str, Any]:
    return cloudtrail_event(
        "lambda.amazonaws.com",
        event_name,
        region=REGION,
        account_id=ACCOUNT,
        request_parameters={"functionName": "test-function"},
        response_elements=response,
        error_code=error_code,
    )


def deliver(rule: EventRule, event: dict[str, Any]) -> str:
    assert rule.compiled_pattern().match(event).matched
    rendered = rule.targets[0].render(event, rule_name=rule.name, rule_arn=rule.arn(REGION, ACCOUNT))
    assert rendered.delivered and rendered.body is not None, rendered.error
    return rendered.body


def evaluate(message_text: str) -> dict[str, str]:
    message = json.loads(message_text)
    return {key: jq.compile(message[key]).input_value(message).first() for key in ("region", "identifier", "action")}


def test_create_function_renders_exactly_the_seed_message(seed_rule: EventRule) -> None:
    body = deliver(seed_rule, lambda_event("CreateFunction20150331", {"functionName": "test-function"}))
    assert body == CREATE_MESSAGE
    assert evaluate(body) == {"region": "eu-west-1", "identifier": "test-function", "action": "upsert"}


def test_delete_function_with_null_response_falls_back_to_the_request(seed_rule: EventRule) -> None:
    body = deliver(seed_rule, lambda_event("DeleteFunction20150331", None))
    message = json.loads(body)
    assert message["responseFunctionName"] == ""
    assert message["requestFunctionName"] == "test-function"
    assert evaluate(body) == {"region": "eu-west-1", "identifier": "test-function", "action": "delete"}


def test_update_configuration_is_an_upsert(seed_rule: EventRule) -> None:
    body = deliver(seed_rule, lambda_event("UpdateFunctionConfiguration20150331v2", {"functionName": "test-function"}))
    assert evaluate(body)["action"] == "upsert"


def test_seed_prefixes_over_match_into_a_wrong_delete(seed_rule: EventRule) -> None:
    """What `rules lint` must warn about: the function still exists, yet the message says delete."""
    body = deliver(seed_rule, lambda_event("DeleteFunctionConcurrency20171031", None))
    assert evaluate(body) == {"region": "eu-west-1", "identifier": "test-function", "action": "delete"}


def test_seed_admits_failed_calls(seed_rule: EventRule) -> None:
    event = lambda_event("CreateFunction20150331", None, error_code="ResourceConflictException")
    assert seed_rule.compiled_pattern().match(event).matched


def test_other_operations_are_filtered_out(seed_rule: EventRule) -> None:
    pattern = seed_rule.compiled_pattern()
    result = pattern.match(lambda_event("GetFunction20150331", {"functionName": "test-function"}))
    assert (result.matched, result.failed_field) == (False, "detail.eventName")
    s3 = cloudtrail_event(
        "s3.amazonaws.com",
        "CreateBucket",
        region=REGION,
        account_id=ACCOUNT,
        request_parameters={"bucketName": "b"},
        response_elements=None,
    )
    assert pattern.match(s3).failed_field == "source"
