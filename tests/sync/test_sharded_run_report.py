"""A sharded run's state read as the unsharded sync's report: pure data in, report out."""

from __future__ import annotations

import datetime

from port_aws_exporter.core.sharded_runs import RunState, Scope, ScopeState, ShardState, ShardTask
from port_aws_exporter.sync.report import SyncReport
from port_aws_exporter.sync.sharded.run_report import sharded_run_report

STARTED = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def _shard(region: str, status: str, error: str | None, **counts: int) -> ShardState:
    task = ShardTask(
        "run-1", f"111122223333/0/{region}", "111122223333", "home", 0, "AWS::SQS::Queue", region, ("q",), STARTED
    )
    return ShardState(task, status, attempts=1, error=error, counts=counts)


def test_a_shards_stored_errors_become_records_grouped_by_cause_and_its_error_count_stays_whole() -> None:
    stored = "AWS::SQS::Queue us-east-1: Port refused q-1; AWS::SQS::Queue us-east-1: Port refused q-2"
    state = RunState(
        "run-1",
        "complete",
        STARTED.isoformat(),
        (STARTED + datetime.timedelta(seconds=12)).isoformat(),
        shards=[
            _shard("us-east-1", "done", stored, listed=5, written=3, created=3, failed=2, errors=7, milliseconds=1500),
            _shard("eu-west-1", "failed", "attempt 3 of 3 failed: boom"),
        ],
        scopes=[ScopeState(Scope("111122223333", "q"), 2, 0, "skipped", blocked="had errors", reason="had errors")],
    )

    report = sharded_run_report(state, organization=False)

    assert isinstance(report, SyncReport)
    assert [error.error for error in report.errors] == [
        "Port refused q-1",
        "Port refused q-2",
        "attempt 3 of 3 failed: boom",
    ]
    assert {error.region for error in report.errors} == {"us-east-1", "eu-west-1"}
    # Seven errors in the first shard (two of them kept), one failed shard.
    assert report.error_count == 8
    rows = {kind.region: (kind.listed, kind.written, kind.created, kind.failed, kind.seconds) for kind in report.kinds}
    assert rows == {"us-east-1": (5, 3, 3, 2, 1.5), "eu-west-1": (0, 0, 0, 0, 0.0)}
    assert report.deletion_skipped == {"q": "had errors"} and report.deleted == 0
    assert report.seconds == 12.0


def test_the_parts_of_a_shard_handed_on_are_one_row_with_their_counts_summed() -> None:
    whole = _shard("us-east-1", "done", None, listed=50, written=50, created=50, milliseconds=400)
    second = ShardState(
        whole.task.continued("page-2"), "done", attempts=1, counts={"listed": 20, "written": 20, "created": 20}
    )
    state = RunState(
        "run-1",
        "complete",
        STARTED.isoformat(),
        STARTED.isoformat(),
        shards=[whole, second],
        scopes=[ScopeState(Scope("111122223333", "q"), 2, 0, "done")],
    )

    report = sharded_run_report(state, organization=False)

    assert isinstance(report, SyncReport)
    assert [(kind.region, kind.listed, kind.written, kind.created, kind.seconds) for kind in report.kinds] == [
        ("us-east-1", 70, 70, 70, 0.4)
    ]
