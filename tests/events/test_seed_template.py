"""The seed's rule template and Port's sns-sqs example, end to end through the Lambda consumer.

CloudTrail event → the rule's pattern and InputTransformer → message → `events_handler` → the local
catalog, with the resources living on the local AWS endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.message import evaluate_message, parse_message
from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.port import PortClient
from port_aws_exporter.rules.samples import sample_event
from port_aws_exporter.rules.template import load_rule_template
from tests.events.conftest import IMPORTS, MessageFactory, examples, render, sqs_event
from tests.fixtures.event_queues import ACCOUNT_ID, REGION, LambdaContext


def log_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_create_update_and_delete_function_each_end_as_the_right_catalog_change(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    aws_client: Callable[..., Any],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="orders")
    lambda_api = aws_client("lambda")

    assert events_lambda(sqs_event(seed_message("CreateFunction20150331", name)), LambdaContext()) == {
        "batchItemFailures": []
    }
    created = port.get_entity("lambda", name)
    assert created is not None
    assert (created["title"], created["properties"]["memorySize"]) == (name, 128)
    assert created["properties"]["arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"

    lambda_api.update_function_configuration(FunctionName=name, MemorySize=512, Timeout=30)
    body = seed_message("UpdateFunctionConfiguration20150331v2", name)
    assert events_lambda(sqs_event(body), LambdaContext()) == {"batchItemFailures": []}
    updated = port.get_entity("lambda", name)
    assert updated is not None
    assert (updated["properties"]["memorySize"], updated["properties"]["timeout"]) == (512, 30)

    lambda_api.delete_function(FunctionName=name)
    assert events_lambda(sqs_event(seed_message("DeleteFunction20150331", name)), LambdaContext()) == {
        "batchItemFailures": []
    }
    assert port.get_entity("lambda", name) is None


def test_delete_function_concurrency_leaves_the_function_entity_and_names_the_rule_mistake(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="billing")
    events_lambda(sqs_event(seed_message("CreateFunction20150331", name)), LambdaContext())
    body = seed_message("DeleteFunctionConcurrency20171031", name)
    assert json.loads(body)["eventName"] == "DeleteFunctionConcurrency20171031"  # the seed's rule does deliver it

    # Held back while AWS might still be catching up with a real delete: the message comes back...
    for attempt in (1, 2):
        response = events_lambda(sqs_event(body, receive_count=attempt), LambdaContext())
        assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
        assert port.get_entity("lambda", name) is not None
    capsys.readouterr()
    # ...then dropped, with the reason, and the entity stays.
    assert events_lambda(sqs_event(body, receive_count=3), LambdaContext()) == {"batchItemFailures": []}
    assert port.get_entity("lambda", name) is not None
    [dropped] = [line for line in log_lines(capsys.readouterr().err) if line.get("message_id") == "m0"]
    assert dropped["level"] == "WARNING" and dropped["dropped"] is True
    assert "the rule's prefix DeleteFunction also matches DeleteFunctionConcurrency20171031" in dropped["reason"]


def test_sns_sqs_example_upserts_by_queue_url_and_deletes_by_queue_name(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    aws_client: Callable[..., Any],
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    jq_evaluator: TimeLimitedJq,
) -> None:
    monkeypatch.setenv("PORT_AWS_EXPORTER_CONFIG", str(examples(shared_data) / "sns-sqs.mapping.json"))
    port = catalog_with("sns-sqs.sqs.blueprint.json", "sns-sqs.sns.blueprint.json")
    rules = load_rule_template(examples(shared_data) / "sns-sqs.rule.yaml", imports=IMPORTS)
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName="invoices", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]

    def message(event_name: str) -> str:
        properties = {"QueueName": "invoices", "QueueUrl": url}
        event = sample_event("AWS::SQS::Queue", event_name, identifier_values=properties, account_id=ACCOUNT_ID)
        event["detail"]["awsRegion"] = REGION
        return render(rules, event)

    create, delete = message("CreateQueue"), message("DeleteQueue")
    assert evaluate_message(parse_message(create), jq_evaluator).identifier == url
    assert evaluate_message(parse_message(delete), jq_evaluator).identifier == "invoices"
    assert events_lambda(sqs_event(create), LambdaContext()) == {"batchItemFailures": []}
    entity = port.get_entity("sqs", "invoices")
    assert entity is not None and entity["properties"]["visibilityTimeout"] == 45

    sqs.delete_queue(QueueUrl=url)
    assert events_lambda(sqs_event(delete), LambdaContext()) == {"batchItemFailures": []}
    assert port.get_entity("sqs", "invoices") is None
