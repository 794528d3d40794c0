"""Event patterns matched per second on CloudTrail-sized events, one core, patterns compiled once.

    .venv/bin/python benchmarks/bench_patterns.py            # default: 5 runs of 20,000 matches per case
    .venv/bin/python benchmarks/bench_patterns.py --quick    # 3 runs of 5,000

Prints the median rate of each case (pattern x event) and the events' JSON sizes. The target of
issue 3 is >= 50,000 matches/s for the seed's pattern.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from port_aws_exporter.eventbridge.cloudtrail import cloudtrail_event
from port_aws_exporter.eventbridge.pattern import EventPattern, compile_pattern

ACCOUNT = "123456789012"
REGION = "eu-west-1"

SEED_PATTERN: dict[str, Any] = {
    "source": ["aws.lambda"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["lambda.amazonaws.com"],
        "eventName": [
            {"prefix": "UpdateFunctionConfiguration"},
            {"prefix": "CreateFunction"},
            {"prefix": "DeleteFunction"},
        ],
    },
}

# What a generated rule looks like: exact event names and failed calls filtered out.
EXACT_NAMES_PATTERN: dict[str, Any] = {
    "source": ["aws.lambda"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["lambda.amazonaws.com"],
        "eventName": [
            "CreateFunction20150331",
            "UpdateFunctionConfiguration20150331v2",
            "UpdateFunctionCode20150331v2",
            "TagResource20170331v2",
            "UntagResource20170331v2",
            "DeleteFunction20150331",
        ],
        "errorCode": [{"exists": False}],
    },
}

RICH_PATTERN: dict[str, Any] = {
    "source": [{"prefix": "aws."}],
    "detail": {
        "$or": [
            {"eventName": [{"wildcard": "Create*2015*"}]},
            {"eventName": [{"anything-but": {"prefix": "Get"}}], "readOnly": [False]},
        ],
        "requestParameters": {"memorySize": [{"numeric": [">=", 128, "<=", 10240]}]},
        "sourceIPAddress": [{"cidr": "203.0.113.0/24"}],
        "userIdentity": {"type": [{"equals-ignore-case": "assumedrole"}]},
    },
}

ARRAY_PATTERN: dict[str, Any] = {
    "source": ["aws.ec2"],
    "detail": {
        "responseElements": {
            "instancesSet": {"items": {"instanceType": ["t3.micro"], "instanceState": {"name": ["pending"]}}}
        }
    },
}


def lambda_create_event(event_name: str = "CreateFunction20150331") -> dict[str, Any]:
    """A CloudTrail CreateFunction record of realistic size."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api"
    configuration = {
        "functionName": "orders-api",
        "runtime": "python3.12",
        "role": f"arn:aws:iam::{ACCOUNT}:role/orders-api-role",
        "handler": "app.handler",
        "description": "Orders API",
        "timeout": 30,
        "memorySize": 512,
        "environment": {"variables": {"STAGE": "prod", "TABLE": "orders", "LOG_LEVEL": "INFO"}},
        "tracingConfig": {"mode": "Active"},
        "architectures": ["arm64"],
        "ephemeralStorage": {"size": 512},
        "layers": [{"arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:common:7", "codeSize": 1048576}],
    }
    response = {
        **configuration,
        "functionArn": arn,
        "codeSize": 5242880,
        "codeSha256": "3bfa1d9c5c0a4e0f9b6f3f2c7d8e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f",
        "version": "$LATEST",
        "lastModified": "2024-05-01T10:00:00.000+0000",
        "state": "Pending",
        "stateReason": "The function is being created.",
        "stateReasonCode": "Creating",
        "packageType": "Zip",
        "snapStart": {"applyOn": "None", "optimizationStatus": "Off"},
        "loggingConfig": {"logFormat": "Text", "logGroup": "/aws/lambda/orders-api"},
    }
    request = {**configuration, "code": {"s3Bucket": "artifacts", "s3Key": "orders-api.zip"}, "publish": True}
    return cloudtrail_event(
        "lambda.amazonaws.com",
        event_name,
        region=REGION,
        account_id=ACCOUNT,
        request_parameters=request,
        response_elements=response,
        event_time="2024-05-01T10:00:00Z",
    )


