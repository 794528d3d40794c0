"""Batches through the Lambda consumer: partial failures, coalescing, warm reuse, no secrets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from port_aws_exporter import handler as handler_module
from port_aws_exporter.lambda_runtime.events_invocation import BatchNotProcessed, EventsInvocation
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from tests.events.conftest import QUEUE_ARN, MessageFactory, sqs_event
from tests.fixtures.event_queues import LambdaContext


def log_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def catalog_requests(catalog: RunningCatalog) -> dict[str, int]:
    stats = httpx.get(f"{catalog.url}/_local/stats").json()["stats"]
    return {operation: row["requests"] for operation, row in stats.items() if operation != "total"}


def clear_catalog_stats(catalog: RunningCatalog) -> None:
    httpx.delete(f"{catalog.url}/_local/stats").raise_for_status()


def test_a_batch_of_ten_with_one_bad_message_reports_it_alone_and_applies_nine(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    names = fresh_local_aws.bulk_create_lambda_functions(9, prefix="svc")
    bodies = [seed_message("CreateFunction20150331", name) for name in names]
    # The classic rule mistake: an unquoted placeholder makes the region a jq program that fails.
    bad = json.loads(bodies[0]) | {"region": "us-east-1"}
    bodies.insert(4, json.dumps(bad))

    response = events_lambda(sqs_event(*bodies), LambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m4"}]}
    assert sorted(entity["identifier"] for entity in port.iter_blueprint_entities("lambda")) == names
    [failed] = [line for line in log_lines(capsys.readouterr().err) if line.get("outcome") == "failed"]
    assert (failed["message_id"], failed["level"], failed["transient"]) == ("m4", "ERROR", False)
    assert failed["reason"].startswith("region: jq `us-east-1` failed")


def test_ten_events_for_one_function_make_one_read_and_one_write(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="hot")
    names = ["CreateFunction20150331", "UpdateFunctionConfiguration20150331v2"]
    bodies = [seed_message(names[index % 2], name) for index in range(10)]
    fresh_local_aws.server_stats.clear()
    clear_catalog_stats(local_catalog)

    assert events_lambda(sqs_event(*bodies), LambdaContext()) == {"batchItemFailures": []}

    assert fresh_local_aws.stats()["requests"] == {"CloudApiService": 1}
    writes = {op: n for op, n in catalog_requests(local_catalog).items() if "token" not in op}
    assert writes == {"bulk_write": 1}
    assert port.get_entity("lambda", name) is not None


def test_messages_about_a_deleted_function_arriving_out_of_order_delete_its_entity(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    aws_client: Callable[..., Any],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="gone")
    events_lambda(sqs_event(seed_message("CreateFunction20150331", name)), LambdaContext())
    aws_client("lambda").delete_function(FunctionName=name)
    # The delete, then a late update: the update wins the batch, finds nothing, and the delete stands.
    late_update = seed_message("UpdateFunctionConfiguration20150331v2", name)
    batch = sqs_event(seed_message("DeleteFunction20150331", name), late_update)

    assert events_lambda(batch, LambdaContext()) == {"batchItemFailures": []}
    assert port.get_entity("lambda", name) is None


def test_a_function_not_found_yet_is_retried_then_dropped(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog_with("lambda.blueprint.json")
    body = seed_message("CreateFunction20150331", "not-there-yet")
    for attempt in (1, 2):
        assert events_lambda(sqs_event(body, receive_count=attempt), LambdaContext()) == {
            "batchItemFailures": [{"itemIdentifier": "m0"}]
        }
    capsys.readouterr()
    assert events_lambda(sqs_event(body, receive_count=3), LambdaContext()) == {"batchItemFailures": []}
    [dropped] = [line for line in log_lines(capsys.readouterr().err) if line.get("message_id") == "m0"]
    assert dropped["dropped"] is True
    assert "AWS::Lambda::Function not-there-yet in us-east-1 was not found after 3 attempt(s)" in dropped["reason"]


def test_a_backoff_that_cannot_be_set_is_logged_and_the_message_still_fails(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog_with("lambda.blueprint.json")
    # sqs_event names a queue the local endpoint does not have: its receipt handles are made up.
    event = sqs_event(seed_message("CreateFunction20150331", "not-there-yet"))

    assert events_lambda(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    [warning] = [line for line in log_lines(capsys.readouterr().err) if "delaying failed messages" in line["message"]]
    assert warning["level"] == "WARNING" and warning["queue_arn"] == QUEUE_ARN
    assert "after the queue's visibility timeout" in warning["message"]


def test_retry_delays_out_of_order_are_an_error_and_the_message_still_fails(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog_with("lambda.blueprint.json")
    monkeypatch.setenv("EVENTS_RETRY_DELAY_SECONDS", "30")
    monkeypatch.setenv("EVENTS_MAX_RETRY_DELAY_SECONDS", "5")
    event = sqs_event(seed_message("CreateFunction20150331", "not-there-yet"))

    assert events_lambda(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    [error] = [line for line in log_lines(capsys.readouterr().err) if "visibility timeout" in line["message"]]
    assert error["level"] == "ERROR"
    assert "EVENTS_RETRY_DELAY_SECONDS (30) must be 0 to EVENTS_MAX_RETRY_DELAY_SECONDS (5)" in error["message"]


def test_a_warm_consumer_authenticates_once(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog_with("lambda.blueprint.json")
    names = fresh_local_aws.bulk_create_lambda_functions(3, prefix="warm")
    capsys.readouterr()
    for name in names:
        assert events_lambda(sqs_event(seed_message("CreateFunction20150331", name)), LambdaContext()) == {
            "batchItemFailures": []
        }
    done = [line for line in log_lines(capsys.readouterr().err) if line["message"] == "batch done"]
    assert [line["port_auth_calls"] for line in done] == [1, 0, 0]
    assert len({line["aws_request_id"] for line in done}) == 3


def test_lambda_handler_sends_an_sqs_batch_to_the_event_path(
    fresh_local_aws: RunningLocalAws,
    events_env: dict[str, str],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="dispatch")
    try:
        response = handler_module.lambda_handler(
            sqs_event(seed_message("CreateFunction20150331", name), "{broken"), LambdaContext()
        )
    finally:
        handler_module.events_handler.forget()
        handler_module._warm.reset()
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert port.get_entity("lambda", name) is not None


def test_when_the_config_cannot_be_read_the_invocation_fails_and_every_message_returns(
    events_lambda: EventsInvocation,
    seed_message: MessageFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PORT_AWS_EXPORTER_CONFIG", "/nonexistent/config.json")
    body = seed_message("CreateFunction20150331", "any")
    # A failed invocation, not a success listing every message: Lambda's Errors metric counts it,
    # and returns the whole batch to the queue.
    with pytest.raises(BatchNotProcessed, match=r"cannot process the batch of 2 messages: .*/nonexistent/config.json"):
        events_lambda(sqs_event(body, body), LambdaContext())
    [line] = [line for line in log_lines(capsys.readouterr().err) if line["level"] == "ERROR"]
    assert "file not found: /nonexistent/config.json" in line["message"] and line["message_ids"] == ["m0", "m1"]


def test_no_secret_reaches_the_logs_or_the_results(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    local_catalog: RunningCatalog,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="secret")
    body = seed_message("CreateFunction20150331", name)
    # Applied with the right secret (a token is fetched and used)...
    assert events_lambda(sqs_event(body), LambdaContext()) == {"batchItemFailures": []}
    # ...and refused with a wrong one, whose value must not be echoed either.
    wrong = "wrong-secret-6f1d0c2e"
    monkeypatch.setenv("PORT_CLIENT_SECRET", wrong)
    events_lambda.forget()
    response = events_lambda(sqs_event(body), LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    output = capsys.readouterr()
    text = output.err + output.out + json.dumps(response)
    assert "PortAuthError" in text or "auth" in text
    for secret in (local_catalog.client_secret, wrong, "Bearer "):
        assert secret not in text


def test_a_consumer_short_of_time_returns_the_batch_instead_of_being_killed(
    fresh_local_aws: RunningLocalAws,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    names = fresh_local_aws.bulk_create_lambda_functions(3, prefix="late")
    event = sqs_event(*(seed_message("CreateFunction20150331", name) for name in names))
    reads = fresh_local_aws.faults.delay("CloudApiService.GetResource", latency_ms=1)

    # 5 s left: less than the 3 s answer reserve plus the longest Port call of the test client (7.5 s).
    short = events_lambda(event, LambdaContext(deadline=time.monotonic() + 5))

    assert short == {"batchItemFailures": [{"itemIdentifier": f"m{n}"} for n in range(3)]}
    [rule] = [rule for rule in fresh_local_aws.faults.rules() if rule["id"] == reads]
    assert rule["fired"] == 0  # no read was started
    assert list(port.iter_blueprint_entities("lambda")) == []
    assert events_lambda(event, LambdaContext()) == {"batchItemFailures": []}  # with time, all applied
    assert sorted(entity["identifier"] for entity in port.iter_blueprint_entities("lambda")) == names
