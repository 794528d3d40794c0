"""`sync --sharded` and `worker --sync-tasks`: the sharded full sync of `sync.sharded`, wired to the
run store (DynamoDB + S3) and the sync-tasks queue (SQS) that `aws.run_store` holds.

The planner writes the run and sends one message per shard; workers (several processes at once)
receive one message at a time, run its shard with `ShardRunner` and delete the message once the
shard is settled, so a worker that dies mid-shard leaves the message to come back through SQS.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from botocore.exceptions import ClientError
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from port_aws_exporter.aws.account_sessions import AccountSessions, OrganizationDirectory, RoleSettings, shard_fetchers
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.identity import CallerIdentity
from port_aws_exporter.aws.run_store import DynamoRunStore, SqsTaskQueue, create_run_table
from port_aws_exporter.cli.output import fail, print_json, stderr_console, stdout_console
from port_aws_exporter.core.accounts import OrganizationUnavailableError
from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.sharded_runs import (
    RunNotFoundError,
    RunState,
    RunStatus,
    ShardStatus,
    ShardTask,
    ShardTaskError,
)
from port_aws_exporter.port import PortClient
from port_aws_exporter.sync.accounts import OrganizationReport
from port_aws_exporter.sync.report import SyncReport
from port_aws_exporter.sync.sharded.plan import ShardPlanner
from port_aws_exporter.sync.sharded.run_report import sharded_run_report
from port_aws_exporter.sync.sharded.shard import PartLimits, ShardOutcome, ShardRunner

log = logging.getLogger(__name__)

TASKS_QUEUE_ENV = "PORT_AWS_EXPORTER_TASKS_QUEUE_URL"
STATE_TABLE_ENV = "PORT_AWS_EXPORTER_STATE_TABLE"
STATE_BUCKET_ENV = "PORT_AWS_EXPORTER_STATE_BUCKET"
# SQS's own default, for a queue whose attributes do not say.
DEFAULT_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class ShardedState:
    """Where a sharded run lives: its queue, its table and its bucket."""

    tasks_queue: str | None
    table: str | None
    bucket: str | None

    def require(self) -> tuple[str, str, str]:
        missing = [
            f"{flag} (or ${env})"
            for value, flag, env in (
                (self.tasks_queue, "--tasks-queue", TASKS_QUEUE_ENV),
                (self.table, "--state-table", STATE_TABLE_ENV),
                (self.bucket, "--state-bucket", STATE_BUCKET_ENV),
            )
            if not value
        ]
        if missing:
            fail(f"a sharded sync needs {', '.join(missing)}")
        assert self.tasks_queue and self.table and self.bucket
        return self.tasks_queue, self.table, self.bucket


def _store(clients: AwsClients, region: str, table: str, bucket: str, *, create: bool) -> DynamoRunStore:
    dynamodb, s3 = clients.client("dynamodb", region), clients.client("s3", region)
    if create:
        try:
            create_run_table(dynamodb, table)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
    try:
        dynamodb.describe_table(TableName=table)
    except ClientError as error:
        fail(f"the state table {table!r} cannot be read ({error}); create it with --create-state")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        fail(f"the state bucket {bucket!r} cannot be read ({error}); create it with --create-state")
    return DynamoRunStore(dynamodb, s3, table, bucket)


def _queue(clients: AwsClients, region: str, queue: str, *, create: bool) -> SqsTaskQueue:
    sqs = clients.client("sqs", region)
    if create and not queue.startswith(("http://", "https://")):
        return SqsTaskQueue(sqs, sqs.create_queue(QueueName=queue)["QueueUrl"])
    try:
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    except ClientError as error:
        fail(f"the tasks queue {queue!r} cannot be read ({error})")
    return SqsTaskQueue(sqs, queue)


def _directory(config: ExporterConfig, clients: AwsClients, caller: CallerIdentity) -> OrganizationDirectory | None:
    """The organisation's accounts through their read roles; None for a one-account config."""
    if config.accounts is None:
        return None
    return OrganizationDirectory(AccountSessions(clients, caller, RoleSettings.of(config.accounts)))


@dataclass(frozen=True)
class OpenedState:
    """A sharded run's store and tasks queue, checked (or created) and ready."""

    store: DynamoRunStore
    queue: SqsTaskQueue


def open_sharded_state(clients: AwsClients, region: str, state: ShardedState, *, create: bool) -> OpenedState:
    """The store and queue `state` names; a missing one is a one-line error (or, with `create`, made)."""
    queue_url, table, bucket = state.require()
    return OpenedState(
        _store(clients, region, table, bucket, create=create), _queue(clients, region, queue_url, create=create)
    )


