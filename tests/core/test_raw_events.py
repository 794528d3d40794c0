"""Raw EventBridge events resolved through the kind registry (`core.kinds.raw_events`).

The events are the project's generated samples (`rules.samples`: botocore's shapes with the
registry's fields set), and the expected outcome is what the sample says, or what the generated
seed-format rule's message for the same event evaluates to: the same request either way.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.config_items import CONFIG_DETAIL_TYPE, CONFIG_ITEM_FACTS
from port_aws_exporter.core.kinds.raw_events import (
    CLOUDTRAIL_DETAIL_TYPE,
    IgnoredEvent,
    ResourceRequest,
    is_raw_event,
    resolve_raw_event,
)
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.core.message import MessageError, evaluate_message, parse_message
from port_aws_exporter.eventbridge.cloudtrail import CLOUDTRAIL_DETAIL_TYPE as EVENTBRIDGE_CLOUDTRAIL_DETAIL_TYPE
from port_aws_exporter.eventbridge.pattern import compile_pattern
from port_aws_exporter.eventbridge.transformer import compile_input_transformer
from port_aws_exporter.rules.generate import rule_for_kind
from port_aws_exporter.rules.samples import native_sample_case, sample_case, sample_config_item_event

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "config.json"
ACCOUNT = "123456789012"
CASES = [(kind, name) for kind, spec in KINDS.items() if spec.cloudtrail for name in spec.cloudtrail.event_names]


def request(event: dict[str, Any], kinds: list[str] | None = None) -> ResourceRequest:
    resolved = resolve_raw_event(event, kinds)
    assert isinstance(resolved, ResourceRequest), resolved
    return resolved


@pytest.mark.parametrize(("kind", "event_name"), CASES)
def test_every_write_event_of_the_registry_resolves_to_its_kind_action_and_identifier(
    kind: str, event_name: str
) -> None:
    case = sample_case(kind, event_name, account_id=ACCOUNT)

    resolved = request(case.event)

    assert (resolved.kind, resolved.account, resolved.region, resolved.action) == (
        kind,
        ACCOUNT,
        case.event["region"],
        case.action,
    )
    assert resolved.identifier in case.identifiers


@pytest.mark.parametrize(
    "kind", [kind for kind, spec in KINDS.items() if spec.cloudtrail and spec.cloudtrail.native_event]
)
@pytest.mark.parametrize("deleted", [False, True])
def test_native_lifecycle_events_resolve(kind: str, deleted: bool) -> None:
    case = native_sample_case(kind, deleted=deleted)

    resolved = request(case.event)

    assert (resolved.kind, resolved.action) == (kind, case.action)
    assert resolved.identifier in case.identifiers


def test_an_ec2_state_change_is_an_upsert_until_terminated() -> None:
    event = native_sample_case("AWS::EC2::Instance").event
    event["detail"] = {"instance-id": "i-0abc", "state": "stopping"}
    assert (request(event).action, request(event).identifier) == ("upsert", "i-0abc")
    event["detail"]["state"] = "terminated"
    assert request(event).action == "delete"


def test_the_same_request_as_the_generated_rules_message(jq_evaluator: TimeLimitedJq) -> None:
    """For every kind of examples/config.json and each of its events: the raw event resolves to what
    the kind's generated seed-format rule sends for it, once evaluated."""
    for kind in load_config(EXAMPLE_CONFIG).kinds():
        rule = rule_for_kind(kind)
        transformer = compile_input_transformer(rule.input_paths_map, rule.input_template, target_id=kind)
        for name in rule.event_names:
            event = sample_case(kind, name).event
            body = transformer.render(event, rule_name=rule.name, rule_arn="arn:aws:events:eu-west-1:1:rule/r").body
            assert body is not None
            seed = evaluate_message(parse_message(body), jq_evaluator)
            raw = request(event)
            assert (raw.kind, raw.account, raw.region, raw.action, raw.identifier) == (
                seed.resource_type,
                seed.account,
                seed.region,
                seed.action,
                seed.identifier,
            ), (kind, name)


def test_a_version_suffix_the_registry_does_not_list_is_read_as_its_operation() -> None:
    event = sample_case("AWS::Lambda::Function", "UpdateFunctionConfiguration20150331v2").event
    event["detail"]["eventName"] = "UpdateFunctionConfiguration20150331v3"

    resolved = request(event)

    assert (resolved.kind, resolved.action, resolved.identifier) == (
        "AWS::Lambda::Function",
        "upsert",
        "port-sample-function",
    )


def test_tag_calls_naming_an_arn_resolve_to_the_resource_of_the_arn() -> None:
    table = sample_case("AWS::DynamoDB::Table", "TagResource", identifier_values={"TableName": "orders"}).event
    assert table["detail"]["requestParameters"]["resourceArn"].endswith(":table/orders")
    assert (request(table).kind, request(table).identifier) == ("AWS::DynamoDB::Table", "orders")

    # ECS: one TagResource call for clusters, services and tasks; the ARN says which.
    service = sample_case("AWS::ECS::Service", "TagResource").event
    arn = service["detail"]["requestParameters"]["resourceArn"]
    assert request(service).kind == "AWS::ECS::Service"
    assert request(service).identifier.startswith(arn + "|")
    cluster = sample_case("AWS::ECS::Cluster", "UntagResource", identifier_values={"ClusterName": "prod"}).event
    assert (request(cluster).kind, request(cluster).identifier) == ("AWS::ECS::Cluster", "prod")
    task = copy.deepcopy(cluster)
    task["detail"]["requestParameters"]["resourceArn"] = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/prod/0f1e"
    ignored = resolve_raw_event(task)
    assert isinstance(ignored, IgnoredEvent) and ignored.why == "unknown-event"

    function = sample_case("AWS::Lambda::Function", "TagResource20170331v2", identifier_values={"FunctionName": "api"})
    assert request(function.event).identifier == "api"


