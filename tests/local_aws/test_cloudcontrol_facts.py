"""`core.kinds.cloudcontrol` is our own table; it must say exactly what `cfn-handlers.json` says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from port_aws_exporter.core.kinds import cloudcontrol as facts
from tests.local_aws.cloudcontrol_facts_source import list_facts, unreadable_types


@pytest.fixture(scope="module")
def handlers(shared_data: Path) -> dict[str, object]:
    loaded = json.loads((shared_data / "cfn-handlers.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_unlistable_types_match_the_registry(handlers: dict[str, object]) -> None:
    unlistable, _, _ = list_facts(handlers)
    assert unlistable == facts.UNLISTABLE_TYPES
    assert len(facts.UNLISTABLE_TYPES) == 83
    assert "AWS::StepFunctions::StateMachine" in facts.UNLISTABLE_TYPES


def test_list_parents_match_the_registry(handlers: dict[str, object]) -> None:
    _, requires, one_of = list_facts(handlers)
    assert requires == facts.LIST_REQUIRES
    assert one_of == facts.LIST_REQUIRES_ONE_OF
    assert len(facts.LIST_REQUIRES) == 307
    assert facts.LIST_REQUIRES["AWS::ApiGateway::Authorizer"] == ("RestApiId",)


def test_unreadable_types_match_the_registry(handlers: dict[str, object]) -> None:
    assert unreadable_types(handlers) == facts.UNREADABLE_TYPES
    assert not facts.is_readable("AWS::Route53::RecordSet")
    assert facts.is_readable("AWS::Lambda::Function")


def test_the_common_kinds_are_listable_without_a_parent() -> None:
    for type_name in ("AWS::Lambda::Function", "AWS::ECS::Service", "AWS::SQS::Queue", "AWS::S3::Bucket"):
        assert facts.is_listable(type_name)
        assert not facts.list_requirement(type_name).needs_parent


def test_missing_reports_the_absent_parent_properties() -> None:
    component = facts.list_requirement("AWS::AmplifyUIBuilder::Component")
    assert component.all_of == ("AppId", "EnvironmentName")
    assert component.missing(None) == ("AppId", "EnvironmentName")
    assert component.missing({"AppId": "a1"}) == ("EnvironmentName",)
    assert component.missing({"AppId": "a1", "EnvironmentName": "prod"}) == ()


def test_one_of_groups_need_one_complete_group() -> None:
    association = facts.list_requirement("AWS::AppStream::StackUserAssociation")
    assert association.needs_parent
    assert association.missing({}) == ("StackName",)
    assert association.missing({"UserName": "u"}) == ("StackName",)
    assert association.missing({"UserName": "u", "AuthenticationType": "SAML"}) == ()
    assert association.missing({"StackName": "s"}) == ()
    assert "one of StackName or UserName+AuthenticationType" in association.describe()


def test_an_unknown_type_is_assumed_listable() -> None:
    assert facts.is_listable("AWS::Made::Up")
    assert facts.list_requirement("AWS::Made::Up").missing(None) == ()
