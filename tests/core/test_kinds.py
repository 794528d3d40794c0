"""The kind registry's facts agree with the CloudFormation registry schemas (cfn-handlers.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.core.kinds.registry import KINDS, FetcherName, spec_for


@pytest.fixture(scope="module")
def handlers(shared_data: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared_data / "cfn-handlers.json").read_text())
    return data


def _identifier(entry: dict[str, Any]) -> tuple[str, ...]:
    return tuple(pointer.removeprefix("/properties/") for pointer in entry["primaryIdentifier"])


def test_cloud_control_rows_use_the_schemas_primary_identifier(handlers: dict[str, Any]) -> None:
    for spec in KINDS.values():
        if spec.fetcher is FetcherName.CLOUD_CONTROL:
            assert spec.primary_identifier == _identifier(handlers[spec.kind]), spec.kind


def test_kinds_without_a_list_handler_are_listed_natively(handlers: dict[str, Any]) -> None:
    for spec in KINDS.values():
        if spec.fetcher is FetcherName.CLOUD_CONTROL:
            has_list = handlers[spec.kind].get("list") is not None
            assert (spec.native_listing is None) == has_list, spec.kind


def test_every_kind_of_the_port_examples_and_of_the_cloudtrail_table_is_known(shared_data: Path) -> None:
    index = json.loads((shared_data / "port-examples" / "index.json").read_text())
    example_kinds = {
        kind for section in index["sections"].values() for file in section["files"] for kind in file.get("kinds", [])
    }
    trail_kinds = set(json.loads((shared_data / "trail-events.json").read_text())["types"])
    assert example_kinds - set(KINDS) == set()
    assert trail_kinds - set(KINDS) == set()


def test_the_original_exporters_five_native_fetchers_and_the_organisations_accounts() -> None:
    native = {spec.kind: spec.fetcher for spec in KINDS.values() if spec.fetcher is not FetcherName.CLOUD_CONTROL}
    assert native == {
        "AWS::EC2::Instance": FetcherName.EC2_INSTANCE,
        "AWS::ElasticLoadBalancingV2::LoadBalancer": FetcherName.ELBV2_LOAD_BALANCER,
        "AWS::ACM::Certificate": FetcherName.ACM_CERTIFICATE,
        "AWS::CloudFormation::Stack": FetcherName.CLOUDFORMATION_STACK,
        "AWS::ElastiCache::CacheCluster": FetcherName.ELASTICACHE_CACHE_CLUSTER,
        "AWS::Organizations::Account": FetcherName.ORGANIZATIONS_ACCOUNT,
    }


def test_identifier_of_joins_parts_in_order() -> None:
    service = spec_for("AWS::ECS::Service")
    assert service.identifier_of({"Cluster": "arn:c", "ServiceArn": "arn:s"}) == "arn:s|arn:c"
    assert service.identifier_of({"ServiceArn": "arn:s"}) is None


def test_unknown_kinds_fall_back_to_cloud_control() -> None:
    spec = spec_for("AWS::Glue::Job")
    assert spec.fetcher is FetcherName.CLOUD_CONTROL
    assert spec.primary_identifier == ()
    assert spec.service == "glue"


def _lower_prefix(actions: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"{a.split(':')[0].lower()}:{a.split(':')[1]}" for a in actions))


def test_handler_permissions_match_the_schemas(handlers: dict[str, Any]) -> None:
    for spec in KINDS.values():
        if spec.fetcher is not FetcherName.CLOUD_CONTROL:
            continue
        entry = handlers[spec.kind]
        assert spec.handler_permissions.list == _lower_prefix((entry.get("list") or {}).get("permissions", []))
        assert spec.handler_permissions.read == _lower_prefix((entry.get("read") or {}).get("permissions", []))


def test_read_actions_cover_native_calls_and_handlers() -> None:
    assert spec_for("AWS::EC2::Instance").read_actions == ("ec2:DescribeInstances",)
    state_machines = spec_for("AWS::StepFunctions::StateMachine").read_actions
    assert state_machines[0] == "states:ListStateMachines"
    assert "states:DescribeStateMachine" in state_machines
    lambda_actions = spec_for("AWS::Lambda::Function").read_actions
    assert lambda_actions[:2] == ("lambda:ListFunctions", "lambda:GetFunction")
