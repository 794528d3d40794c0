"""The event path's test setup: the seed's Lambda mapping on the local stack, messages from rules.

Messages are made as production makes them: a sample CloudTrail event (`rules.samples`) rendered
by the rule's InputTransformer (the seed's template, or Port's sns-sqs example), never by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.lambda_runtime.warm_state import WarmState
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from port_aws_exporter.rules.samples import sample_event
from port_aws_exporter.rules.template import EventRule, load_rule_template
from tests.fixtures.event_queues import ACCOUNT_ID, REGION

SEED_RULE = "docs-event-based-updates.lambda.rule.yaml"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:port-aws-exporter-events"
IMPORTS = {"serverlessrepo-port-aws-exporter-EventsQueueARN": QUEUE_ARN}
# Fails fast, so that an outage reaches the queue's retries within a test's seconds.
TEST_PORT_OPTIONS: dict[str, Any] = {
    "timeout": 5.0,
    "max_attempts": 2,
    "retry_budget_seconds": 0.5,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
}

MessageFactory = Callable[..., str]


def examples(shared_data: Path) -> Path:
    return shared_data / "port-examples"


def render(rules: list[EventRule], event: dict[str, Any]) -> str:
    """The body the first matching rule's target sends to the queue for `event`."""
    for rule in rules:
        if rule.compiled_pattern().match(event).matched:
            rendered = rule.targets[0].render(event, rule_name=rule.name, rule_arn=rule.arn(REGION, ACCOUNT_ID))
            assert rendered.delivered and rendered.body is not None, rendered.error
            return rendered.body
    raise AssertionError(f"no rule matches {event['detail'].get('eventName')}")


@pytest.fixture(scope="session")
def seed_rules(shared_data: Path) -> list[EventRule]:
    return load_rule_template(examples(shared_data) / SEED_RULE, imports=IMPORTS)


@pytest.fixture(scope="session")
def seed_message(seed_rules: list[EventRule]) -> MessageFactory:
    """`seed_message(event_name, function_name)`: the seed rule's message for a Lambda API call."""

    def make(event_name: str, function_name: str, region: str = REGION) -> str:
        event = sample_event(
            "AWS::Lambda::Function",
            event_name,
            identifier_values={"FunctionName": function_name},
            region=region,
            account_id=ACCOUNT_ID,
        )
        return render(seed_rules, event)

    return make


@pytest.fixture
def catalog_with(
    local_catalog: RunningCatalog, port_client: PortClient, shared_data: Path
) -> Callable[..., PortClient]:
    """`catalog_with("lambda.blueprint.json", ...)`: the local catalog with these example blueprints."""

    def apply(*names: str) -> PortClient:
        for name in names:
            port_client.apply_blueprint(json.loads((examples(shared_data) / name).read_text()))
        return port_client

    return apply


@pytest.fixture
def events_env(
    aws_env: dict[str, str], local_catalog: RunningCatalog, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> dict[str, str]:
    """The event consumer Lambda's environment: the seed's Lambda mapping, the local catalog."""
    env = {
        "PORT_AWS_EXPORTER_CONFIG": str(examples(shared_data) / "lambda.mapping.json"),
        "PORT_CLIENT_ID": local_catalog.client_id,
        "PORT_CLIENT_SECRET": local_catalog.client_secret,
        "PORT_API_URL": local_catalog.url,
        "LOG_LEVEL": "INFO",
        # The test queues' visibility timeout is 1 s: failed messages come back as fast as before.
        "EVENTS_RETRY_DELAY_SECONDS": "1",
        "EVENTS_MAX_RETRY_DELAY_SECONDS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**aws_env, **env}


@pytest.fixture
def events_lambda(events_env: dict[str, str]) -> Iterator[EventsInvocation]:
    """A cold event consumer (its own warm state), with Port retries short enough for tests."""
    warm = WarmState()
    yield EventsInvocation(warm, port_options=TEST_PORT_OPTIONS)
    warm.reset()


def sqs_event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    """A Lambda SQS event holding these message bodies (ids m0, m1, …)."""
    return {
        "Records": [
            {
                "messageId": f"m{index}",
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": REGION,
            }
            for index, body in enumerate(bodies)
        ]
    }
