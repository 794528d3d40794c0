"""The Cloud Control API surface: paging, the generic store, resource requests and every error code."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.local.aws import RunningLocalAws

LAMBDA = "AWS::Lambda::Function"
LOG_GROUP = "AWS::Logs::LogGroup"


def _error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


def _final_event(cc: Any, progress: dict[str, Any]) -> dict[str, Any]:
    token = progress["ProgressEvent"]["RequestToken"]
    event: dict[str, Any] = cc.get_resource_request_status(RequestToken=token)["ProgressEvent"]
    return event


@pytest.fixture
def cc(fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]) -> Any:
    return aws_client("cloudcontrol", retries={"mode": "standard", "total_max_attempts": 1})


def test_paging_over_250_functions_with_the_paginator(fresh_local_aws: RunningLocalAws, cc: Any) -> None:
    names = fresh_local_aws.bulk_create_lambda_functions(250, prefix="page")
    pages = list(cc.get_paginator("list_resources").paginate(TypeName=LAMBDA, PaginationConfig={"PageSize": 100}))
    assert [len(page["ResourceDescriptions"]) for page in pages] == [100, 100, 50]
    assert [d["Identifier"] for page in pages for d in page["ResourceDescriptions"]] == names
    assert "NextToken" not in pages[-1]


def test_default_page_size_follows_the_service(fresh_local_aws: RunningLocalAws, cc: Any) -> None:
    fresh_local_aws.bulk_create_lambda_functions(120, prefix="default")
    pages = list(cc.get_paginator("list_resources").paginate(TypeName=LAMBDA))
    assert [len(page["ResourceDescriptions"]) for page in pages] == [50, 50, 20]


def test_paging_resumes_after_the_last_identifier_when_resources_were_deleted(
    fresh_local_aws: RunningLocalAws, cc: Any, aws_client: Callable[..., Any]
) -> None:
    names = fresh_local_aws.bulk_create_lambda_functions(6, prefix="gone")
    first = cc.list_resources(TypeName=LAMBDA, MaxResults=3)
    assert [d["Identifier"] for d in first["ResourceDescriptions"]] == names[:3]
    aws_client("lambda").delete_function(FunctionName=names[0])
    second = cc.list_resources(TypeName=LAMBDA, MaxResults=3, NextToken=first["NextToken"])
    assert [d["Identifier"] for d in second["ResourceDescriptions"]] == names[3:]
    assert "NextToken" not in second


def test_generic_type_create_read_list_update_delete(cc: Any) -> None:
    created = cc.create_resource(
        TypeName=LOG_GROUP, DesiredState=json.dumps({"LogGroupName": "/app/orders", "RetentionInDays": 7})
    )["ProgressEvent"]
    assert created["OperationStatus"] == "IN_PROGRESS"
    assert created["Operation"] == "CREATE"
    done = _final_event(cc, {"ProgressEvent": created})
    assert done["OperationStatus"] == "SUCCESS"
    assert done["Identifier"] == "/app/orders"

    listed = cc.list_resources(TypeName=LOG_GROUP)["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == ["/app/orders"]
    properties = json.loads(
        cc.get_resource(TypeName=LOG_GROUP, Identifier="/app/orders")["ResourceDescription"]["Properties"]
    )
    assert properties["RetentionInDays"] == 7
    assert properties["Arn"].startswith("arn:aws:logs:us-east-1:123456789012:")

    patch = json.dumps([{"op": "replace", "path": "/RetentionInDays", "value": 30}])
    updated = cc.update_resource(TypeName=LOG_GROUP, Identifier="/app/orders", PatchDocument=patch)
    assert _final_event(cc, updated)["OperationStatus"] == "SUCCESS"
    properties = json.loads(
        cc.get_resource(TypeName=LOG_GROUP, Identifier="/app/orders")["ResourceDescription"]["Properties"]
    )
    assert properties["RetentionInDays"] == 30

    deleted = cc.delete_resource(TypeName=LOG_GROUP, Identifier="/app/orders")
    assert _final_event(cc, deleted)["OperationStatus"] == "SUCCESS"
    assert (
        _error_code(lambda: cc.get_resource(TypeName=LOG_GROUP, Identifier="/app/orders"))
        == "ResourceNotFoundException"
    )
    assert cc.list_resources(TypeName=LOG_GROUP)["ResourceDescriptions"] == []


def test_the_waiter_sees_a_create_succeed(cc: Any) -> None:
    created = cc.create_resource(TypeName=LOG_GROUP, DesiredState=json.dumps({"LogGroupName": "waited"}))
    cc.get_waiter("resource_request_success").wait(RequestToken=created["ProgressEvent"]["RequestToken"])


def test_generated_identifiers_for_types_whose_identifier_aws_assigns(cc: Any) -> None:
    created = cc.create_resource(TypeName="AWS::EC2::VPC", DesiredState=json.dumps({"CidrBlock": "10.1.0.0/16"}))
    done = _final_event(cc, created)
    assert done["OperationStatus"] == "SUCCESS"
    assert done["Identifier"].startswith("vpc-")
    model = json.loads(
        cc.get_resource(TypeName="AWS::EC2::VPC", Identifier=done["Identifier"])["ResourceDescription"]["Properties"]
    )
    assert model["CidrBlock"] == "10.1.0.0/16"


def test_a_type_listed_under_a_parent_needs_and_filters_by_its_resource_model(cc: Any) -> None:
    for api, name in (("api-1", "auth-a"), ("api-1", "auth-b"), ("api-2", "auth-c")):
        state = {"RestApiId": api, "Name": name, "Type": "TOKEN"}
        cc.create_resource(TypeName="AWS::ApiGateway::Authorizer", DesiredState=json.dumps(state))
    code = _error_code(lambda: cc.list_resources(TypeName="AWS::ApiGateway::Authorizer"))
    assert code == "InvalidRequestException"
    listed = cc.list_resources(TypeName="AWS::ApiGateway::Authorizer", ResourceModel=json.dumps({"RestApiId": "api-1"}))
    identifiers = [d["Identifier"] for d in listed["ResourceDescriptions"]]
    names = sorted(
        json.loads(
            cc.get_resource(TypeName="AWS::ApiGateway::Authorizer", Identifier=identifier)["ResourceDescription"][
                "Properties"
            ]
        )["Name"]
        for identifier in identifiers
    )
    assert names == ["auth-a", "auth-b"]
    # The list descriptions carry the primary identifier only (RestApiId, AuthorizerId).
    assert all(
        set(json.loads(d["Properties"])) == {"RestApiId", "AuthorizerId"} for d in listed["ResourceDescriptions"]
    )


def test_create_through_cloud_control_of_a_moto_type_lands_in_the_service(
    cc: Any, aws_client: Callable[..., Any]
) -> None:
    created = cc.create_resource(
        TypeName="AWS::SQS::Queue",
        DesiredState=json.dumps({"QueueName": "via-cc", "VisibilityTimeout": 90, "Tags": [{"Key": "a", "Value": "b"}]}),
    )
    done = _final_event(cc, created)
    assert done["OperationStatus"] == "SUCCESS"
    sqs = aws_client("sqs")
    url = sqs.get_queue_url(QueueName="via-cc")["QueueUrl"]
    assert done["Identifier"] == url
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "90"
    }
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "b"}
    cc.delete_resource(TypeName="AWS::SQS::Queue", Identifier=url)
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_a_desired_state_outside_the_schema_is_refused_at_once(cc: Any) -> None:
    """AWS answers CreateResource with a ValidationException, not an IN_PROGRESS event that fails
    later (recorded: pulumi/pulumi-aws-native#581, "Model validation failed (#/...: extraneous
    key [Id] is not permitted)")."""
    with pytest.raises(ClientError) as extraneous:
        cc.create_resource(TypeName=LOG_GROUP, DesiredState=json.dumps({"LogGroupName": "x", "Colour": "red"}))
    error = extraneous.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "Model validation failed (#: extraneous key [Colour] is not permitted)"
    with pytest.raises(ClientError) as wrong_type:
        cc.create_resource(TypeName=LOG_GROUP, DesiredState=json.dumps({"RetentionInDays": "a week"}))
    message = wrong_type.value.response["Error"]["Message"]
    assert message.startswith("Model validation failed (#/RetentionInDays: ")
    assert cc.list_resource_requests()["ResourceRequestStatusSummaries"] == []