def run_instances_event(instances: int) -> dict[str, Any]:
    """A CloudTrail RunInstances record whose item list only matches in its last element."""
    items = [
        {
            "instanceId": f"i-{index:017x}",
            "imageId": "ami-0abcdef1234567890",
            "instanceType": "t3.large" if index < instances - 1 else "t3.micro",
            "instanceState": {"code": 0, "name": "running" if index < instances - 1 else "pending"},
            "privateIpAddress": f"10.0.0.{index + 10}",
            "tagSet": {"items": [{"key": "Name", "value": f"worker-{index}"}]},
        }
        for index in range(instances)
    ]
    return cloudtrail_event(
        "ec2.amazonaws.com",
        "RunInstances",
        region=REGION,
        account_id=ACCOUNT,
        request_parameters={"instanceType": "t3.micro", "minCount": 1, "maxCount": instances},
        response_elements={"reservationId": "r-0123456789abcdef0", "instancesSet": {"items": items}},
        event_time="2024-05-01T10:00:00Z",
    )


def matches_per_second(pattern: EventPattern, event: dict[str, Any], matches: int, runs: int) -> float:
    match = pattern.match
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(matches):
            match(event)
        rates.append(matches / (time.perf_counter() - start))
    return statistics.median(rates)


def compile_microseconds(pattern: dict[str, Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(200):
            compile_pattern(pattern)
        times.append((time.perf_counter() - start) / 200 * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 runs of 5,000 matches per case")
    parser.add_argument("--matches", type=int, help="matches per run (default 20,000)")
    parser.add_argument("--runs", type=int, help="runs per case; the median is printed (default 5)")
    args = parser.parse_args()
    matches = args.matches or (5_000 if args.quick else 20_000)
    runs = args.runs or (3 if args.quick else 5)

    create = lambda_create_event()
    events = {
        "lambda CreateFunction (match)": create,
        "lambda GetFunction (no match: last field)": lambda_create_event("GetFunction20150331"),
        "s3 CreateBucket (no match: first field)": cloudtrail_event(
            "s3.amazonaws.com",
            "CreateBucket",
            region=REGION,
            account_id=ACCOUNT,
            request_parameters={
                "bucketName": "orders-artifacts",
                "Host": "orders-artifacts.s3.amazonaws.com",
            },
            response_elements=None,
            event_time="2024-05-01T10:00:00Z",
        ),
        "lambda DeleteFunctionConcurrency (seed over-match)": lambda_create_event("DeleteFunctionConcurrency20171031"),
    }
    cases: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
        ("seed (3 prefixes)", SEED_PATTERN, name, event) for name, event in events.items()
    ]
    cases += [
        ("exact names + errorCode absent", EXACT_NAMES_PATTERN, "lambda CreateFunction (match)", create),
        (
            "exact names + errorCode absent",
            EXACT_NAMES_PATTERN,
            "lambda GetFunction (no match)",
            events["lambda GetFunction (no match: last field)"],
        ),
        ("$or, wildcard, numeric, cidr, anything-but", RICH_PATTERN, "lambda CreateFunction (match)", create),
        (
            "array of objects (consistent)",
            ARRAY_PATTERN,
            "ec2 RunInstances, 20 items (match)",
            run_instances_event(20),
        ),
    ]

    print(f"one core, {runs} runs x {matches:,} matches per case, median matches/s")
    print(
        f"event sizes: lambda CreateFunction {len(json.dumps(create)):,} bytes, "
        f"ec2 RunInstances/20 {len(json.dumps(run_instances_event(20))):,} bytes"
    )
    print(f"{'pattern':44} {'event':52} {'matches/s':>12}")
    for label, source, event_label, event in cases:
        pattern = compile_pattern(source)
        rate = matches_per_second(pattern, event, matches, runs)
        outcome = "match" if pattern.match(event).matched else f"fails at {pattern.match(event).failed_field}"
        print(f"{label:44} {event_label:52} {rate:12,.0f}  ({outcome})")
    print()
    for label, source in (("seed", SEED_PATTERN), ("rich", RICH_PATTERN)):
        print(f"compile {label} pattern: {compile_microseconds(source, runs):.1f} us (median)")


if __name__ == "__main__":
    main()
