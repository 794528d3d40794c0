"""`sync --sharded` plans a run on the local stack and `worker --sync-tasks` processes (two at once,
real subprocesses) run its shards: the catalog ends exactly as an unsharded sync leaves it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from port_aws_exporter.aws.run_store import DynamoRunStore
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.sync.sharded.run_report import sharded_run_report
from tests.cli_runner import cli_env, run_cli
from tests.fixtures.sharded_runs import local_run_state

REGIONS = ("us-east-1", "eu-west-1")
STATE = ["--tasks-queue", "sync-tasks", "--state-table", "sync-runs", "--state-bucket", "sync-state"]


def _write_config(tmp_path: Path) -> tuple[Path, Path]:
    mapping = {"identifier": ".FunctionName", "blueprint": "fn", "properties": {"arn": ".Arn"}}
    entry = {
        "kind": "AWS::Lambda::Function",
        "selector": {"aws": {"regions": list(REGIONS)}},
        "port": {"entity": {"mappings": [mapping]}},
    }
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"resources": [entry]}))
    blueprint = tmp_path / "fn.json"
    blueprint.write_text(
        json.dumps({"identifier": "fn", "title": "Function", "schema": {"properties": {"arn": {"type": "string"}}}})
    )
    return config, blueprint


def _catalog(db: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    return _catalog_of(db, "fn", env, cwd)


def _catalog_of(db: Path, blueprint: str, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    listed = run_cli(["catalog", "list", "--db", str(db), "--blueprint", blueprint, "--json"], env, cwd)
    assert listed.returncode == 0, listed.stderr
    return {entity["identifier"]: entity["properties"] for entity in json.loads(listed.stdout)}


def _worker(
    config: Path, db: Path, env: dict[str, str], cwd: Path, queue_url: str, *options: str, idle_seconds: int = 4
) -> subprocess.Popen[str]:
    args = ["worker", "--config", str(config), "--local-catalog", str(db), "--sync-tasks", queue_url]
    args += ["--state-table", "sync-runs", "--state-bucket", "sync-state", "--idle-seconds", str(idle_seconds)]
    args += options
    return subprocess.Popen(
        [sys.executable, "-m", "port_aws_exporter", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_sharded_sync_on_two_worker_processes_leaves_the_catalog_an_unsharded_sync_leaves(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    for region in REGIONS:
        fresh_local_aws.bulk_create_lambda_functions(2, region=region, prefix=f"fn-{region}")
    [gone] = fresh_local_aws.bulk_create_lambda_functions(1, region="us-east-1", prefix="gone")
    config, blueprint = _write_config(tmp_path)
    env = cli_env(aws_env)
    unsharded, sharded = _two_catalogs(blueprint, env, tmp_path, synced_with=config)
    aws_client("lambda").delete_function(FunctionName=gone)

    reference = run_cli(["sync", "--config", str(config), "--local-catalog", str(unsharded)], env, tmp_path)
    assert reference.returncode == 0, reference.stderr
    planned = run_cli(["sync", "--config", str(config), "--sharded", "--create-state", *STATE, "--json"], env, tmp_path)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert (plan["shards"], plan["scopes"]) == (2, 1)

    workers = [_worker(config, sharded, env, tmp_path, plan["tasks_queue"]) for _ in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in outputs]
    assert sum(json.loads(out)["shards_settled"] for out, _ in outputs) == 2

    store = DynamoRunStore(aws_client("dynamodb"), aws_client("s3"), "sync-runs", "sync-state")
    state = store.run_state(plan["run_id"]).as_dict()
    assert (state["status"], state["shard_counts"], state["deleted"]) == ("complete", {"done": 2}, 1)
    expected = _catalog(unsharded, env, tmp_path)
    assert gone not in expected and len(expected) == 4
    assert _catalog(sharded, env, tmp_path) == expected
    status_args = ["sync", "status", plan["run_id"], "--state-table", "sync-runs", "--state-bucket", "sync-state"]
    status = run_cli([*status_args, "--json"], env, tmp_path)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == state
    table = run_cli(status_args, env, tmp_path)
    assert table.returncode == 0, table.stderr
    assert f"run {plan['run_id']}: complete; shards: 2 done; 1 stale deleted" in table.stdout

    # --wait follows a second run to its end while a worker runs it; nothing is stale any more.
    worker = _worker(config, sharded, env, tmp_path, plan["tasks_queue"])
    waited = run_cli(["sync", "--config", str(config), "--sharded", *STATE, "--wait", "120", "--json"], env, tmp_path)
    worker.communicate(timeout=300)
    assert waited.returncode == 0, waited.stderr
    followed = json.loads(waited.stdout)
    assert followed["run_id"] != plan["run_id"] and followed["deleted"] == 0
    assert (followed["created"], followed["updated"], followed["unchanged"]) == (0, 0, 4)
    assert "shards 2/2 settled" in waited.stderr


# What the unsharded and the sharded report must agree on, per kind row and for the run.
ROW_COUNTS = ("listed", "written", "failed", "filtered", "not_found", "created", "updated", "unchanged")
RUN_COUNTS = ("deleted", "deletion_skipped", "deletion_errors", "error_count")


def _rows(report: dict[str, Any]) -> dict[tuple[Any, ...], tuple[int, ...]]:
    return {
        (row.get("account"), row["index"], row["kind"], row["region"]): tuple(row[name] for name in ROW_COUNTS)
        for row in report["kinds"]
    }


def test_the_sharded_wait_json_report_counts_what_the_unsharded_sync_report_counts(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    for region in REGIONS:
        fresh_local_aws.bulk_create_lambda_functions(3, region=region, prefix=f"fn-{region}")
    [gone] = fresh_local_aws.bulk_create_lambda_functions(1, region="us-east-1", prefix="gone")
    config, blueprint = _write_config(tmp_path)
    document = json.loads(config.read_text())
    document["resources"][0]["port"]["entity"]["mappings"][0]["properties"]["memory"] = ".MemorySize"
    config.write_text(json.dumps(document))
    schema = {"arn": {"type": "string"}, "memory": {"type": "number"}}
    blueprint.write_text(json.dumps({"identifier": "fn", "title": "Function", "schema": {"properties": schema}}))
    env = cli_env(aws_env)
    unsharded, sharded = _two_catalogs(blueprint, env, tmp_path, synced_with=config)
    # Then one of each: a function gone (stale), one new, one changed, the others as they were.
    lambda_client = aws_client("lambda")
    lambda_client.delete_function(FunctionName=gone)
    fresh_local_aws.bulk_create_lambda_functions(1, region="eu-west-1", prefix="new")
    changed = lambda_client.list_functions()["Functions"][0]["FunctionName"]
    lambda_client.update_function_configuration(FunctionName=changed, MemorySize=1024)
    _state_store(aws_client, visibility_seconds=30)

    expected, report = _unsharded_and_sharded_reports(config, unsharded, sharded, env, tmp_path, aws_client)

    assert set(report) == set(expected) | {"run_id"}
    assert _rows(report) == _rows(expected)
    assert {(row["index"], row["region"]): row["created"] for row in expected["kinds"]} == {
        (0, "us-east-1"): 0,
        (0, "eu-west-1"): 1,
    }
    assert (expected["updated"], expected["unchanged"], expected["deleted"]) == (1, 5, 1)
    assert [report[name] for name in RUN_COUNTS] == [expected[name] for name in RUN_COUNTS]
    assert [report[name] for name in ("created", "updated", "unchanged")] == [1, 1, 5]
    assert _catalog(sharded, env, tmp_path) == _catalog(unsharded, env, tmp_path)

    # For people: the unsharded sync's summary line, not the run's state.
    second = run_cli(["sync", "--config", str(config), "--local-catalog", str(unsharded)], env, tmp_path)
    workers = [_worker(config, sharded, env, tmp_path, _queue_url(aws_client), idle_seconds=20)]
    table = run_cli(["sync", "--config", str(config), "--sharded", *STATE, "--wait", "120"], env, tmp_path)
    workers[0].terminate()
    workers[0].communicate(timeout=60)
    assert table.returncode == 0, table.stderr
    summary = "7 resources listed, 0 entities written (0 new, 0 changed, 7 unchanged), 0 failures, 0 stale entities"
    assert summary in second.stdout and summary in table.stdout
    assert "Full sync" in table.stdout


def _queue_url(aws_client: Any) -> str:
    return str(aws_client("sqs").get_queue_url(QueueName="sync-tasks")["QueueUrl"])


def test_a_sharded_sync_without_its_state_or_with_a_missing_table_or_run_says_so(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    config, _ = _write_config(tmp_path)
    env = cli_env(aws_env)
    bare = run_cli(["sync", "--config", str(config), "--sharded"], env, tmp_path)
    assert bare.returncode == 1
    assert "--tasks-queue" in bare.stderr and "--state-table" in bare.stderr and "Traceback" not in bare.stderr

    dry = run_cli(["sync", "--config", str(config), "--sharded", *STATE, "--dry-run"], env, tmp_path)
    assert dry.returncode == 1 and "--dry-run cannot be used with --sharded" in dry.stderr

    missing = run_cli(["sync", "--config", str(config), "--sharded", *STATE], env, tmp_path)
    assert missing.returncode == 1
    assert "state table 'sync-runs'" in missing.stderr and "--create-state" in missing.stderr
    assert "Traceback" not in missing.stderr

    _state_store(aws_client, visibility_seconds=30)
    unknown = run_cli(["sync", "status", "no-such-run", *STATE[2:]], env, tmp_path)
    assert unknown.returncode == 1
    assert "no run 'no-such-run'" in unknown.stderr and "Traceback" not in unknown.stderr


def _plan(config: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    planned = run_cli(["sync", "--config", str(config), "--sharded", *STATE, "--json"], env, cwd)
    assert planned.returncode == 0, planned.stderr
    plan: dict[str, Any] = json.loads(planned.stdout)
    return plan


def _two_catalogs(
    blueprint: Path, env: dict[str, str], cwd: Path, *, synced_with: Path | None = None
) -> tuple[Path, Path]:
    """The unsharded and the sharded sync's catalogs, with `blueprint` (and, with `synced_with`, a
    first sync of that config each)."""
    catalogs = cwd / "unsharded.db", cwd / "sharded.db"
    for db in catalogs:
        applied = run_cli(["catalog", "blueprints", "apply", "--db", str(db), str(blueprint)], env, cwd)
        assert applied.returncode == 0, applied.stderr
        if synced_with is not None:
            first = run_cli(["sync", "--config", str(synced_with), "--local-catalog", str(db)], env, cwd)
            assert first.returncode == 0, first.stderr
    return catalogs


def _unsharded_and_sharded_reports(
    config: Path, unsharded: Path, sharded: Path, env: dict[str, str], cwd: Path, aws_client: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`sync --json` into `unsharded`, then `sync --sharded --wait --json` on two workers into `sharded`."""
    reference = run_cli(["sync", "--config", str(config), "--local-catalog", str(unsharded), "--json"], env, cwd)
    assert reference.returncode == 0, reference.stderr
    workers = [_worker(config, sharded, env, cwd, _queue_url(aws_client), idle_seconds=20) for _ in range(2)]
    waited = run_cli(["sync", "--config", str(config), "--sharded", *STATE, "--wait", "120", "--json"], env, cwd)
    for worker in workers:
        worker.terminate()
        worker.communicate(timeout=60)
    assert waited.returncode == 0, waited.stderr
    return json.loads(reference.stdout), json.loads(waited.stdout)