def test_failed_changes_end_as_failed_progress_events_with_handler_codes(cc: Any) -> None:
    read_only = cc.create_resource(TypeName=LOG_GROUP, DesiredState=json.dumps({"LogGroupName": "x", "Arn": "arn:x"}))
    assert _final_event(cc, read_only)["ErrorCode"] == "InvalidRequest"

    cc.create_resource(TypeName=LOG_GROUP, DesiredState=json.dumps({"LogGroupName": "twice"}))
    again = cc.create_resource(TypeName=LOG_GROUP, DesiredState=json.dumps({"LogGroupName": "twice"}))
    assert _final_event(cc, again)["ErrorCode"] == "AlreadyExists"

    rename = json.dumps([{"op": "replace", "path": "/LogGroupName", "value": "renamed"}])
    renamed = cc.update_resource(TypeName=LOG_GROUP, Identifier="twice", PatchDocument=rename)
    assert _final_event(cc, renamed)["ErrorCode"] == "NotUpdatable"

    missing = cc.delete_resource(TypeName=LOG_GROUP, Identifier="never-created")
    assert _final_event(cc, missing)["ErrorCode"] == "NotFound"


def test_client_token_makes_a_create_idempotent_and_detects_conflicts(cc: Any) -> None:
    state = json.dumps({"LogGroupName": "idempotent"})
    first = cc.create_resource(TypeName=LOG_GROUP, DesiredState=state, ClientToken="token-1")
    second = cc.create_resource(TypeName=LOG_GROUP, DesiredState=state, ClientToken="token-1")
    assert first["ProgressEvent"]["RequestToken"] == second["ProgressEvent"]["RequestToken"]
    assert _final_event(cc, second)["OperationStatus"] == "SUCCESS"
    other = json.dumps({"LogGroupName": "other"})
    code = _error_code(lambda: cc.create_resource(TypeName=LOG_GROUP, DesiredState=other, ClientToken="token-1"))
    assert code == "ClientTokenConflictException"


