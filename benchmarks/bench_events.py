"""Event path: SQS batches through the Lambda consumer (`events_handler`) on the local stack.

    .venv/bin/python benchmarks/bench_events.py            # 2000 messages about 500 functions, 3 runs
    .venv/bin/python benchmarks/bench_events.py --quick    # 400 messages about 100 functions, 3 runs

The handler is fed Lambda SQS events of 10 records directly (moto's SQS slows down with queue depth:
local-aws-facts §4), one invocation after another, as one warm function instance would see them.
The local AWS endpoint and the local catalog each run in their own process, so they do not share
this process's interpreter lock. Each run starts cold (new warm state: a new Port client, a new jq
worker) and sends every function's messages (the seed's message, CreateFunction and
UpdateFunctionConfiguration events) in a shuffled order; JSON logs are written, to memory.

Figures (medians over the runs): messages/s; reads per message (Cloud Control calls counted by the
local endpoint); Port calls per message (every request the catalog served, token requests
included); token requests per invocation (first, and the most of any later one); batch latency
p50/p95; and, for scale, the time the local endpoint spent serving each read (up to 8 reads of a
batch run at once).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from local_stack import lambda_environment, local_stack
from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.lambda_runtime.warm_state import WarmState
from port_aws_exporter.port import PortClient, PortCredentials

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
CLIENT_ID, CLIENT_SECRET = "bench", "bench-secret"
BATCH_SIZE = 10
CONFIG = {
    "resources": [
        {
            "kind": "AWS::Lambda::Function",
            "port": {
                "entity": {
                    "mappings": [
                        {
                            "identifier": ".FunctionName",
                            "title": ".FunctionName",
                            "blueprint": "benchFunction",
                            "properties": {"memory": ".MemorySize", "timeout": ".Timeout", "runtime": ".Runtime"},
                        }
                    ]
                }
            },
        }
    ]
}
BLUEPRINT = {
    "identifier": "benchFunction",
    "title": "Function",
    "schema": {
        "properties": {"memory": {"type": "number"}, "timeout": {"type": "number"}, "runtime": {"type": "string"}},
        "required": [],
    },
}
EVENT_NAMES = ("CreateFunction20150331", "UpdateFunctionConfiguration20150331v2")


def seed_message(function_name: str, event_name: str) -> str:
    """The message the seed's rule template sends for a Lambda API call."""
    return json.dumps(
        {
            "resource_type": "AWS::Lambda::Function",
            "requestFunctionName": function_name,
            "responseFunctionName": function_name,
            "eventName": event_name,
            "region": f'"{REGION}"',
            "identifier": 'if .responseFunctionName != "" then .responseFunctionName else .requestFunctionName end',
            "action": 'if .eventName | startswith("Delete") then "delete" else "upsert" end',
        },
        indent=2,
    )


def lambda_events(functions: list[str], messages: int, seed: int) -> list[dict[str, Any]]:
    """`messages` seed messages spread evenly over `functions`, shuffled, in SQS events of 10."""
    randomiser = random.Random(seed)
    bodies = [seed_message(functions[n % len(functions)], EVENT_NAMES[n % 2]) for n in range(messages)]
    randomiser.shuffle(bodies)
    records = [
        {
            "messageId": f"bench-{n}",
            "receiptHandle": f"handle-{n}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:events",
            "awsRegion": REGION,
        }
        for n, body in enumerate(bodies)
    ]
    return [{"Records": records[start : start + BATCH_SIZE]} for start in range(0, len(records), BATCH_SIZE)]


