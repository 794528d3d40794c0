"""`port-aws-exporter worker`: the event path as a long-running SQS consumer."""

from __future__ import annotations

from typing import NamedTuple

import click

from port_aws_exporter.cli.errors import describe_error
from port_aws_exporter.cli.output import fail, print_json
from port_aws_exporter.cli.sync_command import (
    catalog_credentials,
    config_option,
    local_catalog_option,
    max_requests_option,
)
from port_aws_exporter.core.config import ConfigError, load_config
from port_aws_exporter.events.batch import DEFAULT_NOT_FOUND_ATTEMPTS, DEFAULT_OVERMATCH_ATTEMPTS
from port_aws_exporter.events.records import DEFAULT_MAX_RETRY_DELAY_SECONDS, DEFAULT_RETRY_DELAY_SECONDS
from port_aws_exporter.events.worker import DEFAULT_WAIT_SECONDS

QUEUE_ENV = "PORT_AWS_EXPORTER_QUEUE_URL"
COALESCE_ENV = "PORT_AWS_EXPORTER_COALESCE_SECONDS"


class ShardWorkerLimits(NamedTuple):
    """`worker --sync-tasks`: when it stops (an idle queue) and when a shard hands on."""

    idle_seconds: float | None
    shard_seconds: float | None
    shard_resources: int | None


@click.command("worker")
@config_option
@click.option("--queue-url", envvar=QUEUE_ENV, help=f"The events queue; or ${QUEUE_ENV}.")
@click.option("--sync-tasks", help="Instead of events: run the shards of sharded syncs from this tasks queue URL.")
@click.option("--state-table", envvar="PORT_AWS_EXPORTER_STATE_TABLE", help="With --sync-tasks: the run-state table.")
@click.option(
    "--state-bucket", envvar="PORT_AWS_EXPORTER_STATE_BUCKET", help="With --sync-tasks: the run-state bucket."
)
@click.option(
    "--idle-seconds",
    type=click.FloatRange(0, min_open=True),
    help="With --sync-tasks: stop after the queue has been empty this long (default: run until stopped).",
)
@click.option(
    "--shard-seconds",
    type=click.FloatRange(0, min_open=True),
    help="With --sync-tasks: a shard running this long hands the rest of its listing on to a new shard "
    "message, after the page in hand (default: no limit).",
)
@click.option(
    "--shard-resources",
    type=click.IntRange(1),
    help="With --sync-tasks: the same once a shard has listed this many resources (default: no limit).",
)
@local_catalog_option
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True, help="Batches at once.")
@click.option("--max-messages", type=click.IntRange(1, 10), default=10, show_default=True, help="Messages per batch.")
@click.option("--wait-seconds", type=click.IntRange(0, 20), default=DEFAULT_WAIT_SECONDS, show_default=True)
@click.option(
    "--visibility-timeout", type=click.IntRange(1, 43200), help="Override the queue's, for received messages."
)
@click.option("--retry-delay", type=click.IntRange(0, 43200), default=DEFAULT_RETRY_DELAY_SECONDS, show_default=True)
@click.option(
    "--max-retry-delay", type=click.IntRange(0, 43200), default=DEFAULT_MAX_RETRY_DELAY_SECONDS, show_default=True
)
@click.option(
    "--not-found-attempts", type=click.IntRange(1, 100), default=DEFAULT_NOT_FOUND_ATTEMPTS, show_default=True
)
@click.option(
    "--overmatch-attempts", type=click.IntRange(1, 100), default=DEFAULT_OVERMATCH_ATTEMPTS, show_default=True
)
@click.option(
    "--coalesce-seconds",
    envvar=COALESCE_ENV,
    type=click.FloatRange(0, 3600),
    default=0.0,
    show_default=True,
    help=f"Hold what is received this long and apply it as one batch: a burst about one resource is one "
    f"read and one write, the latest action winning (0: off); or ${COALESCE_ENV}.",
)
@max_requests_option
@click.option("--log-level", default="INFO", show_default=True)
def worker_command(
    config_source: str,
    queue_url: str | None,
    sync_tasks: str | None,
    state_table: str | None,
    state_bucket: str | None,
    idle_seconds: float | None,
    shard_seconds: float | None,
    shard_resources: int | None,
    local_catalog: str | None,
    concurrency: int,
    max_messages: int,
    wait_seconds: int,
    visibility_timeout: int | None,
    retry_delay: int,
    max_retry_delay: int,
    not_found_attempts: int,
    overmatch_attempts: int,
    coalesce_seconds: float,
    max_requests_per_minute: int | None,
    log_level: str,
) -> None:
    """Consume the events queue until SIGTERM or SIGINT, applying each batch as the Lambda does.

    Applied (or deliberately dropped) messages are deleted; failed ones come back after a backoff
    and reach the dead-letter queue after the queue's maxReceiveCount. On SIGTERM/SIGINT the
    batches in hand finish and nothing new is taken; a second signal exits at once. Logs are JSON
    lines on stderr; the final counts are printed as JSON on stdout. A receive that cannot succeed
    (the queue does not exist, access denied) stops the worker with an error and exit 1.
    """
    from port_aws_exporter.aws.sqs_queues import sqs_client_for
    from port_aws_exporter.cli.event_session import open_event_batch
    from port_aws_exporter.core.logs import configure_logging
    from port_aws_exporter.events.batch import EventOptions
    from port_aws_exporter.events.worker import SqsWorker, WorkerOptions

    configure_logging(log_level.upper())
    if sync_tasks is not None:
        _run_sync_tasks(
            config_source,
            sync_tasks,
            state_table,
            state_bucket,
            local_catalog,
            ShardWorkerLimits(idle_seconds, shard_seconds, shard_resources),
            max_requests_per_minute,
        )
        return
    if queue_url is None:
        raise click.UsageError(f"Missing option '--queue-url' (or ${QUEUE_ENV}), or '--sync-tasks'.")
    try:
        worker_options = WorkerOptions(
            queue_url,
            concurrency=concurrency,
            max_messages=max_messages,
            wait_seconds=wait_seconds,
            visibility_timeout=visibility_timeout,
            retry_delay_seconds=retry_delay,
            max_retry_delay_seconds=max_retry_delay,
            coalesce_seconds=coalesce_seconds,
        )
    except ValueError as error:
        fail(str(error))
    options = EventOptions(not_found_attempts=not_found_attempts, overmatch_attempts=overmatch_attempts)
    with catalog_credentials(local_catalog) as credentials:
        try:
            with open_event_batch(
                config_source,
                credentials,
                options=options,
                jq_workers=concurrency,
                max_requests_per_minute=max_requests_per_minute,
            ) as session:
                worker = SqsWorker(session.batch.process, sqs_client_for(session.clients, queue_url), worker_options)
                worker.install_signal_handlers()
                stats = worker.run()
        except ConfigError as error:
            fail(str(error))
    print_json(stats.as_dict())
    if worker.fatal_error is not None:
        fail(f"the worker stopped: receiving from {queue_url} failed: {describe_error(worker.fatal_error)}")