def _state_store(aws_client: Any, visibility_seconds: int) -> DynamoRunStore:
    """The table and bucket, and a tasks queue whose messages come back `visibility_seconds` after a receive."""
    return local_run_state(aws_client, visibility_seconds)[0]


def test_a_worker_killed_mid_shard_loses_nothing_the_shard_returns_through_sqs_and_the_run_completes_once(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    for region in REGIONS:
        fresh_local_aws.bulk_create_lambda_functions(2, region=region, prefix=f"fn-{region}")
    config, blueprint = _write_config(tmp_path)
    env = cli_env(aws_env)
    db = tmp_path / "catalog.db"
    applied = run_cli(["catalog", "blueprints", "apply", "--db", str(db), str(blueprint)], env, tmp_path)
    assert applied.returncode == 0, applied.stderr
    store = _state_store(aws_client, visibility_seconds=2)
    # The first listing in eu-west-1 hangs long enough to kill its worker in the middle of it.
    for target in ("CloudApiService.ListResources", "lambda:ListFunctions*"):
        fresh_local_aws.faults.delay(target, latency_ms=20_000, region="eu-west-1", count=1)
    plan = _plan(config, env, tmp_path)

    doomed = _worker(config, db, env, tmp_path, plan["tasks_queue"])
    deadline = time.monotonic() + 60
    while not any(
        shard.status == "running" and shard.task.region == "eu-west-1"
        for shard in store.run_state(plan["run_id"]).shards
    ):
        assert time.monotonic() < deadline, "the worker never started the eu-west-1 shard"
        time.sleep(0.2)
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=30)
    assert doomed.returncode == -signal.SIGKILL

    survivor = _worker(config, db, env, tmp_path, plan["tasks_queue"])
    settled, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err
    assert json.loads(settled)["shards_settled"] >= 1
    state = store.run_state(plan["run_id"])
    assert state.status == "complete"
    [west] = [shard for shard in state.shards if shard.task.region == "eu-west-1"]
    assert (west.status, west.attempts) == ("done", 2)
    assert [scope.deletion for scope in state.scopes] == ["done"]
    assert len(_catalog(db, env, tmp_path)) == 4

    # A duplicate delivery of a finished shard is settled (deleted) and changes nothing.
    aws_client("sqs").send_message(QueueUrl=plan["tasks_queue"], MessageBody=west.task.body())
    again = _worker(config, db, env, tmp_path, plan["tasks_queue"])
    settled, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert json.loads(settled)["shards_settled"] == 1 and "duplicate" in err
    assert store.run_state(plan["run_id"]).as_dict() == state.as_dict()


