"""A sharded run that something went wrong with, on the local stack with real worker processes: a
scope whose claimer died is taken over once the claim's lease expires, and a run that lost shards
deletes nothing while the next run completes cleanly."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.aws.run_store import DynamoRunStore
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.sharded_runs import Scope
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import start_catalog
from tests.cli_runner import cli_env, run_cli
from tests.fixtures.local_catalog import make_port_client
from tests.fixtures.sharded_runs import RUN_TABLE, STATE_BUCKET, in_process_runner
from tests.sync.test_sharded_cli import REGIONS, _catalog, _plan, _state_store, _worker, _write_config


class _DiesAfterClaiming(DynamoRunStore):
    """The store as a worker sees it that is killed right after it claims a scope's deletion."""

    def seen_identifiers(self, run_id: str, scope: Scope) -> tuple[set[str], set[str]]:
        raise RuntimeError("killed after claiming the deletion")


def _world(fresh_local_aws: RunningLocalAws, aws_client: Any, env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Two functions in each region, the catalog synced once, then one function deleted in AWS:
    its entity is stale."""
    for region in REGIONS:
        fresh_local_aws.bulk_create_lambda_functions(2, region=region, prefix=f"fn-{region}")
    [gone] = fresh_local_aws.bulk_create_lambda_functions(1, region="us-east-1", prefix="gone")
    config, blueprint = _write_config(tmp_path)
    db = tmp_path / "catalog.db"
    applied = run_cli(["catalog", "blueprints", "apply", "--db", str(db), str(blueprint)], env, tmp_path)
    assert applied.returncode == 0, applied.stderr
    first = run_cli(["sync", "--config", str(config), "--local-catalog", str(db)], env, tmp_path)
    assert first.returncode == 0, first.stderr
    aws_client("lambda").delete_function(FunctionName=gone)
    return {"config": config, "db": db, "gone": gone}


def test_a_scope_whose_claimer_died_is_taken_over_when_the_lease_expires_and_the_run_completes(
    aws_env: dict[str, str],
    fresh_local_aws: RunningLocalAws,
    aws_client: Any,
    tmp_path: Path,
) -> None:
    env = cli_env(aws_env)
    world = _world(fresh_local_aws, aws_client, env, tmp_path)
    store = _state_store(aws_client, visibility_seconds=2)
    plan = _plan(world["config"], env, tmp_path)

    # A worker runs both shards and is killed right after claiming the scope's deletion: the scope
    # stays claimed until the claim's lease (3 s) runs out, and nothing is deleted.
    tasks = [shard.task for shard in store.run_state(plan["run_id"]).shards]
    lease_until = time.time() + 3
    with start_catalog(world["db"]) as served, make_port_client(served) as port:
        dying_store = _DiesAfterClaiming(aws_client("dynamodb"), aws_client("s3"), RUN_TABLE, STATE_BUCKET)
        dying = in_process_runner(load_config(world["config"]), dying_store, port)
        dying.run(tasks[0], lease_until=lease_until)
        with pytest.raises(RuntimeError, match="killed after claiming"):
            dying.run(tasks[1], lease_until=lease_until)
    [scope] = store.run_state(plan["run_id"]).scopes
    assert (scope.remaining, scope.deletion, scope.deleted) == (0, "claimed", 0)

    # Both shards' messages are still in the queue (the dead worker settled none): a real worker
    # receives them, leaves them while the claim is live, then takes the expired claim over.
    worker = _worker(world["config"], world["db"], env, tmp_path, plan["tasks_queue"])
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    assert json.loads(out)["shards_settled"] == 2
    state = store.run_state(plan["run_id"])
    assert state.status == "complete"
    assert [(s.deletion, s.deleted) for s in state.scopes] == [("done", 1)]
    catalog = _catalog(world["db"], env, tmp_path)
    assert world["gone"] not in catalog and len(catalog) == 4


def test_a_run_that_lost_a_shard_deletes_nothing_and_the_next_run_completes_cleanly(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    env = cli_env(aws_env)
    world = _world(fresh_local_aws, aws_client, env, tmp_path)
    store = _state_store(aws_client, visibility_seconds=30)
    sqs = aws_client("sqs")
    lost = _plan(world["config"], env, tmp_path)

    # One of its two shard messages is lost (deleted unread), the other runs.
    answer = sqs.receive_message(QueueUrl=lost["tasks_queue"], MaxNumberOfMessages=1, WaitTimeSeconds=5)
    [message] = answer["Messages"]
    sqs.delete_message(QueueUrl=lost["tasks_queue"], ReceiptHandle=message["ReceiptHandle"])
    worker = _worker(world["config"], world["db"], env, tmp_path, lost["tasks_queue"])
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    assert json.loads(out)["shards_settled"] == 1

    abandoned = store.run_state(lost["run_id"])
    assert abandoned.status == "running"
    assert sorted(shard.status for shard in abandoned.shards) == ["done", "queued"]
    assert [(s.remaining, s.deletion, s.deleted) for s in abandoned.scopes] == [(1, "waiting", 0)]
    assert world["gone"] in _catalog(world["db"], env, tmp_path)  # nothing was deleted

    # The next run knows nothing of the abandoned one: it completes and deletes the stale entity once.
    following = _plan(world["config"], env, tmp_path)
    workers = [_worker(world["config"], world["db"], env, tmp_path, following["tasks_queue"]) for _ in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in outputs]
    state = store.run_state(following["run_id"]).as_dict()
    assert (state["status"], state["shard_counts"], state["deleted"]) == ("complete", {"done": 2}, 1)
    catalog = _catalog(world["db"], env, tmp_path)
    assert world["gone"] not in catalog and len(catalog) == 4
    assert store.run_state(lost["run_id"]).as_dict() == abandoned.as_dict()
