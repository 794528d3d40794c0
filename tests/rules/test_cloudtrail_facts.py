"""The registry's CloudTrail facts agree with trail-events.json, and hold together on their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jq
import pytest

from port_aws_exporter.core.kinds.cloudtrail import CLOUDTRAIL_FACTS, CloudTrailFacts
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.rules.samples import sample_properties

# Where our facts deliberately differ from the file, and why.
OMITTED_NAMES = {
    # Neither call names the instance (an association id, an instance profile).
    "AWS::EC2::Instance": {"AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation"},
    # Names only the query-logging configuration, not the zone.
    "AWS::Route53::HostedZone": {"DeleteQueryLoggingConfig"},
}
# The file lists these in two groups; we keep each in one.
DOUBLE_LISTED = {"AWS::Events::Rule": {"PutRule"}, "AWS::ACM::Certificate": {"ImportCertificate"}}
# Paths the file gives that we read elsewhere (KMS: resources[0].ARN is safer than keyId, an alias or ARN).
OTHER_PATHS = {
    "AWS::KMS::Key": {"$.detail.requestParameters.keyId"},
    "AWS::EC2::Instance": {
        "$.detail.responseElements.instancesSet.items[*].instanceId",
        "$.detail.requestParameters.instancesSet.items[*].instanceId",
        "$.detail.requestParameters.resourcesSet.items[*].resourceId",
    },
}


@pytest.fixture(scope="module")
def trail_types(shared_data: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared_data / "trail-events.json").read_text())["types"]
    return data


def facts(kind: str) -> CloudTrailFacts:
    found = CLOUDTRAIL_FACTS[kind]
    assert KINDS[kind].cloudtrail is found
    return found


def test_every_kind_of_the_file_has_facts(trail_types: dict[str, Any]) -> None:
    assert set(trail_types) <= set(CLOUDTRAIL_FACTS)
    assert len(trail_types) == 30


def test_event_sources(trail_types: dict[str, Any]) -> None:
    for kind, entry in trail_types.items():
        assert facts(kind).event_source == entry["eventSource"], kind
        assert facts(kind).eventbridge_source == entry["eventBridgeSource"], kind


def test_event_names_by_group(trail_types: dict[str, Any]) -> None:
    for kind, entry in trail_types.items():
        ours = facts(kind)
        omitted = OMITTED_NAMES.get(kind, set())
        assert set(ours.create) == set(entry["create"]) - omitted, kind
        assert set(ours.delete) == set(entry["delete"]) - omitted, kind
        expected_updates = set(entry["update"]) - omitted - DOUBLE_LISTED.get(kind, set())
        assert set(ours.update) | set(ours.tag) == expected_updates, kind
        assert not set(ours.update) & set(ours.tag), kind


def test_global_services(trail_types: dict[str, Any]) -> None:
    for kind, entry in trail_types.items():
        assert KINDS[kind].global_service == bool(entry.get("globalService")), kind


def test_identifier_paths_cover_the_files(trail_types: dict[str, Any]) -> None:
    for kind, entry in trail_types.items():
        ours = facts(kind)
        our_paths = {item.path for source in ours.identifiers for item in source.fields}
        if ours.delete_identifier is not None:
            our_paths |= {item.path for item in ours.delete_identifier.fields}
        their_paths = {path for paths in entry["identifierPaths"].values() for path in paths}
        assert their_paths - our_paths - OTHER_PATHS.get(kind, set()) == set(), kind


def test_native_events(trail_types: dict[str, Any]) -> None:
    assert facts("AWS::AppRunner::Service").native_event is not None
    assert trail_types["AWS::AppRunner::Service"]["nativeEvent"]["detail-type"] == (
        facts("AWS::AppRunner::Service").native_event.detail_type  # type: ignore[union-attr]
    )
    assert facts("AWS::EC2::Instance").native_event.detail_type == "EC2 Instance State-change Notification"  # type: ignore[union-attr]
    assert facts("AWS::CloudFormation::Stack").native_event.delete_statuses == ("DELETE_COMPLETE",)  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", sorted(CLOUDTRAIL_FACTS))
def test_every_event_name_has_a_source_of_its_identifier(kind: str) -> None:
    ours = facts(kind)
    for name in ours.event_names:
        source = ours.delete_source_for(name) if ours.action_of(name) == "delete" else ours.source_for(name)
        assert source is not None, name
    for item in ours.filters:
        assert set(item.event_names) <= set(ours.event_names)


@pytest.mark.parametrize("kind", sorted(CLOUDTRAIL_FACTS))
def test_expressions_turn_the_properties_they_read_into_the_identifier(kind: str) -> None:
    """Each expression, fed the sample resource's properties, gives its Cloud Control identifier
    (or a name its fetcher reads by), and for deletes the entity identifier."""
    spec = KINDS[kind]
    ours = facts(kind)
    props = sample_properties(kind)
    cloud_control = "|".join(props[name] for name in spec.primary_identifier)
    accepted = {cloud_control, *(props[name] for name in ours.upsert_alternatives)}
    for source in ours.identifiers:
        assert evaluate(source.expression, props) in accepted, (kind, source.event_names)
    if ours.delete_identifier is not None:
        assert ours.entity_property is not None
        assert evaluate(ours.delete_identifier.expression, props) == props[ours.entity_property]
    if ours.native_event is not None:
        assert evaluate(ours.native_event.expression, props) == cloud_control
        if ours.native_event.delete_expression is not None:
            assert evaluate(ours.native_event.delete_expression, props) == props[ours.entity_property or ""]


def evaluate(expression: str, props: dict[str, str]) -> Any:
    region = "eu-west-1"
    variables = {**props, "region": region, "account": "123456789012", "partition": "aws"}
    return jq.compile(expression, args=variables).input_value(None).first()


def test_name_or_arn_transforms() -> None:
    lambda_name = facts("AWS::Lambda::Function").default_source.expression  # type: ignore[union-attr]
    for given in ("fn", "fn:prod", "arn:aws:lambda:eu-west-1:1:function:fn", "1:function:fn:3"):
        assert evaluate(lambda_name, {"FunctionName": given}) == "fn"
    ecs_tags = facts("AWS::ECS::Service").source_for("TagResource").expression  # type: ignore[union-attr]
    assert (
        evaluate(ecs_tags, {"ServiceArn": "arn:aws:ecs:r:1:service/c/s"})
        == "arn:aws:ecs:r:1:service/c/s|arn:aws:ecs:r:1:cluster/c"
    )
    assert evaluate(ecs_tags, {"ServiceArn": "arn:aws:ecs:r:1:service/old-format"}) == ""
    rule_arn = facts("AWS::Events::Rule").default_source.expression  # type: ignore[union-attr]
    assert evaluate(rule_arn, {"Name": "r", "EventBusName": ""}).endswith(":rule/r")
    assert evaluate(rule_arn, {"Name": "r", "EventBusName": "arn:aws:events:r:1:event-bus/b"}).endswith(":rule/b/r")
    listener = facts("AWS::ElasticLoadBalancingV2::LoadBalancer").source_for("DeleteListener").expression  # type: ignore[union-attr]
    assert evaluate(listener, {"ListenerArn": "arn:aws:elasticloadbalancing:r:1:listener/app/lb/50/f2"}) == (
        "arn:aws:elasticloadbalancing:r:1:loadbalancer/app/lb/50"
    )
    batch = facts("AWS::Batch::JobQueue").default_source.expression  # type: ignore[union-attr]
    assert evaluate(batch, {"JobQueueName": "q"}) == "arn:aws:batch:eu-west-1:123456789012:job-queue/q"


def test_actions() -> None:
    lambda_facts = facts("AWS::Lambda::Function")
    assert lambda_facts.action_of("DeleteFunction20150331") == "delete"
    assert lambda_facts.action_of("DeleteFunctionConcurrency20171031") == "upsert"
    assert lambda_facts.event_names[0] == "CreateFunction20150331"
    assert lambda_facts.event_names[-1] == "DeleteFunction20150331"
