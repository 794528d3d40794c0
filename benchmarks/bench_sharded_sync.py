"""A full sync sharded over worker processes against one process, on the local stack.

    .venv/bin/python benchmarks/bench_sharded_sync.py [--accounts 20] [--functions 2500] [--variants list,get]

An organisation of `--accounts` accounts (the management account and members with the read role),
`--functions` Lambda functions in each of two regions of every account: 100,000 resources by
default. For each variant (`list`: `selector.aws.useListProperties`; `get`: a GetResource per
resource), three runs into an emptied catalog: one `sync` process, then `sync --sharded` with one
and with two `worker --sync-tasks` processes (one shard per account and region). The local AWS
endpoint and the local catalog run in their own processes, and every run uses the same two.

Prints for each run: wall seconds (a sharded run's from its plan to its workers' exit, which is
`--idle-seconds 2` after the queue is empty), resources/s, speedup against the one process, the CPU
seconds of the exporter's processes (sync, planner, workers) and of each server apart, and the
catalog's entity count at the end (which must be the number of functions). A sharded run's wall
time includes the workers' start.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench_accounts import BLUEPRINT, MAPPING  # the organisation benchmark's functions, mapped alike
from local_stack import catalog_headers, local_clients, local_stack, seed_lambda_organization, sync_environment
from port_aws_exporter.aws.run_store import DynamoRunStore, create_run_table
from served_process import ServedProcess, cpu_seconds

REGIONS = ("us-east-1", "eu-west-1")
SECRET = "bench-secret"
TABLE, BUCKET, QUEUE = "sync-runs", "sync-state", "sync-tasks"
STATE = ["--state-table", TABLE, "--state-bucket", BUCKET]
# A shard of a few thousand GetResource reads on a loaded machine takes well under this.
VISIBILITY_SECONDS = 900
RUN_TIMEOUT_SECONDS = 7200
VARIANTS = {"list": "useListProperties", "get": "GetResource reads"}


@dataclass(frozen=True)
class Stack:
    aws: ServedProcess
    catalog: ServedProcess
    environment: dict[str, str]
    workdir: Path


@dataclass(frozen=True)
class Figures:
    wall: float
    exporter_cpu: float
    aws_cpu: float
    catalog_cpu: float
    entities: int


def _config(list_properties: bool) -> dict[str, Any]:
    entry = {
        "kind": "AWS::Lambda::Function",
        "selector": {"aws": {"regions": list(REGIONS), "useListProperties": list_properties}},
        "port": {"entity": {"mappings": [MAPPING]}},
    }
    return {"accounts": {"organization": {}}, "resources": [entry]}


def _exporter(stack: Stack, arguments: list[str], log_name: str) -> subprocess.Popen[str]:
    """`port-aws-exporter ARGUMENTS…` against the stack, its stderr in the work directory's `log_name`."""
    with (stack.workdir / log_name).open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "port_aws_exporter", *arguments],
            env=stack.environment,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


def _finished(process: subprocess.Popen[str], what: str, stack: Stack, log_name: str) -> str:
    out, _ = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
    if process.returncode != 0:
        tail = (stack.workdir / log_name).read_text()[-2000:]
        raise RuntimeError(f"{what} exited {process.returncode}: {tail}")
    return out


def _one_process(stack: Stack, config: Path) -> None:
    sync = _exporter(stack, ["sync", "--config", str(config), "--json"], "sync.log")
    report = json.loads(_finished(sync, "sync", stack, "sync.log"))
    if report.get("errors"):
        raise RuntimeError(f"the unsharded sync reported errors: {report['errors']}")


def _sharded(stack: Stack, config: Path, store: DynamoRunStore, workers: int) -> None:
    planner = _exporter(
        stack, ["sync", "--config", str(config), "--sharded", "--tasks-queue", QUEUE, *STATE, "--json"], "plan.log"
    )
    plan = json.loads(_finished(planner, "sync --sharded", stack, "plan.log"))
    worker_arguments = ["worker", "--config", str(config), "--sync-tasks", plan["tasks_queue"], *STATE]
    worker_arguments += ["--idle-seconds", "2"]
    running = [_exporter(stack, worker_arguments, f"worker-{n}.log") for n in range(workers)]
    # Each worker leaves once the queue has been idle, so the run is settled when the last one has left:
    # the state is read once then, not polled (polling would add to the local AWS's CPU being measured).
    for number, worker in enumerate(running):
        _finished(worker, f"worker {number}", stack, f"worker-{number}.log")
    state = store.run_state(plan["run_id"])
    counts = state.as_dict()["shard_counts"]
    if state.status != "complete" or set(counts) != {"done"} or counts["done"] != plan["shards"]:
        raise RuntimeError(f"the sharded run {plan['run_id']} did not complete: {state.status}, shards {counts}")


