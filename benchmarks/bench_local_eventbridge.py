"""The local EventBridge: what delivering an event through the project's matcher and renderer costs,
against moto's own EventBridge in the same run, and how fast `make_change` makes changes.

An in-process endpoint (moto's events models patched by `start_local_aws`) with the rules
`rules generate` writes for examples/config.json (14 rules) and the seed's Lambda rule, all feeding
one queue. Measured, medians of several runs:

1. PutEvents round trips per second with a CloudTrail `CreateFunction20150331` event (two rules
   match it), boto3 over HTTP; then the same with moto's original `Rule.send_to_targets` restored.
2. The delivery alone, no HTTP: microseconds to offer one event to the 15 rules (match all, render
   and send for the matching ones), ours vs moto's original.
3. `make_change` calls per second (SQS queue create then delete, with their events delivered).

    .venv/bin/python benchmarks/bench_local_eventbridge.py            # 5 runs
    .venv/bin/python benchmarks/bench_local_eventbridge.py --quick    # 3 short runs
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.events.models import Rule, events_backends
from moto.sqs.models import sqs_backends

from port_aws_exporter.core.config import load_config
from port_aws_exporter.eventbridge.cloudtrail import cloudtrail_event
from port_aws_exporter.local.aws import start_local_aws
from port_aws_exporter.local.aws.changes import make_change
from port_aws_exporter.local.aws.rule_deployment import deploy_rule_template
from port_aws_exporter.local.aws.service_clients import local_client
from port_aws_exporter.rules.generate import generate_rules
from port_aws_exporter.rules.rule_output import render_cloudformation

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
# The seed's Lambda rule (Port's docs), as a JSON template: its pattern and InputTransformer.
SEED_INPUT_TEMPLATE = """{
  "resource_type": "AWS::Lambda::Function",
  "requestFunctionName": "<requestFunctionName>",
  "responseFunctionName": "<responseFunctionName>",
  "eventName": "<eventName>",
  "region": "\\"<awsRegion>\\"",
  "identifier": "if .responseFunctionName != \\"\\" then .responseFunctionName else .requestFunctionName end",
  "action": "if .eventName | startswith(\\"Delete\\") then \\"delete\\" else \\"upsert\\" end"
}"""
SEED_TEMPLATE = json.dumps(
    {
        "Resources": {
            "EventRule0": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "port-aws-exporter-sync-lambda-trails",
                    "EventPattern": {
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
                    },
                    "Targets": [
                        {
                            "Id": "PortAWSExporterEventsQueue",
                            "Arn": {"Fn::ImportValue": "serverlessrepo-port-aws-exporter-EventsQueueARN"},
                            "InputTransformer": {
                                "InputPathsMap": {
                                    "awsRegion": "$.detail.awsRegion",
                                    "eventName": "$.detail.eventName",
                                    "requestFunctionName": "$.detail.requestParameters.functionName",
                                    "responseFunctionName": "$.detail.responseElements.functionName",
                                },
                                "InputTemplate": SEED_INPUT_TEMPLATE,
                            },
                        }
                    ],
                },
            }
        }
    }
)


def _median_rate(run: Callable[[], float], count: int, runs: int) -> tuple[float, float]:
    """(median calls per second, median seconds per call) over `runs` runs of `count` calls."""
    seconds = [run() for _ in range(runs)]
    median = statistics.median(seconds)
    return count / median, median / count


@contextmanager
def moto_original_delivery(originals: dict[str, Any]) -> Any:
    """moto's own `Rule.send_to_targets` for the duration of the block."""

    patched = Rule.send_to_targets
    Rule.send_to_targets = originals["send_to_targets"]  # type: ignore[method-assign]
    try:
        yield
    finally:
        Rule.send_to_targets = patched  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 short runs")
    args = parser.parse_args()
    runs, puts, offers, changes = (3, 100, 200, 10) if args.quick else (5, 200, 500, 25)
    # moto keeps AWS's one purge a minute; the benchmark empties the queue after every event.
    os.environ["MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"] = "false"  # emptied after every event

    originals = {"send_to_targets": Rule.send_to_targets}  # before the endpoint patches it

    with start_local_aws() as aws:
        generated = render_cloudformation(generate_rules(load_config(ROOT / "examples" / "config.json")).rules)
        deployed = deploy_rule_template(aws.url, generated, "events", region=REGION)
        deploy_rule_template(aws.url, SEED_TEMPLATE, "events", region=REGION)
        events, sqs = local_client(aws.url, "events", REGION), local_client(aws.url, "sqs", REGION)
        event = cloudtrail_event(
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            region=REGION,
            account_id="123456789012",
            request_parameters={"functionName": "bench-fn", "runtime": "python3.12", "memorySize": 128},
            response_elements={"functionName": "bench-fn", "functionArn": "arn:aws:lambda:us-east-1:1:function:f"},
        )
        entry = {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}

        def put_run() -> float:
            started = time.perf_counter()
            for _ in range(puts):
                events.put_events(Entries=[entry])
                empty_queue()
            return time.perf_counter() - started

        put_run()  # warm up
        ours_rate, ours_call = _median_rate(put_run, puts, runs)
        with moto_original_delivery(originals):
            moto_rate, moto_call = _median_rate(put_run, puts, runs)
        events.put_events(Entries=[entry])
        delivered = sqs.get_queue_attributes(
            QueueUrl=deployed.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        print(f"PutEvents round trips ({puts} per run, {runs} runs, 15 rules, {delivered} matching):")
        print(f"  ours: {ours_rate:8.1f}/s  ({ours_call * 1000:.2f} ms per call)")
        print(f"  moto: {moto_rate:8.1f}/s  ({moto_call * 1000:.2f} ms per call)")
        print(f"  ours/moto time per call: {ours_call / moto_call:.2f}")
        empty_queue()

        _offer_benchmark(event, offers, runs, originals)

        def change_run() -> float:
            started = time.perf_counter()
            for index in range(changes):
                make_change(aws.url, "sqs", "create", f"bench-queue-{index}", region=REGION)
                make_change(aws.url, "sqs", "delete", f"bench-queue-{index}", region=REGION)
                empty_queue()
            return time.perf_counter() - started

        change_run()  # warm up
        change_rate, change_call = _median_rate(change_run, 2 * changes, runs)
        print(f"make_change (SQS create + delete, {2 * changes} per run, events delivered):")
        print(f"  {change_rate:.1f}/s ({change_call * 1000:.1f} ms each)")


def empty_queue() -> None:
    """Empty the events queue inside moto: its SQS gets slower with every message waiting (O(depth))."""

    sqs_backends["123456789012"][REGION].purge_queue("events")


def _offer_benchmark(event: dict[str, Any], offers: int, runs: int, originals: dict[str, Any]) -> None:
    """The delivery alone: offer one moto-shaped event to every rule of the bus, no HTTP."""

    rules = list(events_backends["123456789012"][REGION].event_buses["default"].rules.values())
    moto_event = {
        "version": "0",
        "id": "bench",
        "detail-type": event["detail-type"],
        "source": event["source"],
        "account": "123456789012",
        "time": time.time(),
        "region": REGION,
        "resources": [],
        "detail": event["detail"],
        "ingestion-time": time.time(),
    }

    def offer_run(send: Callable[..., None]) -> float:
        started = time.perf_counter()
        for _ in range(offers):
            for rule in rules:
                send(rule, copy.copy(moto_event))
            empty_queue()
        return time.perf_counter() - started

    ours = statistics.median(offer_run(lambda rule, e: rule.send_to_targets(e)) for _ in range(runs))
    moto = statistics.median(offer_run(originals["send_to_targets"]) for _ in range(runs))
    print(f"Delivery alone ({offers} events x {len(rules)} rules per run, no HTTP):")
    print(
        f"  ours: {ours / offers * 1e6:8.1f} µs per event   moto: {moto / offers * 1e6:8.1f} µs per event"
        f"   ours/moto: {ours / moto:.2f}"
    )


if __name__ == "__main__":
    main()
