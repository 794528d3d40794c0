"""Fault injection, from Python and over HTTP, seen by real boto3 clients and their retry modes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx
import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.local.aws import FaultRule, RunningLocalAws
from port_aws_exporter.local.aws.faults import FaultInjector

LAMBDA = "AWS::Lambda::Function"


@pytest.fixture
def aws(fresh_local_aws: RunningLocalAws) -> RunningLocalAws:
    fresh_local_aws.bulk_create_lambda_functions(1, prefix="faulty")
    return fresh_local_aws


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_throttling_is_retried_by_botocore_retry_modes(
    aws: RunningLocalAws, aws_client: Callable[..., Any], mode: str
) -> None:
    cc = aws_client("cloudcontrol", retries={"mode": mode, "total_max_attempts": 4})
    aws.faults.fail("CloudApiService.GetResource", code="ThrottlingException", count=2)
    response = cc.get_resource(TypeName=LAMBDA, Identifier="faulty-00000")
    assert response["ResourceDescription"]["Identifier"] == "faulty-00000"
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert aws.faults.rules() == []


def test_a_fault_that_outlasts_the_retries_surfaces_as_its_code(
    aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    cc = aws_client("cloudcontrol", retries={"mode": "standard", "total_max_attempts": 2})
    aws.faults.fail("CloudApiService.GetResource", code="ThrottlingException", count=3)
    with pytest.raises(ClientError) as raised:
        cc.get_resource(TypeName=LAMBDA, Identifier="faulty-00000")
    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert error["ResponseMetadata"]["RetryAttempts"] == 1
    assert [rule["remaining"] for rule in aws.faults.rules()] == [1]


def test_clearing_the_rules_ends_latency_being_waited_out(aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    cc = aws_client("cloudcontrol", retries={"mode": "standard", "total_max_attempts": 1})
    aws.faults.delay("CloudApiService.GetResource", latency_ms=600_000)
    answered: list[str] = []
    call = threading.Thread(
        target=lambda: answered.append(cc.get_resource(TypeName=LAMBDA, Identifier="faulty-00000")["TypeName"])
    )
    call.start()
    while not any(rule["fired"] for rule in aws.faults.rules()):
        time.sleep(0.01)
    aws.faults.clear()
    call.join(timeout=30)  # not the ten minutes of the rule
    assert answered == [LAMBDA]


def test_non_retryable_error_is_not_retried(aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    cc = aws_client("cloudcontrol", retries={"mode": "standard", "total_max_attempts": 4})
    aws.faults.fail("CloudApiService.GetResource", code="InvalidCredentialsException", count=1)
    with pytest.raises(ClientError) as raised:
        cc.get_resource(TypeName=LAMBDA, Identifier="faulty-00000")
    assert raised.value.response["Error"]["Code"] == "InvalidCredentialsException"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_a_region_scoped_rule_leaves_other_regions_alone(aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    aws.faults.fail("CloudApiService.ListResources", code="AccessDeniedException", region="eu-west-1")
    no_retry = {"retries": {"mode": "standard", "total_max_attempts": 1}}
    with pytest.raises(ClientError) as raised:
        aws_client("cloudcontrol", "eu-west-1", **no_retry).list_resources(TypeName=LAMBDA)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    listed = aws_client("cloudcontrol", "us-east-1", **no_retry).list_resources(TypeName=LAMBDA)
    assert [d["Identifier"] for d in listed["ResourceDescriptions"]] == ["faulty-00000"]


class ProtocolCase(NamedTuple):
    service: str
    target: str
    method: str
    code: str
    status: int


# One call per wire protocol (JSON, EC2, query, REST-JSON, REST-XML, RPCv2 CBOR): the error must parse
# as the injected code in each.
PROTOCOL_CASES = [
    ProtocolCase("sqs", "AmazonSQS.ListQueues", "list_queues", "RequestThrottled", 400),
    ProtocolCase("ec2", "ec2:DescribeInstances", "describe_instances", "RequestLimitExceeded", 503),
    ProtocolCase("sns", "sns:ListTopics", "list_topics", "Throttling", 400),
    ProtocolCase("lambda", "lambda:ListFunctions", "list_functions", "TooManyRequestsException", 429),
    ProtocolCase("s3", "s3:ListBuckets", "list_buckets", "SlowDown", 503),
    ProtocolCase("cloudwatch", "cloudwatch:ListMetrics", "list_metrics", "Throttling", 400),
]


@pytest.mark.parametrize("case", PROTOCOL_CASES, ids=lambda case: case.service)
def test_errors_are_shaped_for_each_protocol(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any], case: ProtocolCase
) -> None:
    fresh_local_aws.faults.fail(case.target, code=case.code, status=case.status, count=1, message="slow down please")
    client = aws_client(case.service, retries={"mode": "standard", "total_max_attempts": 1})
    with pytest.raises(ClientError) as raised:
        getattr(client, case.method)()
    assert raised.value.response["Error"]["Code"] == case.code
    assert raised.value.response["Error"]["Message"] == "slow down please"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == case.status
    getattr(client, case.method)()  # the rule is used up: moto answers


def test_glob_targets_match_service_aliases(fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    fresh_local_aws.faults.fail("sqs:*", code="RequestThrottled", count=2)
    sqs = aws_client("sqs", retries={"mode": "standard", "total_max_attempts": 1})
    for call in (sqs.list_queues, lambda: sqs.create_queue(QueueName="q")):
        with pytest.raises(ClientError):
            call()
    assert sqs.create_queue(QueueName="q")["QueueUrl"].endswith("/q")


def test_a_fraction_of_calls_fail(fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    fresh_local_aws.faults.seed(1234)
    fresh_local_aws.faults.fail("AmazonSQS.ListQueues", code="RequestThrottled", probability=0.5)
    sqs = aws_client("sqs", retries={"mode": "standard", "total_max_attempts": 1})
    failures = 0
    for _ in range(40):
        try:
            sqs.list_queues()
        except ClientError:
            failures += 1
    assert 8 <= failures <= 32
    assert fresh_local_aws.faults.rules()[0]["fired"] == failures


def test_latency_is_added_and_the_call_then_succeeds(
    fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]
) -> None:
    fresh_local_aws.faults.delay("AmazonSQS.ListQueues", latency_ms=300, count=1)
    sqs = aws_client("sqs")
    started = time.perf_counter()
    assert "QueueUrls" not in sqs.list_queues()
    assert time.perf_counter() - started >= 0.3


def test_fault_rules_over_http(fresh_local_aws: RunningLocalAws, aws_client: Callable[..., Any]) -> None:
    url = f"{fresh_local_aws.url}/_local/faults"
    created = httpx.post(
        url, json={"target": "CloudApiService.ListResources", "count": 1, "code": "ThrottlingException"}
    )
    assert created.status_code == 201
    (rule_id,) = created.json()["ids"]
    listed = httpx.get(url).json()["faults"]
    assert [(r["id"], r["target"], r["remaining"]) for r in listed] == [(rule_id, "CloudApiService.ListResources", 1)]
    cc = aws_client("cloudcontrol", retries={"mode": "standard", "total_max_attempts": 1})
    with pytest.raises(ClientError):
        cc.list_resources(TypeName=LAMBDA)
    assert httpx.get(url).json()["faults"] == []

    httpx.post(url, json=[{"target": "a:*"}, {"target": "b:*", "latency_ms": 5, "code": None}])
    assert len(httpx.get(url).json()["faults"]) == 2
    assert httpx.delete(url).json() == {"removed": 2}
    assert httpx.delete(f"{url}/{rule_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"target": "x", "bogus": 1}, "unknown fault rule field"),
        ({"code": "ThrottlingException"}, "needs a target"),
        ({"target": "x", "status": 42}, "not an HTTP status"),
        ({"target": "x", "probability": 2}, "not between 0 and 1"),
        ({"target": "x", "code": None}, "must add latency"),
        ("just text", "must be a JSON object"),
    ],
)
def test_bad_fault_rules_are_rejected_with_the_reason(
    fresh_local_aws: RunningLocalAws, body: Any, message: str
) -> None:
    response = httpx.post(f"{fresh_local_aws.url}/_local/faults", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert fresh_local_aws.faults.rules() == []


class _Call:
    def __init__(self, region: str, *names: str) -> None:
        self.region = region
        self.target_names = names


def test_first_firing_error_rule_wins_and_latencies_add_up() -> None:
    faults = FaultInjector()
    faults.delay("svc:*", latency_ms=10)
    faults.add(FaultRule(target="svc:Op", code="First", count=1))
    faults.add(FaultRule(target="svc:Op", code="Second"))
    first = faults.decide(_Call("us-east-1", "Svc.Op", "svc:Op"))
    second = faults.decide(_Call("us-east-1", "Svc.Op", "svc:Op"))
    assert first is not None and first.error is not None and second is not None and second.error is not None
    assert (first.error.code, first.latency_ms) == ("First", 10)
    assert (second.error.code, second.latency_ms) == ("Second", 10)
    assert faults.decide(_Call("us-east-1", "Other.Op", "other:Op")) is None
