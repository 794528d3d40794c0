"""AWS Lambda entry points.

- `sync_handler`: a full sync (scheduled, `{}`, a checkpoint continuation, or an event carrying
  Port credentials). When the remaining time runs short it saves a checkpoint next to the config in
  S3, invokes the function again asynchronously, and the next invocation resumes; stale entities are
  deleted once, at the very end.
- `events_handler`: an SQS batch of event messages (`events.EventBatch`), answered with Lambda's
  partial batch response `{"batchItemFailures": [{"itemIdentifier": …}]}`.
- `lambda_handler`: dispatches like the original exporter: an SQS batch → events; `{}`, a scheduled
  event, a continuation or an event carrying credentials → full sync; anything else → a logged
  error and no action.

A warm function keeps its boto3 clients, its Port client (and so its token) and its jq worker
across invocations.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.aws.checkpoint_store import S3CheckpointStore
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import resolve_installation
from port_aws_exporter.config import load_config
from port_aws_exporter.events_invocation import EventsInvocation
from port_aws_exporter.installation import Installation
from port_aws_exporter.jq_worker import TimeLimitedJq
from port_aws_exporter.lambda_environment import EVENT_CREDENTIAL_KEYS, LambdaEnvironment, S3Location
from port_aws_exporter.logs import lambda_invocation_logs
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.sync import FullSync, SyncOptions

log = logging.getLogger("port_aws_exporter.handler")

# Seconds of the invocation kept for finishing the page in flight, saving and re-invoking.
DEFAULT_TIME_RESERVE_SECONDS = 120
CONTINUATION_KEY = "checkpoint"
ORIGINAL_CONTINUATION_KEY = "next_config_file_key"

Reinvoke = Callable[[Mapping[str, Any], Any], None]


def invoke_self_async(payload: Mapping[str, Any], context: Any) -> None:
    """Invoke this function again, asynchronously (`InvocationType=Event`), with `payload`."""
    region = context.invoked_function_arn.split(":")[3]
    _warm.clients().client("lambda", region).invoke(
        FunctionName=context.invoked_function_arn, InvocationType="Event", Payload=json.dumps(payload).encode()
    )


@dataclass
class WarmState:
    """What a warm Lambda keeps between invocations."""

    _clients: AwsClients | None = None
    _port: dict[tuple[Any, ...], PortClient] = field(default_factory=dict)
    _evaluator: TimeLimitedJq | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clients(self) -> AwsClients:
        with self._lock:
            if self._clients is None:
                self._clients = AwsClients()
            return self._clients

    def port_client(self, credentials: PortCredentials, installation: Installation, **options: Any) -> PortClient:
        """The warm Port client for these credentials; `options` are `PortClient`'s (retries, timeout)."""
        with self._lock:
            key = (credentials, installation, *sorted(options.items()))
            if key not in self._port:
                self._port[key] = PortClient(credentials, installation, **options)
            return self._port[key]

    def evaluator(self) -> TimeLimitedJq:
        """The warm sandboxed jq that evaluates event messages (its worker process stays up)."""
        with self._lock:
            if self._evaluator is None:
                self._evaluator = TimeLimitedJq()
            return self._evaluator

    def reset(self) -> None:
        """Forget everything (tests; a changed environment)."""
        with self._lock:
            for client in self._port.values():
                client.close()
            self._port.clear()
            self._clients = None
            if self._evaluator is not None:
                self._evaluator.close()
                self._evaluator = None


_warm = WarmState()


class SyncInvocation:
    """One full-sync invocation; `reinvoke` is injectable because moto cannot run Lambda code."""

    def __init__(self, reinvoke: Reinvoke = invoke_self_async, warm: WarmState | None = None) -> None:
        self._reinvoke = reinvoke
        self._warm = warm or _warm

    def __call__(self, event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
        with lambda_invocation_logs(context):
            return self._run(event or {}, context)

    def _run(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        environment = LambdaEnvironment.from_environ(os.environ)
        clients = self._warm.clients()
        installation = resolve_installation(clients.session, context)
        config = load_config(environment.config_source, s3_client=clients.client("s3", installation.region))
        credentials = environment.port_credentials(event, clients, installation.region)
        store = (
            S3CheckpointStore(clients, environment.checkpoint_prefix, installation.region)
            if environment.checkpoint_prefix is not None
            else None
        )
        resume_location = _continuation(event)
        checkpoint = None
        if resume_location is not None and store is not None:
            checkpoint = store.load(resume_location)
            log.info("resuming a full sync", extra={"checkpoint": resume_location.url, "leg": checkpoint.legs})
        reserve_ms = 1000 * float(os.environ.get("SYNC_TIME_RESERVE_SECONDS", DEFAULT_TIME_RESERVE_SECONDS))
        options = SyncOptions(
            default_region=installation.region,
            should_pause=lambda: store is not None and context.get_remaining_time_in_millis() < reserve_ms,
        )
        sync = FullSync(
            config,
            lambda spec: fetcher_for(spec, clients),
            self._warm.port_client(credentials, installation),
            installation.owned_entities_query,
            options,
        )
        outcome = sync.run(checkpoint)
        if resume_location is not None and store is not None:
            store.delete(resume_location)
        report = outcome.report.as_dict()
        if outcome.checkpoint is not None and store is not None:
            saved = store.save(getattr(context, "aws_request_id", "checkpoint"), outcome.checkpoint)
            payload: dict[str, Any] = {CONTINUATION_KEY: saved.url}
            # Credentials given in the event travel in the invocation payload, never in the checkpoint.
            payload.update({key: event[key] for key in (*EVENT_CREDENTIAL_KEYS, "port_api_url") if event.get(key)})
            log.info("time is short: continuing in a new invocation", extra={"checkpoint": saved.url})
            self._reinvoke(payload, context)
            return {"status": "continuing", "checkpoint": saved.url, "report": report}
        log.info("Done handling your resources", extra={"report": report})
        return {"status": "done", "report": report}


def _continuation(event: Mapping[str, Any]) -> S3Location | None:
    if isinstance(event.get(CONTINUATION_KEY), str):
        return S3Location.parse(event[CONTINUATION_KEY])
    return None


sync_handler = SyncInvocation()


def _is_full_sync_request(event: Mapping[str, Any]) -> bool:
    if not event:
        return True
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return True
    if CONTINUATION_KEY in event or ORIGINAL_CONTINUATION_KEY in event:
        return True
    return all(event.get(key) for key in EVENT_CREDENTIAL_KEYS)


events_handler = EventsInvocation(_warm)


def _is_sqs_batch(event: Mapping[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(record, Mapping) and record.get("eventSource") == "aws:sqs" for record in records)
    )


def lambda_handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """Dispatch like the original exporter: an SQS batch → events; sync requests → full sync."""
    event = event or {}
    if _is_sqs_batch(event):
        return events_handler(event, context)
    if _is_full_sync_request(event):
        return sync_handler(event, context)
    with lambda_invocation_logs(context):
        log.error(
            "unrecognised invocation event: expected an SQS batch, {}, a scheduled event or a continuation",
            extra={"event_keys": sorted(event)[:20]},
        )
    return {"status": "ignored", "error": "unrecognised invocation event"}
