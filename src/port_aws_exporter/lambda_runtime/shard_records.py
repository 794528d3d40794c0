"""The sync-tasks queue's SQS records run through a `ShardRunner`, answered with Lambda's partial
batch response.

A record whose shard raised comes back through SQS (its id is in `batchItemFailures`); the runner
itself marks a shard failed on its last attempt, so a record is only reported failed while SQS
will deliver it again. A shard nearing the invocation's end (`limits`) hands the rest of its listing
on to a continuation message and is settled; a shard cut by Lambda's timeout all the same returns
through SQS after the queue's visibility timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from port_aws_exporter.core.sharded_runs import ShardTask, ShardTaskError
from port_aws_exporter.lambda_runtime.metrics import emit_shard_metrics
from port_aws_exporter.sync.sharded.shard import PartLimits, ShardOutcome, ShardRunner

log = logging.getLogger(__name__)


def run_shard_records(
    runner: ShardRunner,
    records: Sequence[Mapping[str, Any]],
    *,
    cold_start: bool,
    lease_until: float | None = None,
    limits: PartLimits | None = None,
) -> dict[str, Any]:
    """Run each record's shard; the ids of the records SQS must deliver again. `lease_until` is
    the invocation's end (epoch seconds): a deletion claimed here cannot outlive it."""
    failures: list[dict[str, str]] = []
    outcomes: list[ShardOutcome] = []
    for record in records:
        message_id = str(record.get("messageId", ""))
        try:
            task = ShardTask.from_body(str(record.get("body", "")))
            receive_count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            outcome = runner.run(task, receive_count, lease_until=lease_until, limits=limits)
        except ShardTaskError as error:
            # Not a shard message: no traceback; after the queue's receives it is in the DLQ.
            log.error("not a shard message: %s", error, extra={"message_id": message_id})
            failures.append({"itemIdentifier": message_id})
            continue
        except Exception:  # any fault of one shard: logged, and the record returns through SQS
            log.exception("shard failed; SQS delivers it again", extra={"message_id": message_id})
            failures.append({"itemIdentifier": message_id})
            continue
        log.info(
            "shard %s",
            outcome.value,
            extra={"message_id": message_id, "run_id": task.run_id, "account": task.account_id, "region": task.region},
        )
        outcomes.append(outcome)
        if outcome is ShardOutcome.DELETION_CLAIMED:
            # Back after the visibility timeout, to take the claim over if its claimer has died.
            failures.append({"itemIdentifier": message_id})
    emit_shard_metrics(
        # A part handed on is done: its continuation is counted when it runs.
        done=outcomes.count(ShardOutcome.DONE) + outcomes.count(ShardOutcome.CONTINUED),
        failed=outcomes.count(ShardOutcome.FAILED) + len(failures) - outcomes.count(ShardOutcome.DELETION_CLAIMED),
        duplicate=outcomes.count(ShardOutcome.DUPLICATE),
        cold_start=cold_start,
    )
    return {"batchItemFailures": failures}
