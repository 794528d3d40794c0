"""What handing a shard on costs: one shard of Lambda functions run whole, then in parts.

    .venv/bin/python benchmarks/bench_shard_parts.py [--functions 5000] [--parts-of 500,100]

One account, one region, `--functions` Lambda functions listed with `useListProperties` (the local
Cloud Control's pages of 50): one shard. For the whole shard and for each `--parts-of` count (a
worker's `--shard-resources`), two runs of `sync --sharded` and one `worker --sync-tasks`: into an
emptied catalog, then again with nothing changed. Each part reads the blueprint's owned entities
again for the change-only comparison, and adds a finish transaction and a message.

Prints for each run: the parts, the wall seconds from the plan to the worker's exit less its
`--idle-seconds 2` (so the worker's start and the planner's are in), and the CPU seconds of the
exporter's processes (planner and worker). The local AWS endpoint and the local catalog run in their
own processes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench_accounts import BLUEPRINT, MAPPING  # the organisation benchmark's functions, mapped alike
from local_stack import catalog_headers, local_clients, local_stack, seed_lambda_functions, sync_environment
from port_aws_exporter.aws.run_store import DynamoRunStore, create_run_table

SECRET = "bench-secret"
STATE = ["--state-table", "sync-runs", "--state-bucket", "sync-state"]
IDLE_SECONDS = 2.0


def _exporter(arguments: list[str], environment: dict[str, str], workdir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "port_aws_exporter", *arguments],
        env=environment,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{arguments[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def _state_store(aws_url: str) -> tuple[DynamoRunStore, str]:
    clients = local_clients(aws_url, ("dynamodb", "s3", "sqs"))
    create_run_table(clients["dynamodb"], "sync-runs")
    clients["s3"].create_bucket(Bucket="sync-state")
    queue = clients["sqs"].create_queue(QueueName="sync-tasks", Attributes={"VisibilityTimeout": "900"})
    return DynamoRunStore(clients["dynamodb"], clients["s3"], "sync-runs", "sync-state"), queue["QueueUrl"]


def _run(config: Path, queue: str, parts_of: int | None, environment: dict[str, str], workdir: Path) -> dict[str, Any]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    plan = ["sync", "--config", str(config), "--sharded", "--tasks-queue", queue, *STATE, "--json"]
    planned = _exporter(plan, environment, workdir)
    worker = ["worker", "--config", str(config), "--sync-tasks", queue, *STATE, "--idle-seconds", str(IDLE_SECONDS)]
    _exporter([*worker, *(["--shard-resources", str(parts_of)] if parts_of else [])], environment, workdir)
    wall = time.monotonic() - started - IDLE_SECONDS
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "run_id": json.loads(planned)["run_id"],
        "wall": wall,
        "cpu": after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=5_000)
    parser.add_argument("--parts-of", default="500,100", help="comma-separated resources per part")
    args = parser.parse_args()
    limits: list[int | None] = [None, *(int(count) for count in args.parts_of.split(",") if count.strip())]
    with tempfile.TemporaryDirectory(prefix="bench-shard-parts-") as tmp:
        workdir = Path(tmp)
        with local_stack(workdir / "catalog.db", secret=SECRET) as (aws, catalog):
            seed_lambda_functions(aws.url, None, args.functions, "bench", ["us-east-1"])
            environment = {
                **sync_environment(aws.url),
                "PORT_CLIENT_ID": "bench",
                "PORT_CLIENT_SECRET": SECRET,
                "PORT_API_URL": catalog.url,
            }
            headers = catalog_headers(catalog.url, secret=SECRET)
            httpx.post(f"{catalog.url}/v1/blueprints", json=BLUEPRINT, headers=headers, timeout=30).raise_for_status()
            store, queue = _state_store(aws.url)
            selector = {"regions": ["us-east-1"], "useListProperties": True}
            entry = {"kind": "AWS::Lambda::Function", "selector": {"aws": selector}}
            config = workdir / "config.json"
            config.write_text(json.dumps({"resources": [{**entry, "port": {"entity": {"mappings": [MAPPING]}}}]}))
            print(f"{args.functions:,} Lambda functions in one shard (useListProperties, pages of 50):")
            for parts_of in limits:
                entities = f"{catalog.url}/v1/blueprints/{BLUEPRINT['identifier']}/all-entities"
                httpx.delete(entities, headers=headers, timeout=600)
                for catalog_state in ("emptied catalog", "nothing changed"):
                    figures = _run(config, queue, parts_of, environment, workdir)
                    state = store.run_state(figures["run_id"])
                    if state.status != "complete":
                        raise RuntimeError(f"run {figures['run_id']} did not complete: {state.as_dict()}")
                    print(
                        f"  parts of {parts_of or 'all'} ({len(state.shards)} parts), {catalog_state}: "
                        f"{figures['wall']:.1f} s wall, exporter CPU {figures['cpu']:.1f} s"
                    )


if __name__ == "__main__":
    main()
