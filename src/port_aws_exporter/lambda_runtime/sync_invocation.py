"""One invocation of the full-sync Lambda: a full sync, or one leg of it.

When the remaining time runs short the sync saves a checkpoint next to the config in S3, invokes
the function again asynchronously, and the next invocation resumes; stale entities are deleted
once, at the very end. The run's metrics (`lambda_runtime.metrics`) are emitted when it is done.

While it runs, a `sync progress` JSON log line per running kind every `SYNC_HEARTBEAT_SECONDS`
(default 10) or `SYNC_HEARTBEAT_RESOURCES` (default 1000) resources, whichever comes first (0
turns either off), each with the request id; a `full sync finished` line sums the run up.

In a ShardedSync stack (SYNC_TASKS_QUEUE_URL and SYNC_RUN_TABLE set) the scheduled invocation plans
a sharded run instead, and the tasks queue's batches reach the same function: each record is one
shard (`lambda_runtime.shard_records`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from port_aws_exporter.aws.account_sessions import (
    OrganizationDirectory,
    RoleSettings,
    shard_fetchers,
    single_account_regions_for,
)
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import CallerIdentity, resolve_identity
from port_aws_exporter.aws.run_store import DynamoRunStore, SqsTaskQueue
from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.lambda_runtime import settings
from port_aws_exporter.lambda_runtime.checkpoint_store import S3CheckpointStore
from port_aws_exporter.lambda_runtime.logs import lambda_invocation_logs
from port_aws_exporter.lambda_runtime.metrics import PortCallTally, emit_sync_metrics
from port_aws_exporter.lambda_runtime.settings import EVENT_CREDENTIAL_KEYS, S3Location, ShardedSyncSettings
from port_aws_exporter.lambda_runtime.shard_records import run_shard_records
from port_aws_exporter.lambda_runtime.warm_state import WarmState
from port_aws_exporter.port import PortConfigurationError, PortCredentials
from port_aws_exporter.sync.accounts import OrganizationSync
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions
from port_aws_exporter.sync.progress import (
    DEFAULT_HEARTBEAT_RESOURCES,
    DEFAULT_HEARTBEAT_SECONDS,
    Heartbeat,
    SyncProgress,
    log_heartbeat,
)
from port_aws_exporter.sync.sharded.plan import ShardPlanner
from port_aws_exporter.sync.sharded.shard import PartLimits, ShardRunner

log = logging.getLogger("port_aws_exporter.handler")

# Seconds of the invocation kept for finishing the page in flight, saving and re-invoking.
DEFAULT_TIME_RESERVE_SECONDS = 120
CONTINUATION_KEY = "checkpoint"
ORIGINAL_CONTINUATION_KEY = "next_config_file_key"

Reinvoke = Callable[[Mapping[str, Any], Any], None]


@contextlib.contextmanager
def heartbeats(progress: SyncProgress) -> Iterator[None]:
    """`sync progress` log lines while the block runs, as often as the function's settings say."""
    seconds = settings.float_setting("SYNC_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS)
    resources = settings.int_setting("SYNC_HEARTBEAT_RESOURCES", DEFAULT_HEARTBEAT_RESOURCES)
    with Heartbeat(progress, log_heartbeat, seconds=max(0.0, seconds), resources=max(0, resources)):
        yield


def invoke_self_async(payload: Mapping[str, Any], context: Any) -> None:
    """Invoke this function again, asynchronously (`InvocationType=Event`), with `payload`."""
    region = context.invoked_function_arn.split(":")[3]
    WarmState.shared().clients().client("lambda", region).invoke(
        FunctionName=context.invoked_function_arn, InvocationType="Event", Payload=json.dumps(payload).encode()
    )


class SyncInvocation:
    """One full-sync invocation; `reinvoke` is injectable because moto cannot run Lambda code."""

    def __init__(self, reinvoke: Reinvoke = invoke_self_async, warm: WarmState | None = None) -> None:
        self._reinvoke = reinvoke
        self._warm = warm or WarmState.shared()

    def __call__(self, event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
        with lambda_invocation_logs(context) as cold_start:
            if is_sqs_batch(event or {}):
                # The sync-tasks queue's mapping (ShardedSync): each record is one shard.
                return self._run_shards(event or {}, context, cold_start=cold_start)
            port_calls = PortCallTally(self._warm.port_retry_counts)
            result = self._run(event or {}, context)
            emit_sync_metrics(
                result["report"] if result["status"] == "done" else None, port_calls, cold_start=cold_start
            )
            return result

    def _run(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        environment = settings.lambda_environment()
        clients = self._warm.clients()
        caller = resolve_identity(clients.session, context)
        installation = caller.installation
        config = load_config(environment.config_source, s3_client=clients.client("s3", installation.region))
        credentials = environment.port_credentials(event, clients, installation.region)
        sharded = environment.sharded_sync()
        if sharded is not None:
            return self._plan_shards(environment.accounts_role(config), caller, sharded)
        if config.accounts is not None:
            return self._run_accounts(environment.accounts_role(config), caller, credentials)
        store = (
            S3CheckpointStore(clients, environment.checkpoint_prefix, installation.region)
            if environment.checkpoint_prefix is not None
            else None
        )
        resume_location = continuation(event)
        checkpoint = None
        if resume_location is not None and store is not None:
            checkpoint = store.load(resume_location)
            log.info("resuming a full sync", extra={"checkpoint": resume_location.url, "leg": checkpoint.legs})
        reserve_ms = 1000 * settings.float_setting("SYNC_TIME_RESERVE_SECONDS", DEFAULT_TIME_RESERVE_SECONDS)
        regions_for, problem = single_account_regions_for(config, caller, clients)
        if problem is not None:
            log.warning('kinds with regions ["*"] are not read', extra={"reason": problem})
        options = SyncOptions(
            default_region=installation.region,
            should_pause=lambda: store is not None and context.get_remaining_time_in_millis() < reserve_ms,
            regions_for=regions_for,
            progress=SyncProgress(),
        )
        sync = FullSync(
            config,
            lambda spec: fetcher_for(spec, clients, installation.account_id),
            self._warm.port_client(credentials, installation),
            installation.owned_entities_query,
            options,
        )
        with heartbeats(options.progress):
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

    def _run_accounts(
        self, config: ExporterConfig, caller: CallerIdentity, credentials: PortCredentials
    ) -> dict[str, Any]:
        """A multi-account sync; it runs to the end in this invocation (no checkpoint across
        invocations yet: size the function's timeout for the organisation)."""
        assert config.accounts is not None
        sessions = self._warm.account_sessions(caller, RoleSettings.of(config.accounts))
        port = self._warm.port_client(credentials, caller.installation)
        options = SyncOptions(default_region=caller.installation.region, progress=SyncProgress())
        sync = OrganizationSync(config, OrganizationDirectory(sessions), port.for_installation, options)
        with heartbeats(options.progress):
            report = sync.run().as_dict()
        log.info("Done handling your resources", extra={"report": report})
        return {"status": "done", "report": report}

    def _sharded_store(self, caller: CallerIdentity, sharded: ShardedSyncSettings) -> DynamoRunStore:
        clients, region = self._warm.clients(), caller.installation.region
        return DynamoRunStore(
            clients.client("dynamodb", region), clients.client("s3", region), sharded.run_table, sharded.bucket
        )

    def _directory(self, config: ExporterConfig, caller: CallerIdentity) -> OrganizationDirectory | None:
        if config.accounts is None:
            return None
        return OrganizationDirectory(self._warm.account_sessions(caller, RoleSettings.of(config.accounts)))

    def _plan_shards(
        self, config: ExporterConfig, caller: CallerIdentity, sharded: ShardedSyncSettings
    ) -> dict[str, Any]:
        """A scheduled sync of a sharded stack: the run and its shard messages; the shards run in
        the invocations the tasks queue's mapping makes, and the last one of a scope deletes."""
        region = caller.installation.region
        queue = SqsTaskQueue(self._warm.clients().client("sqs", region), sharded.tasks_queue_url)
        planner = ShardPlanner(
            config,
            self._sharded_store(caller, sharded),
            queue,
            home_account_id=caller.installation.account_id,
            home_region=region,
            directory=self._directory(config, caller),
        )
        planned = planner.plan()
        log.info(
            "sharded sync planned",
            extra={"run_id": planned.run_id, "shards": len(planned.tasks), "scopes": len(planned.scopes)},
        )
        return {"status": "planned", "run": planned.as_dict()}

    def _run_shards(self, event: Mapping[str, Any], context: Any, *, cold_start: bool) -> dict[str, Any]:
        environment = settings.lambda_environment()
        sharded = environment.sharded_sync()
        if sharded is None:
            raise PortConfigurationError(
                "an SQS batch reached the full-sync function, but SYNC_TASKS_QUEUE_URL and SYNC_RUN_TABLE "
                "are not set: only a ShardedSync stack maps its tasks queue to this function"
            )
        clients = self._warm.clients()
        caller = resolve_identity(clients.session, context)
        installation = caller.installation
        config = environment.accounts_role(
            load_config(environment.config_source, s3_client=clients.client("s3", installation.region))
        )
        credentials = environment.port_credentials({}, clients, installation.region)
        port = self._warm.port_client(credentials, installation)
        runner = ShardRunner(
            config,
            self._sharded_store(caller, sharded),
            shard_fetchers(self._directory(config, caller), clients, caller),
            port.for_installation,
            home_region=installation.region,
            tasks=SqsTaskQueue(clients.client("sqs", installation.region), sharded.tasks_queue_url),
            home_account_id=caller.installation.account_id,
        )
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        remaining = remaining_ms() / 1000.0 if remaining_ms is not None else None
        # A shard nearing the invocation's end hands the rest of its listing on, keeping the
        # unsharded sync's reserve for the page in hand, the finish and the message.
        reserve = settings.float_setting("SYNC_TIME_RESERVE_SECONDS", DEFAULT_TIME_RESERVE_SECONDS)
        max_listed = settings.int_setting("SYNC_SHARD_RESOURCES", 0)
        limits = PartLimits(
            hand_on_at=time.monotonic() + remaining - reserve if remaining is not None else None,
            max_listed=max_listed if max_listed > 0 else None,
        )
        return run_shard_records(
            runner,
            event["Records"],
            cold_start=cold_start,
            lease_until=time.time() + remaining if remaining is not None else None,
            limits=limits,
        )


def is_sqs_batch(event: Mapping[str, Any]) -> bool:
    """An SQS event source mapping's batch of records."""
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(record, Mapping) and record.get("eventSource") == "aws:sqs" for record in records)
    )


def continuation(event: Mapping[str, Any]) -> S3Location | None:
    """The checkpoint a continuation invocation resumes from, if the event names one."""
    if isinstance(event.get(CONTINUATION_KEY), str):
        return S3Location.parse(event[CONTINUATION_KEY])
    return None


def is_full_sync_request(event: Mapping[str, Any]) -> bool:
    """`{}`, a scheduled event, a continuation, or an event carrying Port credentials."""
    if not event:
        return True
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return True
    if CONTINUATION_KEY in event or ORIGINAL_CONTINUATION_KEY in event:
        return True
    return all(event.get(key) for key in EVENT_CREDENTIAL_KEYS)
