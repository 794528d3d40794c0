"""Which shards a shard waits for before it writes relations (pure decision logic: a small
in-memory store, queue and catalog stand in for DynamoDB, SQS and Port)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.sharded_runs import Scope, ScopeState, ShardTask
from port_aws_exporter.sync.sharded.shard import ShardOutcome, ShardRunner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOME, MEMBER = "111111111111", "222222222222"
STARTED = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)


class _Store:
    """Answers `unfinished_shards` from a fixed set of (account, entry) shards still running."""

    def __init__(self, running: set[tuple[str, int]]) -> None:
        self.running = running
        self.asked: list[tuple[str, frozenset[int]]] = []

    def unfinished_shards(self, run_id: str, account_id: str, entries: Collection[int]) -> list[str]:
        self.asked.append((account_id, frozenset(entries)))
        return [f"{account}/{entry}/us-east-1" for account, entry in sorted(self.running) if account == account_id]

    def start_shard(self, task: ShardTask) -> bool:
        return False  # as a duplicate: the runner stops before syncing

    def unsent_continuation(self, task: ShardTask) -> None:
        return None

    def claim_deletion(self, run_id: str, scope: Scope, lease_until: float | None) -> None:
        return None  # its scope is not due

    def scope_state(self, run_id: str, scope: Scope) -> ScopeState:
        return ScopeState(scope, total=1, remaining=0, deletion="done")


class _Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None:
        self.sent += [(body, delay_seconds) for body in bodies]


class _Catalog:
    def get_blueprint(self, identifier: str) -> dict[str, Any]:
        return {
            "identifier": identifier,
            "relations": {"account": {"target": "awsAccount"}, "region": {"target": "awsRegion"}},
        }


def _runner(store: _Store, queue: _Queue) -> ShardRunner:
    organization = json.loads((EXAMPLES / "organization.config.json").read_text())
    accounts, queues = (
        next(entry for entry in organization["resources"] if entry["kind"] == kind)
        for kind in ("AWS::Organizations::Account", "AWS::SQS::Queue")
    )
    config = load_config({"accounts": {"organization": {}}, "resources": [accounts, queues]})
    return ShardRunner(
        config,
        store,  # type: ignore[arg-type]
        lambda task: lambda spec: None,  # type: ignore[arg-type,return-value]
        lambda installation: _Catalog(),  # type: ignore[arg-type,return-value]
        home_region="us-east-1",
        tasks=queue,
        relation_wait_seconds=7,
        home_account_id=HOME,
    )


def _member_queues_shard() -> ShardTask:
    return ShardTask(
        "run",
        f"{MEMBER}/1/us-east-1",
        MEMBER,
        "organization",
        1,
        "AWS::SQS::Queue",
        "us-east-1",
        ("awsSqsQueue",),
        STARTED,
    )


def test_a_member_accounts_shard_waits_for_the_organisation_level_shard_in_the_home_account() -> None:
    store, queue = _Store({(HOME, 0)}), _Queue()

    assert _runner(store, queue).run(_member_queues_shard()) is ShardOutcome.WAITING

    # The accounts' entities come from the home account's shard of entry 0, not the member's own.
    assert store.asked == [(HOME, frozenset({0}))]
    [(body, delay)] = queue.sent
    assert delay == 7 and ShardTask.from_body(body).waited == 1


def test_once_that_shard_is_over_the_member_shards_go_on_without_asking_again() -> None:
    store, queue = _Store(set()), _Queue()
    runner = _runner(store, queue)

    assert runner.run(_member_queues_shard()) is ShardOutcome.DUPLICATE
    assert runner.run(_member_queues_shard()) is ShardOutcome.DUPLICATE
    assert queue.sent == []
    # Shards over stay over (a part hands on in the transaction that finishes it): asked once.
    assert store.asked == [(HOME, frozenset({0}))]