def test_resource_requests_are_listed_and_cannot_be_cancelled_once_done(cc: Any) -> None:
    cc.create_resource(TypeName=LOG_GROUP, DesiredState=json.dumps({"LogGroupName": "a"}))
    deleted = cc.delete_resource(TypeName=LOG_GROUP, Identifier="a")
    summaries = cc.list_resource_requests(ResourceRequestStatusFilter={"Operations": ["DELETE"]})[
        "ResourceRequestStatusSummaries"
    ]
    assert [(s["Operation"], s["OperationStatus"], s["Identifier"]) for s in summaries] == [("DELETE", "SUCCESS", "a")]
    token = deleted["ProgressEvent"]["RequestToken"]
    assert _error_code(lambda: cc.cancel_resource_request(RequestToken=token)) == "ConcurrentModificationException"
    assert _error_code(lambda: cc.get_resource_request_status(RequestToken="nope")) == "RequestTokenNotFoundException"


def test_error_codes_of_reads(cc: Any) -> None:
    assert _error_code(lambda: cc.list_resources(TypeName="AWS::Made::Up")) == "TypeNotFoundException"
    assert (
        _error_code(lambda: cc.get_resource(TypeName="AWS::ACM::Certificate", Identifier="x"))
        == "TypeNotFoundException"
    )
    assert _error_code(lambda: cc.get_resource(TypeName=LAMBDA, Identifier="nope")) == "ResourceNotFoundException"
    code = _error_code(lambda: cc.list_resources(TypeName="AWS::StepFunctions::StateMachine"))
    assert code == "UnsupportedActionException"
    code = _error_code(lambda: cc.get_resource(TypeName="AWS::Route53::RecordSet", Identifier="x"))
    assert code == "UnsupportedActionException"
    code = _error_code(lambda: cc.list_resources(TypeName=LAMBDA, NextToken="not-a-token"))
    assert code == "InvalidRequestException"
    code = _error_code(lambda: cc.list_resources(TypeName="AWS::ApiGateway::Authorizer", ResourceModel="{not json"))
    assert code == "InvalidRequestException"


def test_throttling_fault_is_an_aws_throttling_error(fresh_local_aws: RunningLocalAws, cc: Any) -> None:
    fresh_local_aws.faults.fail("CloudApiService.ListResources", code="ThrottlingException", count=1)
    assert _error_code(lambda: cc.list_resources(TypeName=LAMBDA)) == "ThrottlingException"
    assert cc.list_resources(TypeName=LAMBDA)["ResourceDescriptions"] == []


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({"X-Amz-Target": "CloudApiService.NoSuchOperation"}, b"{}", "UnknownOperationException"),
        ({"X-Amz-Target": "CloudApiService.ListResources"}, b"{broken", "SerializationException"),
        ({"X-Amz-Target": "CloudApiService.ListResources"}, b"[]", "SerializationException"),
        (
            {"X-Amz-Target": "CloudApiService.GetResource"},
            b'{"TypeName": "AWS::Lambda::Function"}',
            "InvalidRequestException",
        ),
    ],
)
def test_malformed_requests_get_a_4xx_never_a_500(
    fresh_local_aws: RunningLocalAws, headers: dict[str, str], body: bytes, code: str
) -> None:
    response = httpx.post(
        fresh_local_aws.url, content=body, headers={"Content-Type": "application/x-amz-json-1.0", **headers}
    )
    assert response.status_code == 400
    assert response.json()["__type"] == code


def test_a_resource_deleted_before_its_page_is_read_is_skipped(
    fresh_local_aws: RunningLocalAws, cc: Any, aws_client: Callable[..., Any]
) -> None:
    names = fresh_local_aws.bulk_create_lambda_functions(4, prefix="skip")
    first = cc.list_resources(TypeName=LAMBDA, MaxResults=2)
    aws_client("lambda").delete_function(FunctionName=names[3])
    second = cc.list_resources(TypeName=LAMBDA, MaxResults=2, NextToken=first["NextToken"])
    assert [d["Identifier"] for d in second["ResourceDescriptions"]] == [names[2]]
