"""Raw EventBridge events beside seed messages through the consumer, and member account -> catalog latency.

    .venv/bin/python benchmarks/bench_raw_events.py          # 2000 messages, 500 functions, 3 runs each; 40 changes
    .venv/bin/python benchmarks/bench_raw_events.py --quick  # 400 messages, 100 functions; 20 changes

Part 1, the consumer: the same changes (CreateFunction and UpdateFunctionConfiguration calls about
each function, shuffled) delivered as the seed rule's messages and as whole CloudTrail events (what
a rule without an InputTransformer sends), to the Lambda consumer (`events_handler`) in SQS events
of 10, one invocation after another; the two forms alternate run by run in one process, against the
same local endpoint and catalog (each in its own process; `bench_events.py` has the details).
Figures, medians over the runs: messages/s, reads per message, Port calls per message, and the
ratio raw / seed of messages/s.

Part 2, end to end: an organisation on the local endpoint (a member account with the raw rules'
member layout forwarding to the management account's bus, whose central rule sends to the queue),
a worker consuming the queue (in this process), and `make_change` creating Lambda functions in the
member account one after another; the latency is from the API call to the entity in the catalog
(polled every 10 ms): p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bench_events import (
    ACCOUNT_ID,
    BATCH_SIZE,
    BLUEPRINT,
    CLIENT_ID,
    CLIENT_SECRET,
    CONFIG,
    REGION,
    RunFigures,
    lambda_events,
    run_once,
)
from local_stack import lambda_environment, local_stack
from port_aws_exporter.cli.demo import EVENTS_QUEUE, deploy_raw_rules
from port_aws_exporter.cli.event_session import open_event_batch
from port_aws_exporter.core.config import load_config
from port_aws_exporter.events.worker import SqsWorker, WorkerOptions
from port_aws_exporter.local.aws import make_change, seed_organization
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.rules.samples import sample_event


def raw_events(functions: list[str], messages: int, seed: int) -> list[dict[str, Any]]:
    """The same records as `lambda_events` (same order, same ids), each body the whole CloudTrail event."""
    batches = lambda_events(functions, messages, seed)
    for batch in batches:
        for record in batch["Records"]:
            message = json.loads(record["body"])
            event = sample_event(
                "AWS::Lambda::Function",
                message["eventName"],
                identifier_values={"FunctionName": message["requestFunctionName"]},
                region=REGION,
                account_id=ACCOUNT_ID,
            )
            record["body"] = json.dumps(event)
    return batches


def consumer_part(aws_url: str, catalog_url: str, functions: int, messages: int, runs: int) -> None:
    created = httpx.post(
        f"{aws_url}/_local/bulk/lambda-functions",
        json={"count": functions, "region": REGION, "prefix": "bench"},
        timeout=120,
    ).json()
    assert created["created"] == functions, created
    names = [f"bench-{index:05d}" for index in range(functions)]
    figures: dict[str, list[RunFigures]] = {"seed": [], "raw": []}
    for seed in range(runs):
        figures["seed"].append(run_once(lambda_events(names, messages, seed), aws_url, catalog_url))
        figures["raw"].append(run_once(raw_events(names, messages, seed), aws_url, catalog_url))
    print(f"Part 1: {messages} messages about {functions} functions, invocations of {BATCH_SIZE}, {runs} runs each")
    rates = {}
    for form, runs_of_form in figures.items():
        rate = statistics.median(run.messages_per_second for run in runs_of_form)
        reads = statistics.median(run.reads / run.messages for run in runs_of_form)
        port = statistics.median(sum(run.port_requests.values()) / run.messages for run in runs_of_form)
        failed = [run.failed for run in runs_of_form]
        rates[form] = rate
        print(
            f"  {form:4}  messages/s {rate:8.1f}   reads/message {reads:6.3f}   Port calls/message {port:6.3f}"
            f"   failed {failed}"
        )
    print(f"  raw / seed messages/s: {rates['raw'] / rates['seed']:.2f}")


def latency_part(aws_url: str, catalog_url: str, changes: int) -> None:
    organization = seed_organization(aws_url, members=1)
    member = organization.members[0].account_id
    document = {**CONFIG, "accounts": {"ids": [member]}}
    config = load_config(document)
    deploy_raw_rules(aws_url, config, organization, REGION)
    credentials = PortCredentials(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=catalog_url)
    latencies: list[float] = []
    with open_event_batch(config, credentials) as session, PortClient(credentials) as port:
        sqs = session.clients.client("sqs", REGION)
        queue_url = sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]
        worker = SqsWorker(session.batch.process, sqs, WorkerOptions(queue_url, concurrency=1, wait_seconds=1))
        thread = threading.Thread(target=worker.run, name="bench-worker", daemon=True)
        thread.start()
        try:
            for number in range(changes + 1):
                name = f"e2e-{number:04d}"
                started = time.perf_counter()
                make_change(aws_url, "AWS::Lambda::Function", "create", name, region=REGION, account_id=member)
                while port.get_entity("benchFunction", name) is None:
                    if time.perf_counter() - started > 30:
                        raise SystemExit(f"{name} did not reach the catalog in 30 s")
                    time.sleep(0.01)
                if number:  # the first create also makes the functions' role: left out
                    latencies.append(time.perf_counter() - started)
        finally:
            worker.stop()
            thread.join(timeout=30)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(f"Part 2: {len(latencies)} Lambda creates in member account {member}, API call -> catalog entity")
    print(f"  latency p50 {1000 * p50:7.1f} ms   p95 {1000 * p95:7.1f} ms")
    print("  (member bus -> central bus -> queue -> worker -> read -> catalog)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="400 messages about 100 functions; 20 changes")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--changes", type=int, default=40)
    arguments = parser.parse_args()
    messages, functions, changes = (
        (400, 100, 20) if arguments.quick else (arguments.messages, arguments.functions, arguments.changes)
    )
    with tempfile.TemporaryDirectory(prefix="bench-raw-events-") as directory:
        config_path = Path(directory) / "config.json"
        config_path.write_text(json.dumps(CONFIG))
        db = Path(directory) / "catalog.db"
        with local_stack(db, client_id=CLIENT_ID, secret=CLIENT_SECRET, environment=os.environ) as (aws, catalog):
            client = (CLIENT_ID, CLIENT_SECRET)
            os.environ.update(
                lambda_environment(aws.url, catalog.url, config_path, client=client, region=REGION, log_level="WARNING")
            )
            credentials = PortCredentials(
                client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=catalog.url
            )
            with PortClient(credentials) as port:
                port.apply_blueprint(BLUEPRINT)
            consumer_part(aws.url, catalog.url, functions, messages, arguments.runs)
            latency_part(aws.url, catalog.url, changes)


if __name__ == "__main__":
    main()