def planner_for(
    config: ExporterConfig, clients: AwsClients, caller: CallerIdentity, home_region: str, opened: OpenedState
) -> ShardPlanner:
    return ShardPlanner(
        config,
        opened.store,
        opened.queue,
        home_account_id=caller.installation.account_id,
        home_region=home_region,
        directory=_directory(config, clients, caller),
    )


@dataclass(frozen=True)
class FollowedRun:
    """A run followed to its end (or to the wait's), and its report in the unsharded sync's form."""

    state: RunState
    report: SyncReport | OrganizationReport

    @property
    def complete(self) -> bool:
        return self.state.status == RunStatus.COMPLETE

    def json_extras(self) -> dict[str, Any]:
        """What the unsharded report's JSON lacks: the run id, and the planner's notes when there are any."""
        return {"run_id": self.state.run_id, **({"notes": list(self.state.notes)} if self.state.notes else {})}


def plan_sharded_sync(
    config: ExporterConfig,
    clients: AwsClients,
    caller: CallerIdentity,
    home_region: str,
    state: ShardedState,
    *,
    create_state: bool,
    as_json: bool,
    wait_seconds: float | None,
) -> FollowedRun | None:
    """Plan the run, print its id and shard count; with `wait_seconds`, follow it until complete and
    return it with its report (None without)."""
    opened = open_sharded_state(clients, home_region, state, create=create_state)
    planned = planner_for(config, clients, caller, home_region, opened).plan()
    if wait_seconds is None:
        if as_json:
            print_json({**planned.as_dict(), "tasks_queue": opened.queue.queue_url})
        else:
            stdout_console.print(
                f"run {planned.run_id}: {len(planned.tasks)} shards in {len(planned.scopes)} scopes "
                f"on {opened.queue.queue_url}"
            )
        return None
    stderr_console.print(f"run {planned.run_id}: {len(planned.tasks)} shards; waiting for the workers")
    run_state = wait_for_run(opened.store, planned.run_id, wait_seconds, ShardProgressLines(stderr_console))
    return FollowedRun(run_state, run_report(run_state, config, clients, caller))


def run_report(
    state: RunState, config: ExporterConfig, clients: AwsClients, caller: CallerIdentity
) -> SyncReport | OrganizationReport:
    """`state`'s report in the unsharded sync's form, the accounts named as the organisation names them."""
    return sharded_run_report(
        state, organization=config.accounts is not None, account_names=_account_names(config, clients, caller)
    )


def _account_names(config: ExporterConfig, clients: AwsClients, caller: CallerIdentity) -> dict[str, str]:
    """The organisation's account names (the run state keeps ids only); none when it cannot be listed:
    a name is for people, and the report says the rest."""
    directory = _directory(config, clients, caller)
    if directory is None or config.accounts is None or config.accounts.organization is None:
        return {}
    try:
        listed = directory.organization_accounts(config.accounts.organization)
    except OrganizationUnavailableError as error:
        log.warning("account names unavailable", extra={"error": str(error)})
        return {}
    return {account.account_id: account.name for account in listed}


ShardProgress = Callable[[RunState], None]


class ShardProgressLines:
    """Progress while a run is followed: a line per poll that finds shards newly settled, naming them."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._settled: set[str] = set()

    def __call__(self, state: RunState) -> None:
        settled = [shard for shard in state.shards if shard.status in (ShardStatus.DONE, ShardStatus.FAILED)]
        new = [shard for shard in settled if shard.task.shard_id not in self._settled]
        if not new:
            return
        self._settled.update(shard.task.shard_id for shard in new)
        names = ", ".join(
            shard.task.shard_id + ("" if shard.status == ShardStatus.DONE else f" ({shard.status})") for shard in new
        )
        self._console.print(f"shards {len(settled)}/{len(state.shards)} settled: {escape(names)}", soft_wrap=True)


def wait_for_run(
    store: DynamoRunStore,
    run_id: str,
    wait_seconds: float,
    on_progress: ShardProgress | None = None,
    *,
    keep_waiting: Callable[[], bool] = lambda: True,
) -> RunState:
    """Poll the run until it is complete, `wait_seconds` have passed or `keep_waiting` says no (the
    workers are gone); its last state."""
    deadline = time.monotonic() + wait_seconds
    while True:
        # Asked before the read, so that the last state read is one after the workers left.
        gone = not keep_waiting()
        state = store.run_state(run_id)
        if on_progress is not None:
            on_progress(state)
        if state.status == RunStatus.COMPLETE or time.monotonic() >= deadline or gone:
            return state
        time.sleep(0.5)


def print_run_state(state: RunState, as_json: bool) -> None:
    """A run's shards and scopes, for people or as JSON."""
    summary = state.as_dict()
    if as_json:
        print_json(summary)
        return
    counts = ", ".join(f"{count} {status}" for status, count in sorted(summary["shard_counts"].items()))
    stdout_console.print(f"run {state.run_id}: {state.status}; shards: {counts}; {summary['deleted']} stale deleted")
    shards = Table("shard", "status", "attempts", "error", box=box.SIMPLE)
    for shard in state.shards:
        shards.add_row(shard.task.shard_id, shard.status, str(shard.attempts), escape(shard.error or ""))
    scopes = Table("account", "blueprint", "remaining", "deletion", "deleted", "why not", box=box.SIMPLE)
    for scope in state.scopes:
        why_not = scope.blocked or scope.reason or ""
        scopes.add_row(
            scope.scope.account_id,
            scope.scope.blueprint,
            f"{scope.remaining}/{scope.total}",
            scope.deletion,
            str(scope.deleted),
            escape(why_not),
        )
    stdout_console.print(shards, scopes)
    for note in state.notes:
        stdout_console.print(f"note: {escape(note)}", soft_wrap=True)