def _measured(stack: Stack, run: Callable[[], None], headers: dict[str, str]) -> Figures:
    catalog_url = stack.catalog.url
    httpx.delete(f"{catalog_url}/v1/blueprints/benchLambda/all-entities", headers=headers, timeout=600)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    aws_cpu, catalog_cpu = cpu_seconds(stack.aws.pid), cpu_seconds(stack.catalog.pid)
    started = time.monotonic()
    run()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    count = httpx.get(f"{catalog_url}/v1/blueprints/benchLambda/entities-count", headers=headers, timeout=60)
    count.raise_for_status()
    return Figures(
        wall=wall,
        exporter_cpu=after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime,
        aws_cpu=cpu_seconds(stack.aws.pid) - aws_cpu,
        catalog_cpu=cpu_seconds(stack.catalog.pid) - catalog_cpu,
        entities=int(count.json()["count"]),
    )


def _state_store(aws_url: str) -> DynamoRunStore:
    """The run table, the state bucket and the tasks queue, made once for every sharded run."""
    clients = local_clients(aws_url, ("dynamodb", "s3", "sqs"))
    dynamodb, s3, sqs = clients["dynamodb"], clients["s3"], clients["sqs"]
    create_run_table(dynamodb, TABLE)
    s3.create_bucket(Bucket=BUCKET)
    sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS)})
    return DynamoRunStore(dynamodb, s3, TABLE, BUCKET)


def _print(name: str, figures: Figures, total: int, baseline: float) -> None:
    print(
        f"  {name}: {figures.wall:.1f} s wall, {total / figures.wall:,.0f} resources/s, "
        f"speedup {baseline / figures.wall:.2f}x; CPU: exporter {figures.exporter_cpu:.1f} s "
        f"({1000 * figures.exporter_cpu / total:.2f} ms/resource), local AWS {figures.aws_cpu:.1f} s, "
        f"local catalog {figures.catalog_cpu:.1f} s; catalog entities {figures.entities:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--functions", type=int, default=2_500, help="per account and region")
    parser.add_argument("--variants", default="list,get", help=f"comma-separated, of {', '.join(VARIANTS)}")
    args = parser.parse_args()
    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        parser.error(f"--variants: choose from {', '.join(VARIANTS)}, not {', '.join(unknown) or 'nothing'}")
    total = args.accounts * len(REGIONS) * args.functions
    with tempfile.TemporaryDirectory(prefix="bench-sharded-sync-") as tmp:
        workdir = Path(tmp)
        with local_stack(workdir / "catalog.db", secret=SECRET) as (aws, catalog):
            seeding = time.monotonic()
            seed_lambda_organization(aws.url, args.accounts, args.functions, REGIONS)
            seeded = time.monotonic() - seeding
            environment = {
                **sync_environment(aws.url),
                "PORT_CLIENT_ID": "bench",
                "PORT_CLIENT_SECRET": SECRET,
                "PORT_API_URL": catalog.url,
            }
            stack = Stack(aws, catalog, environment, workdir)
            headers = catalog_headers(catalog.url, secret=SECRET)
            httpx.post(f"{catalog.url}/v1/blueprints", json=BLUEPRINT, headers=headers, timeout=30).raise_for_status()
            store = _state_store(aws.url)
            print(
                f"{total:,} Lambda functions: {args.accounts} accounts x {len(REGIONS)} regions x "
                f"{args.functions:,} (seeded in {seeded:.1f} s); one run each, into an emptied catalog:"
            )
            for variant in variants:
                config = workdir / f"config-{variant}.json"
                config.write_text(json.dumps(_config(variant == "list")))
                print(f"{VARIANTS[variant]}:")
                runs: list[tuple[str, Callable[[], None]]] = [
                    ("one process (sync)", partial(_one_process, stack, config)),
                    ("sharded, 1 worker", partial(_sharded, stack, config, store, 1)),
                    ("sharded, 2 workers", partial(_sharded, stack, config, store, 2)),
                ]
                baseline = 0.0
                for name, run in runs:
                    figures = _measured(stack, run, headers)
                    baseline = baseline or figures.wall
                    _print(name, figures, total, baseline)
                    if figures.entities != total:
                        raise RuntimeError(f"{name}: the catalog holds {figures.entities:,}, expected {total:,}")


if __name__ == "__main__":
    main()