def test_a_failed_call_is_ignored_never_applied() -> None:
    event = sample_case("AWS::SQS::Queue", "DeleteQueue", error_code="AccessDenied").event

    ignored = resolve_raw_event(event)

    assert isinstance(ignored, IgnoredEvent)
    assert ignored.why == "failed-call"
    assert "AccessDenied" in ignored.reason


def test_a_kind_the_config_does_not_sync_is_ignored_with_the_kind() -> None:
    event = sample_case("AWS::KMS::Key", "ScheduleKeyDeletion").event

    ignored = resolve_raw_event(event, ["AWS::SQS::Queue"])

    assert isinstance(ignored, IgnoredEvent)
    assert (ignored.why, ignored.kind) == ("unconfigured-kind", "AWS::KMS::Key")
    assert request(event, ["AWS::KMS::Key"]).action == "delete"


def test_events_the_registry_does_not_know_are_ignored() -> None:
    read_only = sample_case("AWS::SQS::Queue", "CreateQueue").event
    read_only["detail"]["eventName"] = "ListQueues"
    other = {"source": "aws.health", "detail-type": "AWS Health Event", "detail": {}, "region": "eu-west-1"}
    for event in (read_only, other):
        ignored = resolve_raw_event(event)
        assert isinstance(ignored, IgnoredEvent) and ignored.why == "unknown-event"


def test_broken_events_are_message_errors_that_say_why() -> None:
    event = sample_case("AWS::Lambda::Function", "CreateFunction20150331").event
    event["detail"]["requestParameters"] = {}
    event["detail"]["responseElements"] = None
    with pytest.raises(MessageError, match="does not name the AWS::Lambda::Function"):
        resolve_raw_event(event)
    with pytest.raises(MessageError, match="detail must be a JSON object"):
        resolve_raw_event({"detail-type": "AWS API Call via CloudTrail", "detail": [1]})
    bad_region = sample_case("AWS::SQS::Queue", "CreateQueue").event
    bad_region["region"] = "moon"
    with pytest.raises(MessageError, match="not an AWS region name"):
        resolve_raw_event(bad_region)


@pytest.mark.parametrize("kind", sorted(CONFIG_ITEM_FACTS))
@pytest.mark.parametrize("status", ["ResourceDiscovered", "OK", "ResourceDeleted"])
def test_config_item_changes_resolve(kind: str, status: str) -> None:
    spec = KINDS[kind]
    case = sample_case(kind, spec.cloudtrail.delete[0]) if spec.cloudtrail else None
    event = sample_config_item_event(kind, status, account_id=ACCOUNT)
    assert event["detail-type"] == CONFIG_DETAIL_TYPE and is_raw_event(event)

    resolved = request(event)

    expected_action = "delete" if status == "ResourceDeleted" else "upsert"
    assert (resolved.kind, resolved.account, resolved.action) == (kind, ACCOUNT, expected_action)
    if expected_action == "delete" and case is not None:
        assert resolved.identifier in case.identifiers
    else:
        upsert = sample_case(kind, spec.cloudtrail.create[0]) if spec.cloudtrail else None
        assert upsert is not None and resolved.identifier in upsert.identifiers


def test_an_oversized_config_item_is_read_from_its_summary_and_iam_from_the_event_region() -> None:
    event = sample_config_item_event("AWS::IAM::Role", "OK", identifier_values={"RoleName": "deployer"})
    event["detail"]["configurationItemSummary"] = event["detail"].pop("configurationItem")
    event["detail"]["configurationItemSummary"]["awsRegion"] = "global"
    event["region"] = "us-east-1"

    resolved = request(event)

    assert (resolved.kind, resolved.region, resolved.identifier) == ("AWS::IAM::Role", "us-east-1", "deployer")


def test_resource_filters_decide_as_eventbridge_does() -> None:
    """`ResourceFilter.admits` (core, pure) agrees with `eventbridge.pattern` on each filter, for the
    kind's own sample and for every other kind's sample of the same call."""
    for kind, spec in KINDS.items():
        for item in spec.cloudtrail.filters if spec.cloudtrail else ():
            leaf: Any = list(item.matchers)
            for key in reversed(item.path.split(".")):
                leaf = {key: leaf}
            pattern = compile_pattern(json.dumps(leaf))
            for other_kind, other in KINDS.items():
                if other.cloudtrail is None or other.cloudtrail.event_source != spec.cloudtrail.event_source:  # type: ignore[union-attr]
                    continue
                for name in set(item.event_names) & set(other.cloudtrail.event_names):
                    event = sample_case(other_kind, name).event
                    assert item.admits(event) == pattern.match(event).matched, (kind, other_kind, name)


def test_the_cloudtrail_detail_type_is_eventbridges() -> None:
    assert CLOUDTRAIL_DETAIL_TYPE == EVENTBRIDGE_CLOUDTRAIL_DETAIL_TYPE


def test_partitions_follow_the_region() -> None:
    event = sample_case("AWS::Events::Rule", "PutRule", region="cn-north-1").event
    assert request(event).identifier.startswith("arn:aws-cn:events:cn-north-1:")