def show_run_state(run_id: str, table: str | None, bucket: str | None, region: str | None, as_json: bool) -> None:
    """`sync status RUN_ID`: the run's state, or a clear error when the store or the run is missing."""
    if not table or not bucket:
        fail(f"sync status needs --state-table (or ${STATE_TABLE_ENV}) and --state-bucket (or ${STATE_BUCKET_ENV})")
    clients = AwsClients()
    store = _store(clients, region or clients.default_region, table, bucket, create=False)
    try:
        state = store.run_state(run_id)
    except RunNotFoundError as error:
        fail(str(error))
    print_run_state(state, as_json)


class _StopRequest:
    """Ctrl-C or SIGTERM: finish the shard in hand, then stop."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def run_shard_worker(
    config: ExporterConfig,
    clients: AwsClients,
    port: PortClient,
    caller: CallerIdentity,
    home_region: str,
    queue_url: str,
    table: str,
    bucket: str,
    *,
    max_messages: int | None,
    idle_seconds: float | None,
    shard_seconds: float | None = None,
    shard_resources: int | None = None,
) -> int:
    """Consume shard messages one at a time until stopped (or `max_messages`, or `idle_seconds` of an
    empty queue); returns the number of messages settled. A shard running `shard_seconds`, or
    having listed `shard_resources`, hands the rest of its listing on to a continuation."""
    store = _store(clients, home_region, table, bucket, create=False)
    tasks = _queue(clients, home_region, queue_url, create=False)
    sqs = clients.client("sqs", home_region)
    # A received message is invisible this long: a deletion claimed while it is in hand is held
    # as long, after which the message (and the claim) may pass to another worker.
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    visibility_seconds = float(attributes.get("VisibilityTimeout", DEFAULT_VISIBILITY_SECONDS))

    open_account = shard_fetchers(_directory(config, clients, caller), clients, caller)
    runner = ShardRunner(
        config,
        store,
        open_account,
        port.for_installation,
        home_region=home_region,
        tasks=tasks,
        home_account_id=caller.installation.account_id,
    )
    stop = _StopRequest()
    stop.install()
    settled = 0
    idle_since = time.monotonic()
    while not stop.requested and (max_messages is None or settled < max_messages):
        received_at = time.time()
        answer: dict[str, Any] = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1, AttributeNames=["ApproximateReceiveCount"]
        )
        messages = answer.get("Messages", [])
        if not messages:
            if idle_seconds is not None and time.monotonic() - idle_since >= idle_seconds:
                break
            continue
        [message] = messages
        idle_since = time.monotonic()
        limits = PartLimits(
            hand_on_at=time.monotonic() + shard_seconds if shard_seconds is not None else None,
            max_listed=shard_resources,
        )
        if _settle(runner, message, lease_until=received_at + visibility_seconds, limits=limits):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            settled += 1
    return settled


def _settle(runner: ShardRunner, message: dict[str, Any], *, lease_until: float, limits: PartLimits) -> bool:
    """Run the message's shard; False leaves the message to come back (or dead-letter) through SQS."""
    receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        task = ShardTask.from_body(message["Body"])
    except ShardTaskError as error:
        stderr_console.print(f"[red]not a shard message:[/] {error}; left for the dead-letter queue")
        return False
    try:
        outcome = runner.run(task, receive_count, lease_until=lease_until, limits=limits)
    except Exception as error:  # the message returns through SQS and is retried
        stderr_console.print(f"[yellow]shard {task.shard_id} attempt {receive_count} failed:[/] {error}")
        log.warning("shard attempt failed", extra={"shard_id": task.shard_id, "error": str(error)})
        return False
    stderr_console.print(f"shard {task.shard_id}: {outcome}")
    return outcome is not ShardOutcome.DELETION_CLAIMED
