"""A shard that reaches its limits hands the rest of its listing on (real worker processes on the
local stack): the run ends with the catalog and the deletion of an unsharded sync, deleting once,
after the last part; a duplicate continuation message changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from port_aws_exporter.local.aws import RunningLocalAws
from tests.cli_runner import cli_env, run_cli
from tests.sync.test_sharded_cli import _catalog, _plan, _state_store, _two_catalogs, _worker, _write_config

HOME = "123456789012"
# The local Cloud Control lists Lambda functions 50 a page: 120 are three pages.
FUNCTIONS = 120


def test_shards_handed_on_page_by_page_end_as_an_unsharded_sync_and_delete_once_after_the_last_part(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    fresh_local_aws.bulk_create_lambda_functions(FUNCTIONS, region="us-east-1", prefix="fn-us-east-1")
    fresh_local_aws.bulk_create_lambda_functions(2, region="eu-west-1", prefix="fn-eu-west-1")
    [gone] = fresh_local_aws.bulk_create_lambda_functions(1, region="us-east-1", prefix="gone")
    config, blueprint = _write_config(tmp_path)
    env = cli_env(aws_env)
    unsharded, sharded = _two_catalogs(blueprint, env, tmp_path, synced_with=config)
    aws_client("lambda").delete_function(FunctionName=gone)
    reference = run_cli(["sync", "--config", str(config), "--local-catalog", str(unsharded)], env, tmp_path)
    assert reference.returncode == 0, reference.stderr
    store = _state_store(aws_client, visibility_seconds=30)
    plan = _plan(config, env, tmp_path)
    assert plan["shards"] == 2

    # Each part's time is up as soon as it has read a page: it hands the rest on.
    workers = [
        _worker(config, sharded, env, tmp_path, plan["tasks_queue"], "--shard-seconds", "0.001") for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in outputs]
    assert sum(json.loads(out)["shards_settled"] for out, _ in outputs) == 4
    assert "continued" in "".join(err for _, err in outputs)

    state = store.run_state(plan["run_id"])
    east = f"{HOME}/0/us-east-1"
    listed = {shard.task.shard_id: shard.counts["listed"] for shard in state.shards}
    assert listed == {east: 50, f"{east}#2": 50, f"{east}#3": 20, f"{HOME}/0/eu-west-1": 2}
    assert {shard.status for shard in state.shards} == {"done"}
    [scope] = state.scopes
    assert (scope.total, scope.remaining, scope.deletion, scope.deleted) == (4, 0, "done", 1)
    assert state.status == "complete"
    expected = _catalog(unsharded, env, tmp_path)
    assert gone not in expected and len(expected) == FUNCTIONS + 2
    assert _catalog(sharded, env, tmp_path) == expected

    # A second delivery of a continuation is a duplicate: settled, and nothing changes.
    [second_part] = [shard.task for shard in state.shards if shard.task.part == 2]
    aws_client("sqs").send_message(QueueUrl=plan["tasks_queue"], MessageBody=second_part.body())
    again = _worker(config, sharded, env, tmp_path, plan["tasks_queue"])
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert json.loads(out)["shards_settled"] == 1 and f"shard {east}#2: duplicate" in err
    assert store.run_state(plan["run_id"]).as_dict() == state.as_dict()

    # By count: a part that has listed 60 resources hands on after its page (two pages of 50).
    following = _plan(config, env, tmp_path)
    worker = _worker(config, sharded, env, tmp_path, following["tasks_queue"], "--shard-resources", "60")
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    counted = store.run_state(following["run_id"])
    assert {shard.task.shard_id: shard.counts["listed"] for shard in counted.shards} == {
        east: 100,
        f"{east}#2": 20,
        f"{HOME}/0/eu-west-1": 2,
    }
    assert (counted.status, counted.as_dict()["deleted"]) == ("complete", 0)
    assert _catalog(sharded, env, tmp_path) == expected