@dataclass
class Context:
    aws_request_id: str
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:port-aws-exporter-events"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class RunFigures:
    messages: int
    invocations: int
    seconds: float
    latencies: list[float]
    reads: int
    read_server_seconds: float
    port_requests: dict[str, int]
    auth_per_invocation: list[int]
    failed: int

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_once(events: list[dict[str, Any]], aws_url: str, catalog_url: str) -> RunFigures:
    httpx.delete(f"{aws_url}/_local/stats").raise_for_status()
    httpx.delete(f"{catalog_url}/_local/stats").raise_for_status()
    warm = WarmState()
    handler = EventsInvocation(warm)
    logs = io.StringIO()
    latencies: list[float] = []
    failed = 0
    started = time.perf_counter()
    with contextlib.redirect_stderr(logs):
        for number, event in enumerate(events):
            before = time.perf_counter()
            response = handler(event, Context(f"request-{number}"))
            latencies.append(time.perf_counter() - before)
            failed += len(response["batchItemFailures"])
    seconds = time.perf_counter() - started
    warm.reset()
    aws_stats = httpx.get(f"{aws_url}/_local/stats").json()
    catalog_stats = httpx.get(f"{catalog_url}/_local/stats").json()["stats"]
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    return RunFigures(
        messages=sum(len(event["Records"]) for event in events),
        invocations=len(events),
        seconds=seconds,
        latencies=latencies,
        reads=aws_stats["requests"].get("CloudApiService", 0),
        read_server_seconds=aws_stats["seconds"].get("CloudApiService", 0.0),
        port_requests={name: row["requests"] for name, row in catalog_stats.items() if name != "total"},
        auth_per_invocation=[line["port_auth_calls"] for line in lines if line.get("message") == "batch done"],
        failed=failed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="400 messages about 100 functions")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    messages, functions = (400, 100) if arguments.quick else (arguments.messages, arguments.functions)

    with tempfile.TemporaryDirectory(prefix="bench-events-") as directory:
        config_path = Path(directory) / "config.json"
        config_path.write_text(json.dumps(CONFIG))
        db = Path(directory) / "catalog.db"
        with local_stack(db, client_id=CLIENT_ID, secret=CLIENT_SECRET, environment=os.environ) as (aws, catalog):
            aws_url, catalog_url = aws.url, catalog.url
            client = (CLIENT_ID, CLIENT_SECRET)
            os.environ.update(
                lambda_environment(aws_url, catalog_url, config_path, client=client, region=REGION, log_level="INFO")
            )
            created = httpx.post(
                f"{aws_url}/_local/bulk/lambda-functions",
                json={"count": functions, "region": REGION, "prefix": "bench"},
                timeout=120,
            ).json()
            assert created["created"] == functions, created
            names = [f"bench-{index:05d}" for index in range(functions)]
            credentials = PortCredentials(
                client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=catalog_url
            )
            with PortClient(credentials) as port:
                port.apply_blueprint(BLUEPRINT)
            runs = [
                run_once(lambda_events(names, messages, seed), aws_url, catalog_url) for seed in range(arguments.runs)
            ]
            with PortClient(credentials) as port:
                written = sum(1 for _ in port.iter_blueprint_entities("benchFunction"))
    report(runs, functions, written)


def report(runs: list[RunFigures], functions: int, written: int) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    first = runs[0]
    print(f"{first.messages} messages about {functions} functions, {first.invocations} invocations of {BATCH_SIZE}")
    print(f"runs: {len(runs)} (medians below); failed messages: {[run.failed for run in runs]}; entities: {written}")
    print(f"  messages/s:                  {median([run.messages_per_second for run in runs]):8.1f}")
    print(f"  reads per message:           {median([run.reads / run.messages for run in runs]):8.3f}")
    served = median([1000 * run.read_server_seconds / max(run.reads, 1) for run in runs])
    print(f"  local endpoint time per read: {served:7.1f} ms (Cloud Control emulator + moto, server side)")
    port_calls = median([sum(run.port_requests.values()) / run.messages for run in runs])
    print(f"  Port calls per message:      {port_calls:8.3f}  ({first.port_requests})")
    auth_first = [run.auth_per_invocation[0] for run in runs]
    auth_later = [max(run.auth_per_invocation[1:], default=0) for run in runs]
    print(f"  token requests, invocation 1: {auth_first}; any later invocation, at most: {auth_later}")
    print(f"  batch latency p50:           {1000 * median([run.percentile(0.50) for run in runs]):8.1f} ms")
    print(f"  batch latency p95:           {1000 * median([run.percentile(0.95) for run in runs]):8.1f} ms")
    print(f"  first (cold) invocation:     {1000 * median([run.latencies[0] for run in runs]):8.1f} ms")


if __name__ == "__main__":
    main()
