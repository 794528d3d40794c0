"""The endpoint itself: lifecycle, control routes, the target-handler hook, the fixtures."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest

from port_aws_exporter.local.aws import RunningLocalAws, start_local_aws
from port_aws_exporter.local.aws.aws_request import AwsRequest
from port_aws_exporter.local.aws.http_response import HttpResponse, json_response
from port_aws_exporter.local.aws.rest_operations import rest_operation_name


def test_start_serves_on_a_free_loopback_port_and_stop_releases_it() -> None:
    with start_local_aws() as aws:
        assert aws.url == f"http://127.0.0.1:{aws.port}"
        assert httpx.get(f"{aws.url}/_local/health").json() == {"status": "ok"}
        port = aws.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_local/health", timeout=2)
    aws.stop()  # idempotent


def test_aws_env_points_code_that_builds_its_own_clients_at_the_endpoint(
    fresh_local_aws: RunningLocalAws, aws_env: dict[str, str]
) -> None:
    assert aws_env["AWS_ENDPOINT_URL"] == fresh_local_aws.url
    sqs = boto3.client("sqs")  # no endpoint, region or credentials given
    url = sqs.create_queue(QueueName="from-env")["QueueUrl"]
    assert url == f"{fresh_local_aws.url}/123456789012/from-env"
    assert sqs.meta.region_name == "us-east-1"
    listed = boto3.client("cloudcontrol").list_resources(TypeName="AWS::SQS::Queue")["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == [url]


def test_reset_empties_moto_the_store_and_the_faults(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    aws_client("sqs").create_queue(QueueName="before-reset")
    cc = aws_client("cloudcontrol")
    cc.create_resource(TypeName="AWS::Logs::LogGroup", DesiredState=json.dumps({"LogGroupName": "lg"}))
    fresh_local_aws.faults.fail("nothing:Matches")
    assert httpx.post(f"{fresh_local_aws.url}/_local/reset").json() == {"status": "ok"}
    assert "QueueUrls" not in aws_client("sqs").list_queues()
    assert cc.list_resources(TypeName="AWS::Logs::LogGroup")["ResourceDescriptions"] == []
    assert fresh_local_aws.faults.rules() == []


def test_bulk_route_writes_functions_straight_into_moto(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    response = httpx.post(
        f"{fresh_local_aws.url}/_local/bulk/lambda-functions",
        json={
            "count": 3,
            "region": "eu-west-1",
            "prefix": "bulk",
            "start": 7,
            "memory_size": 256,
            "tags": {"a": "b"},
        },
    )
    assert response.json() == {"created": 3, "first": ["bulk-00007"], "last": ["bulk-00009"]}
    functions = aws_client("lambda", "eu-west-1").list_functions()["Functions"]
    assert [(f["FunctionName"], f["MemorySize"]) for f in functions] == [
        ("bulk-00007", 256),
        ("bulk-00008", 256),
        ("bulk-00009", 256),
    ]
    bad = httpx.post(f"{fresh_local_aws.url}/_local/bulk/lambda-functions", json={"count": 1, "memory_size": 1})
    assert bad.status_code == 400
    assert "memory_size" in bad.json()["error"]


def test_stats_count_requests_per_part(fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    fresh_local_aws.server_stats.clear()
    aws_client("sqs").list_queues()
    aws_client("cloudcontrol").list_resources(TypeName="AWS::SQS::Queue")
    stats = httpx.get(f"{fresh_local_aws.url}/_local/stats").json()
    assert stats["requests"] == {"moto": 1, "CloudApiService": 1}
    assert stats["total_seconds"] > 0
    assert httpx.delete(f"{fresh_local_aws.url}/_local/stats").json() == {"status": "ok"}
    assert fresh_local_aws.stats()["requests"] == {"control": 1}


def test_unknown_control_routes_are_404(fresh_local_aws: RunningLocalAws) -> None:
    response = httpx.get(f"{fresh_local_aws.url}/_local/nope")
    assert response.status_code == 404
    assert "no route GET /_local/nope" in response.json()["error"]
    assert httpx.put(f"{fresh_local_aws.url}/_local/faults").status_code == 405


def test_a_target_handler_answers_its_prefix_and_errors_never_become_500() -> None:
    def events(request: AwsRequest) -> HttpResponse:
        if request.operation == "Explode":
            raise RuntimeError("boom")
        return json_response({"handled": request.operation, "region": request.region})

    with start_local_aws() as aws:
        aws.add_target_handler("AWSEvents.", events, name="events")
        client = boto3.client(
            "events",
            endpoint_url=aws.url,
            region_name="eu-west-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        client.meta.events.register("after-call.events.ListRules", _keep_raw)
        client.list_rules()
        assert _RAW["body"] == {"handled": "ListRules", "region": "eu-west-1"}
        response = httpx.post(
            aws.url,
            headers={"X-Amz-Target": "AWSEvents.Explode", "Content-Type": "application/x-amz-json-1.1"},
        )
        assert response.status_code == 400
        assert response.json()["__type"] == "GeneralServiceException"
        assert "boom" in response.json()["message"]
        assert aws.stats()["requests"]["events"] == 2


_RAW: dict[str, Any] = {}


def _keep_raw(http_response: Any, **kwargs: Any) -> None:
    _RAW["body"] = json.loads(http_response.content)


def test_a_taken_port_is_an_error_that_names_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        taken = probe.getsockname()[1]
        probe.listen()
        with pytest.raises(OSError, match=f"cannot serve the local AWS endpoint on 127.0.0.1:{taken}"):
            start_local_aws(port=taken)


@pytest.mark.parametrize(
    "case",
    [
        ("lambda", "GET", "/2015-03-31/functions/", "", (), "ListFunctions"),
        ("lambda", "GET", "/2015-03-31/functions/my-fn", "", (), "GetFunction"),
        ("lambda", "GET", "/2015-03-31/functions/my-fn/configuration", "", (), "GetFunctionConfiguration"),
        ("lambda", "POST", "/2015-03-31/functions/my-fn/invocations", "", (), "Invoke"),
        ("s3", "GET", "/", "", (), "ListBuckets"),
        ("s3", "GET", "/bucket", "tagging", (), "GetBucketTagging"),
        ("s3", "PUT", "/bucket/some/key.txt", "", (), "PutObject"),
        ("s3", "PUT", "/bucket/some/key.txt", "", ("x-amz-copy-source",), "CopyObject"),
        ("apigateway", "GET", "/restapis", "", (), "GetRestApis"),
        ("nosuchservice", "GET", "/", "", (), ""),
    ],
)
def test_rest_operations_are_named_from_botocore_models(
    case: tuple[str, str, str, str, tuple[str, ...], str],
) -> None:
    service, method, path, query, headers, operation = case
    assert rest_operation_name(service, method, path, query, headers) == operation


def test_s3_through_the_endpoint_keeps_metadata_spelling_and_takes_chunked_bodies(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="objects")
    s3.put_object(Bucket="objects", Key="k", Body=b"hello", Metadata={"my_key": "v"})
    assert s3.get_object(Bucket="objects", Key="k")["Metadata"] == {"my_key": "v"}
    response = httpx.put(f"{fresh_local_aws.url}/objects/chunked", content=iter([b"abc", b"def"]))
    assert response.status_code == 200
    assert s3.get_object(Bucket="objects", Key="chunked")["Body"].read() == b"abcdef"
