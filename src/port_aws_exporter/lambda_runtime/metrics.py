"""The functions' CloudWatch metrics, in the embedded metric format (EMF), through Powertools.

An EMF document is a JSON line on stdout that CloudWatch Logs turns into metrics: no API call, no
permission, nothing lost when the function ends. Powertools for AWS Lambda (`aws_lambda_powertools.
metrics`) writes them; each document carries the `service` dimension (`POWERTOOLS_SERVICE_NAME`,
default `port-aws-exporter`) in the namespace `POWERTOOLS_METRICS_NAMESPACE` (default
`PortAwsExporter`).

Full sync, at the end of the run (a checkpointed run's counts accumulate over its legs, so they
are emitted once, by the last leg):

- per `kind` (summed over regions and accounts): `ResourcesListed`, `EntitiesWritten`,
  `EntitiesFailed`;
- for the run: `EntitiesDeleted`, `SyncErrors` (the report's `error_count`), `SyncDuration`
  (seconds, all legs).

Event consumer, per batch: `MessagesApplied`, `MessagesFailed`, `MessagesDropped` (given up on after
retries: the resource never appeared, or a delete over-matched), `MessagesSkipped` (acknowledged on
purpose without a change) and `EventLatency` (milliseconds from the event to the end of the batch
that wrote it: the whole event's `time` for a raw EventBridge event, else the moment the message
reached the queue, SQS's `SentTimestamp`; one value per message that wrote or deleted an entity).
A batch that cannot be processed at all counts all its messages in `MessagesFailed` and adds
`BatchesFailed`.

Both functions, per invocation: `PortRetries` and `PortThrottled` (retried Port requests, and those
of them answered 429), and `ColdStart` on an execution environment's first invocation.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from port_aws_exporter.events.records import BatchOutcome, MessageResult
from port_aws_exporter.lambda_runtime import settings
from port_aws_exporter.port.counters import ClientCounters


class PortCallTally:
    """What one invocation's Port clients retried. The clients are warm and their counters span
    invocations, so the tally is the difference from when it was taken."""

    def __init__(self, read: Callable[[], tuple[int, int]]) -> None:
        self._read = read
        self._retries, self._throttled = read()

    @classmethod
    def of(cls, counters: ClientCounters) -> PortCallTally:
        return cls(lambda: (counters.retries, counters.throttled))

    def add_to(self, metrics: EphemeralMetrics) -> None:
        retries, throttled = self._read()
        metrics.add_metric("PortRetries", MetricUnit.Count, retries - self._retries)
        metrics.add_metric("PortThrottled", MetricUnit.Count, throttled - self._throttled)


def _metrics() -> EphemeralMetrics:
    # Ephemeral: every document is built and flushed here, nothing is kept between invocations.
    return EphemeralMetrics(namespace=settings.metrics_namespace(), service=settings.metrics_service())


def emit_sync_metrics(report: Mapping[str, Any] | None, port: PortCallTally | None, *, cold_start: bool) -> None:
    """The full sync's metrics: per kind and for the run from a finished run's report (None: a leg
    that continues in a new invocation), and the invocation's Port retries."""
    if report is not None:
        totals: dict[str, Counter[str]] = {}
        for row in report.get("kinds", []):
            counts = totals.setdefault(str(row.get("kind")), Counter())
            for key in ("listed", "written", "failed"):
                counts[key] += int(row.get(key, 0))
        for kind, counts in sorted(totals.items()):
            per_kind = _metrics()
            per_kind.add_dimension("kind", kind)
            per_kind.add_metric("ResourcesListed", MetricUnit.Count, counts["listed"])
            per_kind.add_metric("EntitiesWritten", MetricUnit.Count, counts["written"])
            per_kind.add_metric("EntitiesFailed", MetricUnit.Count, counts["failed"])
            _write(per_kind)
    run = _metrics()
    if report is not None:
        run.add_metric("EntitiesDeleted", MetricUnit.Count, int(report.get("deleted", 0)))
        run.add_metric("SyncErrors", MetricUnit.Count, int(report.get("error_count", 0)))
        run.add_metric("SyncDuration", MetricUnit.Seconds, float(report.get("seconds", 0.0)))
    _add_invocation(run, port, cold_start)
    _write(run)


