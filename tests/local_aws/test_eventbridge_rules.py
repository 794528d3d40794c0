"""The local EventBridge as AWS runs it, through boto3: where moto's own EventBridge differs.

Each test puts rules and targets and events through the endpoint and reads what reached SQS.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.local.aws import RunningLocalAws

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass
class Bus:
    """A queue in the fresh endpoint, and helpers to point rules at it and put events."""

    events: Any
    sqs: Any
    queue_url: str
    queue_arn: str
    drain: Callable[..., list[str]]

    def rule(
        self, name: str, pattern: dict[str, Any] | None = None, *, target: dict[str, Any] | None = None, **rule: Any
    ) -> str:
        if pattern is not None:
            rule["EventPattern"] = json.dumps(pattern)
        arn = str(self.events.put_rule(Name=name, **rule)["RuleArn"])
        self.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": self.queue_arn, **(target or {})}])
        return arn

    def put(
        self, detail: dict[str, Any], *, source: str = "app.orders", detail_type: str = "Order", **entry: Any
    ) -> str:
        answer = self.events.put_events(
            Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), **entry}]
        )
        assert answer["FailedEntryCount"] == 0, answer
        return str(answer["Entries"][0]["EventId"])

    def bodies(self) -> list[str]:
        return self.drain(self.queue_url)


@pytest.fixture
def bus(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any], queue_bodies: Callable[..., list[str]]
) -> Bus:
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName="rule-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Bus(aws_client("events"), sqs, url, arn, queue_bodies)


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def test_disabled_rules_do_not_deliver_until_enabled(bus: Bus, fresh_local_aws: RunningLocalAws) -> None:
    bus.rule("orders", {"source": ["app.orders"]}, State="DISABLED")
    bus.put({"n": 1})
    assert bus.bodies() == []
    assert fresh_local_aws.eventbridge.rule("orders").matched_events == 0

    bus.events.enable_rule(Name="orders")
    bus.put({"n": 2})
    assert [json.loads(body)["detail"] for body in bus.bodies()] == [{"n": 2}]


def test_a_template_rendering_invalid_json_is_not_delivered_and_counted(
    bus: Bus, fresh_local_aws: RunningLocalAws
) -> None:
    # An object placed inside a JSON string: AWS renders it raw, the result is not JSON.
    transformer = {"InputPathsMap": {"o": "$.detail.order"}, "InputTemplate": '{"order": "<o>"}'}
    arn = bus.rule("orders", {"source": ["app.orders"]}, target={"InputTransformer": transformer})

    event_id = bus.put({"order": {"id": 7}})
    bus.put({"order": "seven"})

    assert bus.bodies() == ['{"order": "seven"}']
    metrics = fresh_local_aws.eventbridge.rule("orders")
    assert (metrics.matched_events, metrics.invocations, metrics.failed_invocations) == (2, 2, 1)
    [failure] = fresh_local_aws.eventbridge.failures("orders")
    assert (failure.rule_arn, failure.target_id, failure.event_id) == (arn, "queue", event_id)
    assert "not valid JSON" in failure.reason
    over_http = httpx.get(f"{fresh_local_aws.url}/_local/eventbridge").json()
    assert over_http["rules"][arn] == {"MatchedEvents": 2, "Invocations": 2, "FailedInvocations": 1}
    assert over_http["failures"][0]["event_id"] == event_id


def test_a_missing_target_queue_fails_the_invocation_not_put_events(bus: Bus, fresh_local_aws: RunningLocalAws) -> None:
    bus.rule("orders", {"source": ["app.orders"]})
    bus.events.put_targets(Rule="orders", Targets=[{"Id": "gone", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:gone"}])

    bus.put({"n": 1})

    assert len(bus.bodies()) == 1
    [failure] = fresh_local_aws.eventbridge.failures()
    assert failure.target_id == "gone" and "QueueDoesNotExist" in failure.reason


def test_arrays_of_objects_match_as_on_aws(bus: Bus) -> None:
    bus.rule("ec2-volumes", {"detail": {"items": {"type": ["volume"]}}})
    bus.put({"items": [{"type": "instance"}, {"type": "volume"}]})
    bus.put({"items": [{"type": "instance"}]})
    assert [json.loads(body)["detail"]["items"][1]["type"] for body in bus.bodies()] == ["volume"]


def test_numbers_do_not_match_booleans(bus: Bus) -> None:
    bus.rule("one", {"detail": {"flag": [1]}})
    bus.put({"flag": True})
    bus.put({"flag": 1})
    assert [json.loads(body)["detail"] for body in bus.bodies()] == [{"flag": 1}]


def test_exists_is_false_on_an_empty_array(bus: Bus) -> None:
    bus.rule("tagged", {"detail": {"tags": [{"exists": True}]}})
    bus.put({"tags": []})
    bus.put({"tags": ["a"]})
    assert [json.loads(body)["detail"] for body in bus.bodies()] == [{"tags": ["a"]}]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ('{"source": [{"bogus-op": 1}]}', "Event pattern is not valid. Reason: Unrecognized match type bogus-op"),
        ("[1]", "Event pattern is not valid. Reason: Filter is not an object"),
        ('{"source": "aws.lambda"}', 'Event pattern is not valid. Reason: "source" must be an object or an array'),
    ],
)
def test_put_rule_rejects_what_aws_rejects_with_its_message(bus: Bus, pattern: str, message: str) -> None:
    code, text = _error(lambda: bus.events.put_rule(Name="bad", EventPattern=pattern))
    assert (code, text) == ("InvalidEventPatternException", message)
    assert bus.events.list_rules()["Rules"] == []


def test_put_rule_rejects_every_pattern_aws_rejects(bus: Bus, shared_data: Any) -> None:
    data = json.loads((shared_data / "eventbridge-pattern-vectors.json").read_text(encoding="utf-8"))
    invalid = [vector for group in data["groups"] for vector in group["vectors"] if vector.get("invalid")]
    # AWS's undocumented "too complex" wildcard limit is a warning in the toolkit, not an error.
    invalid = [vector for vector in invalid if vector["id"] != "aws-content_wildcard_complex_EXC"]
    assert len(invalid) >= 30
    for vector in invalid:
        pattern = vector.get("pattern_text") or json.dumps(vector["pattern"])
        code, text = _error(functools.partial(bus.events.put_rule, Name="bad", EventPattern=pattern))
        assert code == "InvalidEventPatternException", vector["id"]
        assert text.startswith(vector["aws_error"]), (vector["id"], text)


def test_input_path_target_gets_the_selected_part(bus: Bus) -> None:
    bus.rule("orders", {"source": ["app.orders"]}, target={"InputPath": "$.detail.order"})
    bus.put({"order": {"id": 7, "lines": [1, 2]}})
    assert bus.bodies() == ['{"id":7,"lines":[1,2]}']


def test_constant_input_target_gets_the_constant(bus: Bus) -> None:
    bus.rule("orders", {"source": ["app.orders"]}, target={"Input": '{"kind": "constant"}'})
    bus.put({"order": 1})
    assert bus.bodies() == ['{"kind": "constant"}']


def test_the_default_event_is_the_whole_aws_event_with_account(bus: Bus) -> None:
    bus.rule("orders", {"source": ["app.orders"]})

    event_id = bus.put({"n": 1}, Resources=["arn:aws:x"], Time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))

    [body] = bus.bodies()
    event = json.loads(body)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert event == {
        "version": "0",
        "id": event_id,
        "detail-type": "Order",
        "source": "app.orders",
        "account": ACCOUNT,
        "time": "2024-01-02T03:04:05Z",
        "region": REGION,
        "resources": ["arn:aws:x"],
        "detail": {"n": 1},
    }


def test_rule_name_and_arn_variables(bus: Bus) -> None:
    template = '{"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>"}'
    arn = bus.rule("orders", {"source": ["app.orders"]}, target={"InputTransformer": {"InputTemplate": template}})
    bus.put({"n": 1})
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders"
    assert [json.loads(body) for body in bus.bodies()] == [{"rule": "orders", "arn": arn}]


def test_rule_arn_on_a_custom_bus_names_the_bus(bus: Bus) -> None:
    bus.events.create_event_bus(Name="apps")
    template = '{"arn": "<aws.events.rule-arn>"}'
    bus.events.put_rule(Name="orders", EventBusName="apps", EventPattern=json.dumps({"source": ["app.orders"]}))
    bus.events.put_targets(
        Rule="orders",
        EventBusName="apps",
        Targets=[{"Id": "queue", "Arn": bus.queue_arn, "InputTransformer": {"InputTemplate": template}}],
    )
    bus.put({"n": 1}, EventBusName="apps")
    assert [json.loads(body) for body in bus.bodies()] == [
        {"arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/apps/orders"}
    ]


def test_schedule_only_rules_match_no_event(bus: Bus, fresh_local_aws: RunningLocalAws) -> None:
    bus.rule("nightly", ScheduleExpression="rate(1 day)")
    bus.put({"n": 1})
    assert bus.bodies() == []
    assert fresh_local_aws.eventbridge.rule("nightly").matched_events == 0


def test_read_only_cloudtrail_events_need_the_all_management_events_state(bus: Bus) -> None:
    pattern = {"source": ["aws.s3"]}
    bus.rule("writes", pattern, target={"Input": '"writes"'})
    bus.rule("all", pattern, State="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", target={"Input": '"all"'})
    cloudtrail = {"source": "aws.s3", "detail_type": "AWS API Call via CloudTrail"}

    bus.put({"eventName": "GetBucketPolicy", "readOnly": True}, **cloudtrail)
    assert bus.bodies() == ['"all"']
    bus.put({"eventName": "PutBucketPolicy", "readOnly": False}, **cloudtrail)
    assert sorted(bus.bodies()) == ['"all"', '"writes"']


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"InputTransformer": {"InputPathsMap": {"a": "$.detail.a"}, "InputTemplate": '{"a": <b>}'}},
            "InputTemplate for target t1 contains invalid placeholder b.",
        ),
        (
            {"Input": "{}", "InputPath": "$.detail"},
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
        ),
        (
            {"InputTransformer": {"InputPathsMap": {"k": "$.detail.k"}, "InputTemplate": "{<k>: 1}"}},
            "InputTemplate for target t1 uses <k> as an object key; a placeholder cannot be used as an object key.",
        ),
    ],
)
def test_put_targets_rejects_what_aws_rejects_with_its_message(bus: Bus, target: dict[str, Any], message: str) -> None:
    bus.events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["app.orders"]}))
    code, text = _error(
        lambda: bus.events.put_targets(Rule="orders", Targets=[{"Id": "t1", "Arn": bus.queue_arn, **target}])
    )
    assert (code, text) == ("ValidationException", message)
    assert bus.events.list_targets_by_rule(Rule="orders")["Targets"] == []


def test_test_event_pattern_answers_with_the_project_matcher(bus: Bus) -> None:
    event = {
        "id": "1",
        "account": ACCOUNT,
        "source": "app.orders",
        "time": "2024-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail-type": "Order",
        "detail": {"items": [{"type": "volume"}]},
    }
    matching = json.dumps({"detail": {"items": {"type": ["volume"]}}})
    other = json.dumps({"detail": {"items": {"type": ["instance"]}}})

    assert bus.events.test_event_pattern(EventPattern=matching, Event=json.dumps(event))["Result"] is True
    assert bus.events.test_event_pattern(EventPattern=other, Event=json.dumps(event))["Result"] is False
    code, _ = _error(lambda: bus.events.test_event_pattern(EventPattern='{"a": [{"x": 1}]}', Event=json.dumps(event)))
    assert code == "InvalidEventPatternException"
    code, text = _error(lambda: bus.events.test_event_pattern(EventPattern=matching, Event='{"source": "x"}'))
    assert (code, text) == ("ValidationException", "Parameter Event is not valid.")


def test_sns_topic_targets_fan_out_to_their_subscribers(bus: Bus, aws_client: Callable[..., Any]) -> None:
    sns = aws_client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=bus.queue_arn, Attributes={"RawMessageDelivery": "true"})
    bus.events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["app.orders"]}))
    bus.events.put_targets(Rule="orders", Targets=[{"Id": "topic", "Arn": topic, "Input": '{"via": "sns"}'}])

    bus.put({"n": 1})

    assert bus.bodies() == ['{"via": "sns"}']


def test_an_event_bus_target_forwards_the_event_itself(bus: Bus) -> None:
    apps = bus.events.create_event_bus(Name="apps")["EventBusArn"]
    bus.events.put_rule(Name="forward", EventPattern=json.dumps({"source": ["app.orders"]}))
    bus.events.put_targets(Rule="forward", Targets=[{"Id": "apps", "Arn": apps}])
    bus.events.put_rule(Name="orders", EventBusName="apps", EventPattern=json.dumps({"source": ["app.orders"]}))
    bus.events.put_targets(Rule="orders", EventBusName="apps", Targets=[{"Id": "queue", "Arn": bus.queue_arn}])

    bus.put({"n": 1})

    [body] = bus.bodies()
    assert (json.loads(body)["detail"], json.loads(body)["source"]) == ({"n": 1}, "app.orders")
