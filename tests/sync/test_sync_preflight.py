"""`sync` before and around its first write: Port unreachable or refusing, a blueprint missing, and a
dry run that foresees what the real run will refuse. Real processes, the local stack."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from tests.cli_runner import cli_env, run_cli

QUEUE_BLUEPRINT = {
    "identifier": "queue",
    "title": "Queue",
    "schema": {"properties": {"arn": {"type": "string"}}},
    "relations": {"owner": {"target": "team", "many": False, "required": False}},
}
TEAM_BLUEPRINT = {"identifier": "team", "title": "Team", "schema": {"properties": {}}}


def _config(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"resources": list(entries)}))
    return path


def _entry(kind: str, mapping: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "port": {"entity": {"mappings": [mapping]}}}


QUEUE_MAPPING = {"identifier": ".QueueName", "blueprint": "queue", "properties": {"arn": ".Arn"}}
QUEUE_ENTRY = _entry("AWS::SQS::Queue", QUEUE_MAPPING)
TOPIC_ENTRY = _entry("AWS::SNS::Topic", {"identifier": ".TopicName", "blueprint": "topic"})


def _apply(db: Path, tmp_path: Path, env: dict[str, str], *blueprints: dict[str, Any]) -> None:
    for blueprint in blueprints:
        path = tmp_path / f"{blueprint['identifier']}.blueprint.json"
        path.write_text(json.dumps(blueprint))
        applied = run_cli(["catalog", "blueprints", "apply", "--db", str(db), str(path)], env, tmp_path)
        assert applied.returncode == 0, applied.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_missing_blueprint_is_an_error_of_its_kinds_and_the_rest_syncs(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    for n in range(2):
        aws_client("sqs").create_queue(QueueName=f"pre-queue-{n}")
    aws_client("sns").create_topic(Name="pre-topic")
    env = cli_env(aws_env)
    db = tmp_path / "catalog.db"
    _apply(db, tmp_path, env, TEAM_BLUEPRINT, QUEUE_BLUEPRINT)  # no "topic" blueprint
    config = _config(tmp_path, QUEUE_ENTRY, TOPIC_ENTRY)

    for dry_run in (["--dry-run"], []):
        result = run_cli(
            ["sync", "--config", str(config), "--local-catalog", str(db), "--json", *dry_run], env, tmp_path
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        report = json.loads(result.stdout)
        assert report["missing_blueprints"] == ["topic"]
        assert [(k["kind"], k["listed"], k["written"]) for k in report["kinds"]] == [
            ("AWS::SQS::Queue", 2, 2),
            ("AWS::SNS::Topic", 0, 0),
        ]
        [error] = report["errors"]
        assert error["kind"] == "AWS::SNS::Topic"
        assert "blueprint 'topic' does not exist in the catalog" in error["error"]
        assert "does not exist in the catalog" in report["deletion_skipped"]["topic"]

    table = run_cli(["sync", "--config", str(config), "--local-catalog", str(db)], env, tmp_path)
    assert table.returncode == 1 and "Traceback" not in table.stderr
    assert "blueprint 'topic' does not exist in the catalog" in table.stderr
    listed = run_cli(["catalog", "list", "--db", str(db), "--blueprint", "queue", "--json"], env, tmp_path)
    assert sorted(e["identifier"] for e in json.loads(listed.stdout)) == ["pre-queue-0", "pre-queue-1"]


def test_the_dry_run_fails_what_the_real_run_refuses_and_counts_stale_entities(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    urls = [aws_client("sqs").create_queue(QueueName=f"dry-queue-{n}")["QueueUrl"] for n in range(3)]
    env = cli_env(aws_env)
    db = tmp_path / "catalog.db"
    _apply(db, tmp_path, env, TEAM_BLUEPRINT, QUEUE_BLUEPRINT)
    good = _config(tmp_path, QUEUE_ENTRY)
    first = run_cli(["sync", "--config", str(good), "--local-catalog", str(db)], env, tmp_path)
    assert first.returncode == 0, first.stderr
    aws_client("sqs").delete_queue(QueueUrl=urls[2])

    stale = run_cli(["sync", "--config", str(good), "--local-catalog", str(db), "--dry-run"], env, tmp_path)
    assert stale.returncode == 0, stale.stderr
    assert "0 failures, 1 stale entities would delete" in stale.stdout
    assert "queue: 0 to create, 0 to update, 2 unchanged, 1 to delete (dry-queue-2)" in stale.stdout

    # A property of the wrong type for one queue, a relation to a team that does not exist for another.
    mapping = {
        "identifier": ".QueueName",
        "blueprint": "queue",
        "properties": {"arn": 'if .QueueName == "dry-queue-0" then 5 else .Arn end'},
        "relations": {"owner": 'if .QueueName == "dry-queue-1" then "ghost-team" else null end'},
    }
    bad = _config(tmp_path, _entry("AWS::SQS::Queue", mapping))
    dry = run_cli(["sync", "--config", str(bad), "--local-catalog", str(db), "--dry-run", "--json"], env, tmp_path)
    real = run_cli(["sync", "--config", str(bad), "--local-catalog", str(db), "--json"], env, tmp_path)
    dry_report, real_report = json.loads(dry.stdout), json.loads(real.stdout)
    assert dry.returncode == real.returncode == 1
    assert dry_report["changes"]["queue"] == {"create": 0, "update": 0, "unchanged": 0, "delete": []}
    assert {e["identifier"] for e in dry_report["errors"]} == {e["identifier"] for e in real_report["errors"]}
    assert {e["identifier"] for e in dry_report["errors"]} == {"dry-queue-0", "dry-queue-1"}
    by_id = {e["identifier"]: e["error"] for e in dry_report["errors"]}
    assert "property 'arn' must be of type string, got number" in by_id["dry-queue-0"]
    assert "related entity 'ghost-team' of blueprint 'team'" in by_id["dry-queue-1"]
    assert [k["failed"] for k in dry_report["kinds"]] == [k["failed"] for k in real_report["kinds"]] == [2]


def test_port_unreachable_stops_the_sync_at_once_with_one_line(aws_env: dict[str, str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    env = cli_env(aws_env, PORT_CLIENT_ID="id", PORT_CLIENT_SECRET="a-secret-value", PORT_API_URL=url)
    started = time.monotonic()
    result = run_cli(["sync", "--config", str(_config(tmp_path, QUEUE_ENTRY))], env, tmp_path)
    assert time.monotonic() - started < 60  # not minutes of retries per entity
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line, hint] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot reach Port at {url}")
    assert "PORT_API_URL" in hint and "a-secret-value" not in result.stderr
    assert result.stdout == ""


def test_refused_port_credentials_stop_the_sync_with_one_line(
    aws_env: dict[str, str], local_catalog: RunningCatalog, tmp_path: Path
) -> None:
    env = cli_env(aws_env, PORT_CLIENT_ID="someone", PORT_CLIENT_SECRET="wrong-secret", PORT_API_URL=local_catalog.url)
    result = run_cli(["sync", "--config", str(_config(tmp_path, QUEUE_ENTRY))], env, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: Port at {local_catalog.url} refused the credentials")
    assert "wrong-secret" not in result.stderr


def test_errors_of_one_cause_are_one_line_with_their_count(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    for n in range(5):
        aws_client("sqs").create_queue(QueueName=f"grouped-{n}")
    env = cli_env(aws_env)
    db = tmp_path / "catalog.db"
    _apply(db, tmp_path, env, TEAM_BLUEPRINT, QUEUE_BLUEPRINT)
    mapping = {"identifier": ".QueueName", "blueprint": "queue", "properties": {"size": "5"}}
    config = _config(tmp_path, _entry("AWS::SQS::Queue", mapping))
    dry = run_cli(["sync", "--config", str(config), "--local-catalog", str(db), "--dry-run"], env, tmp_path)
    assert dry.returncode == 1 and "0 entities to write (0 new, 0 changed, 0 unchanged), 5 failures" in dry.stdout
    assert "error: 5 errors: writing queue/… would fail: blueprint_schema_mismatch" in dry.stderr
    result = run_cli(["sync", "--config", str(config), "--local-catalog", str(db)], env, tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: 5 errors: writing queue/… failed: blueprint_schema_mismatch")
    assert "property 'size' is not defined" in errors[0] and "AWS::SQS::Queue us-east-1" in errors[0]
