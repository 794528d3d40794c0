"""`demo --sharded` as a user runs it: the demo's full sync as shards on two worker processes ends
with the catalog the unsharded demo gives, and the same report."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli_runner import run_cli

# The run's state lives in the management account, where the sync lists it as any other resource.
STATE_ENTITIES = {
    ("awsSqsQueue", "demo-sync-tasks"),
    ("awsDynamoDbTable", "demo-sync-runs"),
    ("awsS3Bucket", "demo-sync-state"),
}
# What differs between two demos, whichever way they sync: the time, and the local AWS's port.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
ENDPOINT = re.compile(r"http://127\.0\.0\.1:\d+")
META = {"createdAt", "updatedAt", "createdBy", "updatedBy"}
ROW_COUNTS = ("listed", "written", "failed", "filtered", "not_found", "created", "updated", "unchanged")


def _demo(tmp_path: Path, name: str, *flags: str) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """The demo's JSON report, its catalog's entities and its stderr (exit 1 allowed: its report says why)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "AWS_"))}
    project = Path(__file__).resolve().parents[2]
    db = tmp_path / f"{name}.db"
    result = run_cli(["demo", "--no-live", "--catalog-db", str(db), "--json", *flags], env, project)
    assert result.returncode in (0, 1) and result.stdout, result.stderr
    listed = run_cli(["catalog", "list", "--db", str(db), "--json"], env, project)
    assert listed.returncode == 0, listed.stderr
    return json.loads(result.stdout), json.loads(listed.stdout), result.stderr


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return "<time>" if TIMESTAMP.match(value) else ENDPOINT.sub("<endpoint>", value)
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items() if key not in META}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


def _by_name(report: dict[str, Any], value: Any) -> Any:
    """`value` with each account id replaced by the account's name (a demo's member ids are random)."""
    text = json.dumps(value)
    for account in report["accounts"]:
        text = text.replace(account["account"], account["name"])
    return json.loads(text)


def _catalog(report: dict[str, Any], entities: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    return {(entity["blueprint"], entity["identifier"]): _comparable(entity) for entity in _by_name(report, entities)}


def _rows(report: dict[str, Any]) -> dict[tuple[str, int, str], dict[str, int]]:
    return {
        (row["account"], row["index"], row["region"]): {name: row[name] for name in ROW_COUNTS}
        for row in _by_name(report, report["kinds"])
    }


def test_demo_sharded_ends_with_the_catalog_and_the_report_of_the_unsharded_demo(tmp_path: Path) -> None:
    expected_report, expected_entities, _ = _demo(tmp_path, "unsharded")
    assert expected_report["error_count"] == 0, expected_report["errors"]
    report, entities, progress = _demo(tmp_path, "sharded", "--sharded")
    # The report (first: its counts say more than the catalog when they differ): the unsharded one's
    # keys (plus the run id), the same counts, except one more queue, table and bucket (new) in the
    # management account.
    assert set(report) == set(expected_report) | {"run_id"}
    assert (report["errors"], report["error_count"], report["deleted"]) == ([], 0, 0)
    rows, expected_rows = _rows(report), _rows(expected_report)
    assert set(rows) == set(expected_rows)
    kinds = {(row["account"], row["index"], row["region"]): row["kind"] for row in _by_name(report, report["kinds"])}
    more = {
        (*key, kinds[key]): {name: row[name] - expected_rows[key][name] for name in ROW_COUNTS}
        for key, row in rows.items()
        if row != expected_rows[key]
    }
    one_new = {**dict.fromkeys(ROW_COUNTS, 0), "listed": 1, "written": 1, "created": 1}
    state_kinds = ("AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::S3::Bucket")
    # The state's queue, table and bucket: in the management account, in the demo's first region.
    state_rows = {
        (account, index, region, kind)
        for (account, index, region), kind in kinds.items()
        if (account, region) == ("master", "us-east-1") and kind in state_kinds
    }
    assert more == dict.fromkeys(state_rows, one_new)
    expected, catalog = _catalog(expected_report, expected_entities), _catalog(report, entities)
    assert set(catalog) - set(expected) == STATE_ENTITIES and set(expected) <= set(catalog)
    assert {key: catalog[key] for key in expected} == expected
    # Sorted by name: each demo's member accounts have ids of their own.
    names = sorted((account["name"], account["status"]) for account in report["accounts"])
    assert names == sorted((account["name"], account["status"]) for account in expected_report["accounts"])
    assert [name for name, _ in names] == ["master", "team-a", "team-b"]

    # Progress while it ran: the shards as they settled, the last line all of them.
    lines = [line for line in progress.splitlines() if line.startswith("shards ")]
    settled, total = lines[-1].split()[1].split("/")
    assert settled == total and int(total) > 1 and len(lines) > 1


def _children(pid: int) -> set[int]:
    """The child processes of `pid`, as Linux lists them."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def test_ctrl_c_during_demo_sharded_stops_its_worker_processes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT_", "AWS_"))}
    project = Path(__file__).resolve().parents[2]
    db = tmp_path / "demo.db"
    demo = subprocess.Popen(
        [sys.executable, "-m", "port_aws_exporter", "demo", "--sharded", "--no-live", "--catalog-db", str(db)],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        # The first shard settled: the workers are up and working.
        for line in demo.stdout:
            if line.startswith("shards "):
                break
        workers = _children(demo.pid)
        assert len(workers) == 2
        demo.send_signal(signal.SIGINT)
        demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode != 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