def emit_batch_metrics(
    outcome: BatchOutcome,
    event_times: Mapping[str, float],
    port: PortCallTally,
    *,
    written_at: float,
    cold_start: bool,
) -> None:
    """One batch's metrics. `event_times` maps message ids to their event's time (epoch seconds,
    `event_times_of`); `written_at` is when the batch's last write was done (epoch seconds)."""
    metrics = _metrics()
    results = outcome.results
    metrics.add_metric("MessagesApplied", MetricUnit.Count, sum(1 for r in results if r.outcome == "applied"))
    metrics.add_metric("MessagesFailed", MetricUnit.Count, sum(1 for r in results if r.outcome == "failed"))
    metrics.add_metric("MessagesDropped", MetricUnit.Count, sum(1 for r in results if r.dropped))
    metrics.add_metric(
        "MessagesSkipped", MetricUnit.Count, sum(1 for r in results if r.outcome == "skipped" and not r.dropped)
    )
    for latency in _latencies_ms(results, event_times, written_at):
        metrics.add_metric("EventLatency", MetricUnit.Milliseconds, latency)
    _add_invocation(metrics, port, cold_start)
    _write(metrics)


def emit_batch_failure(messages: int, port: PortCallTally | None, *, cold_start: bool) -> None:
    """A batch none of whose messages could be processed (no config, no credentials, a fault of ours)."""
    metrics = _metrics()
    metrics.add_metric("MessagesFailed", MetricUnit.Count, messages)
    metrics.add_metric("BatchesFailed", MetricUnit.Count, 1)
    _add_invocation(metrics, port, cold_start)
    _write(metrics)


def emit_shard_metrics(*, done: int, failed: int, duplicate: int, cold_start: bool) -> None:
    """One tasks batch's metrics: shards done, failed (marked so by the runner, or raised and
    coming back through SQS), and duplicate deliveries."""
    metrics = _metrics()
    metrics.add_metric("ShardsDone", MetricUnit.Count, done)
    metrics.add_metric("ShardsFailed", MetricUnit.Count, failed)
    metrics.add_metric("ShardsDuplicate", MetricUnit.Count, duplicate)
    _add_invocation(metrics, None, cold_start)
    _write(metrics)


def _write(metrics: EphemeralMetrics) -> None:
    metrics.flush_metrics()
    # Powertools prints the document; written now, not when the buffer fills, so that a function
    # that ends (or is frozen) right after leaves it in its log.
    sys.stdout.flush()


def _add_invocation(metrics: EphemeralMetrics, port: PortCallTally | None, cold_start: bool) -> None:
    if port is not None:
        port.add_to(metrics)
    if cold_start:
        metrics.add_metric("ColdStart", MetricUnit.Count, 1)


def _latencies_ms(results: Iterable[MessageResult], event_times: Mapping[str, float], written_at: float) -> list[float]:
    return [
        round(max(written_at - event_times[result.message_id], 0.0) * 1000.0, 1)
        for result in results
        if (result.written or result.deleted) and result.message_id in event_times
    ]


def event_times_of(records: object) -> dict[str, float]:
    """When each record's event happened (epoch seconds), by message id: a whole EventBridge event's
    `time`, else SQS's `SentTimestamp`; records that tell neither are left out."""
    times: dict[str, float] = {}
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, Mapping) or not isinstance(record.get("messageId"), str):
            continue
        moment = _eventbridge_time(record.get("body")) or _sent_time(record.get("attributes"))
        if moment is not None:
            times[record["messageId"]] = moment
    return times


def _eventbridge_time(body: object) -> float | None:
    if not isinstance(body, str) or '"detail-type"' not in body:
        return None
    try:
        event = json.loads(body)
        stamp = event["time"] if isinstance(event, dict) and "detail-type" in event else None
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if isinstance(stamp, str) else None
    except ValueError:
        return None


def _sent_time(attributes: object) -> float | None:
    sent = attributes.get("SentTimestamp") if isinstance(attributes, Mapping) else None
    try:
        return int(str(sent)) / 1000.0 if sent is not None else None
    except ValueError:
        return None
