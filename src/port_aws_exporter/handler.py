"""AWS Lambda entry points: the contract `deploy/template.yaml` names, and nothing else.

- `sync_handler`: a full sync (scheduled, `{}`, a checkpoint continuation, or an event carrying
  Port credentials), or in a ShardedSync stack its plan, and the tasks queue's batches of shards;
  see `lambda_runtime.sync_invocation`.
- `events_handler`: an SQS batch of event messages, answered with Lambda's partial batch response
  `{"batchItemFailures": [{"itemIdentifier": …}]}`; see `lambda_runtime.events_invocation`.
- `lambda_handler`: dispatches like the original exporter: an SQS batch → events; `{}`, a scheduled
  event, a continuation or an event carrying credentials → full sync; anything else → a logged
  error and no action.

A warm function keeps its boto3 clients, its Port client (and so its token) and its jq worker
across invocations (`lambda_runtime.warm_state`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.lambda_runtime.logs import lambda_invocation_logs
from port_aws_exporter.lambda_runtime.sync_invocation import SyncInvocation, is_full_sync_request, is_sqs_batch
from port_aws_exporter.lambda_runtime.warm_state import WarmState

log = logging.getLogger("port_aws_exporter.handler")

_warm = WarmState.shared()

sync_handler = SyncInvocation(warm=_warm)
events_handler = EventsInvocation(_warm)


def lambda_handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """Dispatch like the original exporter: an SQS batch → events; sync requests → full sync."""
    event = event or {}
    if is_sqs_batch(event):
        return events_handler(event, context)
    if is_full_sync_request(event):
        return sync_handler(event, context)
    with lambda_invocation_logs(context):
        log.error(
            "unrecognised invocation event: expected an SQS batch, {}, a scheduled event or a continuation",
            extra={"event_keys": sorted(event)[:20]},
        )
    return {"status": "ignored", "error": "unrecognised invocation event"}