def test_a_shard_failing_for_good_blocks_only_its_scopes_deletion_and_the_status_says_which_and_why(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    for region in REGIONS:
        fresh_local_aws.bulk_create_lambda_functions(2, region=region, prefix=f"fn-{region}")
    [gone] = fresh_local_aws.bulk_create_lambda_functions(1, region="us-east-1", prefix="gone")
    config, blueprint = _write_config(tmp_path)
    # A second blueprint of the same functions, read in us-east-1 only: its own scope.
    entries = json.loads(config.read_text())["resources"]
    second = json.loads(json.dumps(entries[0]))
    second["selector"]["aws"]["regions"] = ["us-east-1"]
    second["port"]["entity"]["mappings"][0]["blueprint"] = "fn2"
    config.write_text(json.dumps({"resources": [entries[0], second]}))
    blueprint2 = tmp_path / "fn2.json"
    blueprint2.write_text(blueprint.read_text().replace('"fn"', '"fn2"'))
    env = cli_env(aws_env)
    db = tmp_path / "catalog.db"
    for path in (blueprint, blueprint2):
        applied = run_cli(["catalog", "blueprints", "apply", "--db", str(db), str(path)], env, tmp_path)
        assert applied.returncode == 0, applied.stderr
    first = run_cli(["sync", "--config", str(config), "--local-catalog", str(db)], env, tmp_path)
    assert first.returncode == 0, first.stderr
    aws_client("lambda").delete_function(FunctionName=gone)
    store = _state_store(aws_client, visibility_seconds=1)
    for target in ("CloudApiService.ListResources", "lambda:ListFunctions*"):
        fresh_local_aws.faults.fail(target, code="AccessDeniedException", region="eu-west-1")
    plan = _plan(config, env, tmp_path)

    worker = _worker(config, db, env, tmp_path, plan["tasks_queue"])
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err

    state = store.run_state(plan["run_id"])
    assert state.status == "complete"
    scopes = {scope.scope.blueprint: scope for scope in state.scopes}
    assert (scopes["fn2"].deletion, scopes["fn2"].deleted) == ("done", 1)
    assert scopes["fn"].deletion != "done" and scopes["fn"].deleted == 0
    assert scopes["fn"].blocked is not None and "eu-west-1" in scopes["fn"].blocked
    assert gone in _catalog(db, env, tmp_path)
    listed = run_cli(["catalog", "list", "--db", str(db), "--blueprint", "fn2", "--json"], env, tmp_path)
    assert gone not in {entity["identifier"] for entity in json.loads(listed.stdout)}
    status = run_cli(["sync", "status", plan["run_id"], *STATE[2:]], env, tmp_path)
    assert status.returncode == 0, status.stderr
    assert "eu-west-1" in status.stdout and "AccessDenied" in status.stdout

    # Its report, in the unsharded sync's form: fn2's deletion done, fn's skipped with the reason.
    report = sharded_run_report(state, organization=False).as_dict()
    assert report["deleted"] == 1 and set(report["deletion_skipped"]) == {"fn"}
    assert "eu-west-1" in report["deletion_skipped"]["fn"]
    [warning] = report["warnings"]
    assert (warning["kind"], warning["region"]) == ("AWS::Lambda::Function", "eu-west-1")
    assert "AccessDenied" in warning["reason"]


def test_a_sharded_sync_of_three_accounts_ends_with_the_catalog_of_an_unsharded_one(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    env = cli_env(aws_env)
    seeded = run_cli(["local", "seed", "--accounts", "2", "--regions", "us-east-1", "--json"], env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    accounts = set(json.loads(seeded.stdout)["resources"])
    mapping = {"identifier": '.QueueName + "@" + .__AccountId', "blueprint": "queue", "properties": {"arn": ".Arn"}}
    entry = {"kind": "AWS::SQS::Queue", "selector": {"aws": {"regions": ["us-east-1"]}}}
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {"accounts": {"organization": {}}, "resources": [{**entry, "port": {"entity": {"mappings": [mapping]}}}]}
        )
    )
    blueprint = tmp_path / "queue.json"
    blueprint.write_text(
        json.dumps({"identifier": "queue", "title": "Queue", "schema": {"properties": {"arn": {"type": "string"}}}})
    )
    # The state first, so that the tasks queue is in both syncs' listings.
    store = _state_store(aws_client, visibility_seconds=30)
    unsharded, sharded = _two_catalogs(blueprint, env, tmp_path)
    expected, report = _unsharded_and_sharded_reports(config, unsharded, sharded, env, tmp_path, aws_client)
    state = store.run_state(report["run_id"])
    assert len(state.shards) == 3 and len(state.scopes) == 3
    assert state.status == "complete" and {scope.scope.account_id for scope in state.scopes} == accounts

    # The report is the unsharded organisation report: per account, per kind, the same counts.
    assert set(report) == set(expected) | {"run_id"}
    assert _rows(report) == _rows(expected)
    assert report["accounts"] == expected["accounts"]
    for name in ("deleted", "deletion_skipped", "error_count", "warnings", "left_out"):
        assert report[name] == expected[name], name
    expected = _catalog_of(unsharded, "queue", env, tmp_path)
    assert len(expected) == 13
    assert _catalog_of(sharded, "queue", env, tmp_path) == expected