def _run_sync_tasks(
    config_source: str,
    tasks_queue: str,
    state_table: str | None,
    state_bucket: str | None,
    local_catalog: str | None,
    limits: ShardWorkerLimits,
    max_requests_per_minute: int | None,
) -> None:
    """The shard worker: one shard per receive until SIGTERM/SIGINT (or `idle_seconds` of an empty queue)."""
    from port_aws_exporter.aws.clients import AwsClients
    from port_aws_exporter.aws.identity import resolve_identity
    from port_aws_exporter.cli.sharded_sync import ShardedState, run_shard_worker
    from port_aws_exporter.port import PortClient

    _, table, bucket = ShardedState(tasks_queue, state_table, state_bucket).require()
    clients = AwsClients()
    try:
        config = load_config(config_source, s3_client=clients.client("s3", clients.default_region))
    except ConfigError as error:
        fail(str(error))
    try:
        caller = resolve_identity(clients.session)
    except Exception as error:  # no credentials, no network: say so plainly
        fail(f"cannot tell which AWS account this is (STS GetCallerIdentity): {error}")
    installation = caller.installation
    with (
        catalog_credentials(local_catalog) as credentials,
        PortClient(credentials, installation, max_requests_per_minute=max_requests_per_minute) as port,
    ):
        settled = run_shard_worker(
            config,
            clients,
            port,
            caller,
            installation.region,
            tasks_queue,
            table,
            bucket,
            max_messages=None,
            idle_seconds=limits.idle_seconds,
            shard_seconds=limits.shard_seconds,
            shard_resources=limits.shard_resources,
        )
    print_json({"shards_settled": settled})
