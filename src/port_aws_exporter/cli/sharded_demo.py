"""`demo --sharded`: the demo's full sync as shards on worker processes, on the local AWS's SQS,
DynamoDB and S3 (the run's state lives in the management account, as a deployment's does, so the
sync lists its queue, table and bucket too).

The run is planned with `sync --sharded`'s planner, two `worker --sync-tasks` processes run its
shards, the run is followed until its last scope deletion, and its report is the unsharded sync's
(`sync.sharded.run_report`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.identity import CallerIdentity
from port_aws_exporter.cli.shard_workers import catalog_environment, running_workers, worker_arguments
from port_aws_exporter.cli.sharded_sync import (
    ShardedState,
    ShardProgress,
    open_sharded_state,
    planner_for,
    run_report,
    wait_for_run,
)
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.sharded_runs import RunState, RunStatus
from port_aws_exporter.port import PortCredentials
from port_aws_exporter.sync.accounts import OrganizationReport

DEMO_WORKERS = 2
# The run's state in the management account; the queue a name, so that it is created.
DEMO_STATE = ShardedState("demo-sync-tasks", "demo-sync-runs", "demo-sync-state")
# A worker stops itself this long after the queue went empty (if the demo could not stop it).
WORKER_IDLE_SECONDS = 30.0
RUN_TIMEOUT_SECONDS = 600.0


class ShardedDemoError(RuntimeError):
    """The sharded run did not complete (a worker failed, or the time ran out)."""


@dataclass(frozen=True)
class ShardedDemoSync:
    """The sharded run as it ended, and its report in the unsharded sync's form."""

    state: RunState
    report: OrganizationReport
    workers: int


def run_sharded_demo_sync(
    config_document: dict[str, Any],
    clients: AwsClients,
    caller: CallerIdentity,
    credentials: PortCredentials,
    region: str,
    *,
    on_progress: ShardProgress | None = None,
    workers: int = DEMO_WORKERS,
) -> ShardedDemoSync:
    """Plan the demo's run, run it on `workers` worker processes writing to the catalog of
    `credentials`, and follow it to the end; raises ShardedDemoError when it does not complete."""
    config = load_config(config_document)
    opened = open_sharded_state(clients, region, DEMO_STATE, create=True)
    state = replace(DEMO_STATE, tasks_queue=opened.queue.queue_url)
    with tempfile.TemporaryDirectory(prefix="port-aws-exporter-demo-shards-") as workdir:
        config_path = Path(workdir) / "config.json"
        config_path.write_text(json.dumps(config_document))
        arguments = worker_arguments(config_path, state, WORKER_IDLE_SECONDS)
        with running_workers(workers, arguments, catalog_environment(credentials), Path(workdir)) as running:
            planned = planner_for(config, clients, caller, region, opened).plan()
            run_state = wait_for_run(
                opened.store, planned.run_id, RUN_TIMEOUT_SECONDS, on_progress, keep_waiting=running.any_running
            )
            if run_state.status != RunStatus.COMPLETE:
                raise ShardedDemoError(
                    f"the sharded run {planned.run_id} did not complete ({run_state.status}); "
                    f"{running.describe_exits()}"
                )
    report = run_report(run_state, config, clients, caller)
    assert isinstance(report, OrganizationReport)  # the demo's config has `accounts`
    return ShardedDemoSync(run_state, report, workers)
