"""The sharded run's bookkeeping on the local stack: the planner's, the shards' and the deletion's
cost at several shard counts, apart from the work of syncing itself.

    .venv/bin/python benchmarks/bench_sharded.py [--shards 100,1000,10000] [--identifiers 25]
        [--plan-writers 1,8] [--latency-ms 0]

For each count, one scope of that many shards (one account, one kind, that many regions; the
planner does not look the regions up): the seconds to plan (the run, shard and scope items in
DynamoDB, one SQS message per shard), the shards' start and finish bookkeeping (a conditional
start, the finish transaction with the scope's counter, one S3 object of `--identifiers`
identifiers each) per shard, and the last finisher's claim and read of every shard's identifiers
(what the deletion needs before Port's own stale search). The local AWS endpoint runs in its own
process; its CPU seconds are reported apart from this process's.

The plan is measured once for each `--plan-writers` count (the planner's calls in flight), into a
table and queue of its own; `--latency-ms` adds that much to every DynamoDB BatchWriteItem and SQS
SendMessageBatch answer, as AWS's own latency would (the local endpoint answers in about a
millisecond, so without it the planner's writers only share the local AWS's one CPU).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from typing import Any

from local_stack import clean_environment, local_clients
from port_aws_exporter.aws.run_store import DynamoRunStore, SqsTaskQueue, create_run_table
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.sharded_runs import Scope, ShardResult
from port_aws_exporter.sync.sharded.plan import ShardPlanner
from served_process import cpu_seconds, served

ACCOUNT = "123456789012"
BLUEPRINT = "awsLambdaFunction"
CONFIG = {
    "resources": [
        {
            "kind": "AWS::Lambda::Function",
            "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": BLUEPRINT}]}},
        }
    ]
}


def _planner(aws_url: str, name: str, regions: list[str], writers: int) -> tuple[DynamoRunStore, ShardPlanner]:
    clients = local_clients(aws_url, ("dynamodb", "s3", "sqs"))
    table, bucket, queue_name = f"runs-{name}", f"state-{name}", f"tasks-{name}"
    create_run_table(clients["dynamodb"], table)
    clients["s3"].create_bucket(Bucket=bucket)
    queue_url = clients["sqs"].create_queue(QueueName=queue_name)["QueueUrl"]
    store = DynamoRunStore(clients["dynamodb"], clients["s3"], table, bucket, writers=writers)
    planner = ShardPlanner(
        load_config(CONFIG),
        store,
        SqsTaskQueue(clients["sqs"], queue_url, writers=writers),
        home_account_id=ACCOUNT,
        home_region="us-east-1",
        regions_for=lambda index, entry: regions,
    )
    return store, planner


def _measure(aws_url: str, server_pid: int, shards: int, identifiers: int, writers: list[int]) -> dict[str, float]:
    regions = [f"region-{n:05d}" for n in range(shards)]
    figures: dict[str, float] = {}

    def timed(name: str, work: Any) -> Any:
        started, cpu, server_cpu = time.monotonic(), time.process_time(), cpu_seconds(server_pid)
        result = work()
        figures[name] = time.monotonic() - started
        figures[f"{name}_cpu"] = time.process_time() - cpu
        figures[f"{name}_server_cpu"] = cpu_seconds(server_pid) - server_cpu
        return result

    for count in writers[1:]:
        timed(f"plan_{count}", _planner(aws_url, f"{shards}-w{count}", regions, count)[1].plan)
    store, planner = _planner(aws_url, str(shards), regions, writers[0])
    planned = timed("plan", planner.plan)
    tasks = planned.tasks

    def finish_all() -> None:
        for number, task in enumerate(tasks):
            store.start_shard(task)
            seen = {f"fn-{number}-{n}" for n in range(identifiers)}
            store.finish_shard(task, ShardResult(seen={BLUEPRINT: seen}), None)

    timed("shards", finish_all)
    scope = Scope(ACCOUNT, BLUEPRINT)

    def claim_and_read() -> int:
        assert store.claim_deletion(planned.run_id, scope) is not None
        seen, _ = store.seen_identifiers(planned.run_id, scope)
        return len(seen)

    read = timed("deletion", claim_and_read)
    if read != shards * identifiers:
        raise RuntimeError(f"the deletion read {read} identifiers, expected {shards * identifiers}")
    return figures


def _delay(aws_url: str, targets: list[str], latency_ms: int) -> None:
    rules = [{"target": target, "code": None, "latency_ms": latency_ms} for target in targets]
    request = urllib.request.Request(
        f"{aws_url}/_local/faults", json.dumps(rules).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as answer:
        answer.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", default="100,1000,10000", help="comma-separated shard counts")
    parser.add_argument("--identifiers", type=int, default=25, help="identifiers each shard saw")
    parser.add_argument("--plan-writers", default="1,8", help="comma-separated counts of the planner's writers")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to each BatchWriteItem and SendMessageBatch")
    args = parser.parse_args()
    writers = [int(count) for count in args.plan_writers.split(",") if count.strip()]
    with served(["local", "aws", "--port", "0"], clean_environment()) as aws:
        if args.latency_ms:
            _delay(aws.url, ["DynamoDB_20120810.BatchWriteItem", "AmazonSQS.SendMessageBatch"], args.latency_ms)
            print(f"{args.latency_ms} ms added to every BatchWriteItem and SendMessageBatch")
        for shards in [int(count) for count in args.shards.split(",") if count.strip()]:
            f = _measure(aws.url, aws.pid, shards, args.identifiers, writers)
            print(f"{shards:,} shards in one scope, {args.identifiers} identifiers each:")
            for count in writers:
                key = "plan" if count == writers[0] else f"plan_{count}"
                print(
                    f"  plan, {count} writer(s): {f[key]:.2f} s wall ({1000 * f[key] / shards:.2f} ms/shard); "
                    f"CPU here {f[key + '_cpu']:.2f} s, local AWS {f[key + '_server_cpu']:.2f} s"
                )
            print(
                f"  shard start + finish: {1000 * f['shards'] / shards:.2f} ms/shard wall; "
                f"CPU here {1000 * f['shards_cpu'] / shards:.2f} ms/shard, "
                f"local AWS {1000 * f['shards_server_cpu'] / shards:.2f} ms/shard"
            )
            print(
                f"  deletion's claim and read of every shard's identifiers: {f['deletion']:.2f} s wall; "
                f"CPU here {f['deletion_cpu']:.2f} s, local AWS {f['deletion_server_cpu']:.2f} s"
            )


if __name__ == "__main__":
    main()
