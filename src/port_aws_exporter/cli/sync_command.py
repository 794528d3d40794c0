"""`port-aws-exporter sync`: one full sync from the command line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click
from rich import box
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from port_aws_exporter.cli.output import INTERRUPTED_EXIT_CODE, fail, print_json, stderr_console, stdout_console
from port_aws_exporter.cli.preflight import check_catalog
from port_aws_exporter.core.config import ConfigError, load_config
from port_aws_exporter.port import PortConfigurationError, PortCredentials
from port_aws_exporter.sync.progress import DEFAULT_HEARTBEAT_RESOURCES, DEFAULT_HEARTBEAT_SECONDS
from port_aws_exporter.sync.report import KindRegionReport, SyncErrorRecord, SyncReport

if TYPE_CHECKING:  # the multi-account and sharded syncs are imported when a config or a flag asks for them
    from port_aws_exporter.cli.sharded_sync import FollowedRun
    from port_aws_exporter.sync.accounts import OrganizationReport

DEFAULT_LOCAL_CATALOG = "./catalog.db"
CONFIG_ENV = "PORT_AWS_EXPORTER_CONFIG"

# The options of the commands that load a config and write to a catalog (sync, event, worker).
config_option = click.option(
    "--config",
    "config_source",
    envvar=CONFIG_ENV,
    required=True,
    help=f"config.json (path or s3://); or ${CONFIG_ENV}.",
)
local_catalog_option = click.option(
    "--local-catalog",
    is_flag=False,
    flag_value=DEFAULT_LOCAL_CATALOG,
    default=None,
    metavar="[PATH]",
    help=f"Write to an embedded local catalog (SQLite at PATH, default {DEFAULT_LOCAL_CATALOG}) instead of Port.",
)

max_requests_option = click.option(
    "--max-requests-per-minute",
    envvar="PORT_MAX_REQUESTS_PER_MINUTE",
    type=click.IntRange(1),
    default=None,
    help="Port requests this process sends per minute at most, all its writers together; "
    "or $PORT_MAX_REQUESTS_PER_MINUTE (default 7000: Port's 35,000 per 5 minutes per organisation).",
)


@contextlib.contextmanager
def catalog_credentials(local_catalog: str | None) -> Iterator[PortCredentials]:
    """Port credentials from the environment, or those of an embedded local catalog at a path; Port
    is asked for a token and its blueprints first (`cli.preflight`), so that an unreachable Port or
    refused credentials stop the command at once."""
    if local_catalog is None:
        try:
            credentials = PortCredentials.from_env()
        except PortConfigurationError as error:
            fail(
                f"{error}.\nTo write to Port, export PORT_CLIENT_ID and PORT_CLIENT_SECRET (and PORT_API_URL "
                f"for a non-default region); to write to a local catalog instead, pass --local-catalog "
                f"[PATH] (default {DEFAULT_LOCAL_CATALOG})."
            )
        check_catalog(credentials)
        yield credentials
        return
    try:
        from port_aws_exporter.local.catalog import start_catalog
    except ImportError:
        fail("--local-catalog needs the local extra: pip install 'port-aws-exporter[local]'")
    with start_catalog(local_catalog) as catalog:
        yield catalog.credentials()


def summary_table(report: SyncReport, width: int | None = None) -> Table:
    """The per-kind table, in the widest layout that fits `width` (default: the console's) with the
    kind never cut: boxed with every column; then unboxed, without an all-zero `filtered`; then
    with the region under the kind."""
    width = width or stdout_console.width
    kinds = sorted(report.kinds, key=lambda k: (k.index, k.region))
    layouts = ((False, True, True), (False, False, any(kind.filtered for kind in kinds)), (True, False, False))
    for stacked, boxed, filtered in layouts:
        table = _summary_layout(kinds, stacked=stacked, boxed=boxed, filtered=filtered)
        if Measurement.get(stdout_console, stdout_console.options.update_width(10 * width), table).maximum <= width:
            return table
    return table


def _summary_layout(kinds: list[KindRegionReport], *, stacked: bool, boxed: bool, filtered: bool) -> Table:
    table = Table(title="Full sync", box=box.HEAVY_HEAD)
    if not boxed:  # narrow terminals: a rule under the header, one space between columns
        table = Table(title="Full sync", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_edge=False)
    table.add_column("#", no_wrap=True)
    table.add_column("kind / region" if stacked else "kind", no_wrap=True)
    if not stacked:
        table.add_column("region", no_wrap=True)
    for header in ("listed", "written", "failed", *(("filtered",) if filtered else ()), "seconds" if boxed else "s"):
        table.add_column(header, no_wrap=True, justify="left" if boxed else "right")
    for kind in kinds:
        where = [f"{escape(kind.kind)}\n  {kind.region}"] if stacked else [escape(kind.kind), kind.region]
        counts = [str(kind.listed), str(kind.written), f"[red]{kind.failed}[/]" if kind.failed else "0"]
        table.add_row(
            str(kind.index), *where, *counts, *([str(kind.filtered)] if filtered else []), f"{kind.seconds:.1f}"
        )
    return table


def print_summary(report: SyncReport) -> None:
    """The summary table, deletions, skipped deletions and the first errors, for people."""
    stdout_console.print(summary_table(report))
    verb = "would delete" if report.dry_run else "deleted"
    # A dry run deletes nothing: its stale entities are the ones listed per blueprint below.
    stale = sum(len(changes.delete) for changes in report.changes.values()) if report.dry_run else report.deleted
    stdout_console.print(
        f"{report.listed} resources listed, {report.written} entities "
        f"{'to write' if report.dry_run else 'written'} ({report.created} new, {report.updated} changed, "
        f"{report.unchanged} unchanged), {report.error_count} failures, "
        f"{stale} stale entities {verb}, in {report.seconds:.1f} s",
        soft_wrap=True,
    )
    for blueprint in report.missing_blueprints:
        stderr_console.print(
            f"[red]error:[/] blueprint {escape(blueprint)!r} does not exist in the catalog: its kinds were not "
            "synced and none of its entities deleted. Create it first (`port-aws-exporter catalog blueprints "
            "apply`, or Port's builder).",
            soft_wrap=True,
        )
    for blueprint, changes in sorted(report.changes.items()):
        stdout_console.print(
            f"  {blueprint}: {changes.create} to create, {changes.update} to update, "
            f"{changes.unchanged} unchanged, {len(changes.delete)} to delete"
            + (f" ({', '.join(changes.delete[:5])}{'…' if len(changes.delete) > 5 else ''})" if changes.delete else ""),
            soft_wrap=True,
        )
    if report.not_found:
        shown = ", ".join(f"{record.kind} {record.identifier}" for record in report.not_found[:5])
        stdout_console.print(
            f"[yellow]{len(report.not_found)} listed resource(s) not found when read[/] (deleted meanwhile, or not "
            f"visible yet; their entities are kept for the next run): {escape(shown)}"
            + ("…" if len(report.not_found) > 5 else ""),
            soft_wrap=True,
        )
    for blueprint, reason in sorted(report.deletion_skipped.items()):
        stdout_console.print(
            f"[yellow]stale deletion skipped for {escape(blueprint)}:[/] {escape(reason)}", soft_wrap=True
        )
    print_errors(report.errors, report.error_count)


def print_errors(errors: list[SyncErrorRecord], error_count: int) -> None:
    """The errors grouped by cause (the same failure of many entities is one line with its count),
    the largest groups first; `--json` lists each one."""
    groups: dict[str, list[SyncErrorRecord]] = {}
    for error in errors:
        cause = error.error.replace(error.identifier, "…") if error.identifier else error.error
        groups.setdefault(cause, []).append(error)
    ranked = sorted(groups.items(), key=lambda item: -len(item[1]))
    for cause, records in ranked[:10]:
        first = records[0]
        if len(records) == 1:
            where = f"{first.kind} {first.region}" + (f" {first.identifier}" if first.identifier else "")
            stderr_console.print(f"[red]error:[/] {escape(where)}: {escape(first.error)}", soft_wrap=True)
            continue
        kinds = sorted({f"{record.kind} {record.region}" for record in records})
        examples = ", ".join(str(record.identifier) for record in records[:3] if record.identifier)
        stderr_console.print(
            f"[red]error:[/] {len(records)} errors: {escape(cause)} ({escape(', '.join(kinds[:3]))}"
            + (f"; e.g. {escape(examples)}" if examples else "")
            + ")",
            soft_wrap=True,
        )
    shown = sum(len(records) for _, records in ranked[:10])
    if error_count > shown:
        stderr_console.print(f"... and {error_count - shown} more errors (--json lists up to 1000)")


@click.group("sync", invoke_without_command=True)
@click.pass_context
# Required unless a subcommand (`sync status`) runs instead: checked in the body.
@click.option("--config", "config_source", envvar=CONFIG_ENV, help=f"config.json (path or s3://); or ${CONFIG_ENV}.")
@local_catalog_option
@click.option("--dry-run", is_flag=True, help="Show what would change; write and delete nothing.")
@click.option("--write-all", is_flag=True, help="Write every entity, also those the catalog already holds as mapped.")
@max_requests_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--deletion-threshold", type=click.FloatRange(0, 1, min_open=True), help="Override the config's share.")
@click.option("--region", help="Region for kinds without selector.aws.regions (default: the AWS session's).")
@click.option("--read-concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option(
    "--log-json",
    is_flag=True,
    help="Also log the sync's structured JSON lines on stderr (its heartbeats too, instead of the live view).",
)
@click.option(
    "--heartbeat-seconds",
    envvar="PORT_AWS_EXPORTER_HEARTBEAT_SECONDS",
    type=click.FloatRange(0),
    default=DEFAULT_HEARTBEAT_SECONDS,
    show_default=True,
    help="Off a terminal: a progress line per running kind at least this often (0: never by time); "
    "or $PORT_AWS_EXPORTER_HEARTBEAT_SECONDS.",
)
@click.option(
    "--heartbeat-resources",
    envvar="PORT_AWS_EXPORTER_HEARTBEAT_RESOURCES",
    type=click.IntRange(0),
    default=DEFAULT_HEARTBEAT_RESOURCES,
    show_default=True,
    help="Off a terminal: a progress line per running kind every this many resources (0: never by count); "
    "or $PORT_AWS_EXPORTER_HEARTBEAT_RESOURCES.",
)
@click.option(
    "--delete-departed-accounts",
    is_flag=True,
    default=None,
    help="With accounts: delete the entities of accounts the organisation lists as closed or suspended.",
)
@click.option("--sharded", is_flag=True, help="Plan the sync as shards on the tasks queue for workers to run.")
@click.option(
    "--tasks-queue", envvar="PORT_AWS_EXPORTER_TASKS_QUEUE_URL", help="With --sharded: the sync-tasks queue URL."
)
@click.option(
    "--state-table", envvar="PORT_AWS_EXPORTER_STATE_TABLE", help="With --sharded: the run-state DynamoDB table."
)
@click.option(
    "--state-bucket", envvar="PORT_AWS_EXPORTER_STATE_BUCKET", help="With --sharded: the run-state S3 bucket."
)
@click.option(
    "--create-state", is_flag=True, help="With --sharded: create the table, bucket and queue (a name) if missing."
)
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(0, min_open=True),
    help="With --sharded: follow the run up to this many seconds and print its state (exit 1 if not complete).",
)
def sync_command(
    ctx: click.Context,
    config_source: str | None,
    local_catalog: str | None,
    dry_run: bool,
    write_all: bool,
    max_requests_per_minute: int | None,
    as_json: bool,
    deletion_threshold: float | None,
    region: str | None,
    read_concurrency: int,
    log_json: bool,
    heartbeat_seconds: float,
    heartbeat_resources: int,
    delete_departed_accounts: bool | None,
    sharded: bool,
    tasks_queue: str | None,
    state_table: str | None,
    state_bucket: str | None,
    create_state: bool,
    wait_seconds: float | None,
) -> None:
    """Sync every configured AWS kind in every configured region to the catalog, then delete the
    stale entities this installation owns, where it is safe.

    Reads AWS with boto3's default credentials (and AWS_ENDPOINT_URL, for a local endpoint); with
    `accounts` in the config, every account of the organisation (or of the listed ids) through its
    read role, each owning its own entities. Writes to Port with PORT_CLIENT_ID / PORT_CLIENT_SECRET /
    PORT_API_URL, or to a local catalog with --local-catalog. Exits 1 when anything failed.

    Shows a live view on a terminal, progress lines off one. Ctrl-C stops reading, writes what was
    read, prints the partial summary and exits 130, without deleting stale entities; a second
    Ctrl-C exits at once.

    With --sharded, plans the run as shards on the tasks queue for `worker --sync-tasks` processes;
    `sync status RUN_ID` shows a sharded run.
    """
    if ctx.invoked_subcommand is not None:
        return
    if config_source is None:
        raise click.MissingParameter(ctx=ctx, param_hint="'--config'", param_type="option")
    from port_aws_exporter.aws.clients import AwsClients
    from port_aws_exporter.aws.fetchers import fetcher_for
    from port_aws_exporter.aws.identity import resolve_identity
    from port_aws_exporter.cli.organization import run_organization_sync, single_account_options
    from port_aws_exporter.cli.sync_progress import SyncInterruption, sync_progress_shown
    from port_aws_exporter.core.logs import configure_logging
    from port_aws_exporter.port import PortClient
    from port_aws_exporter.sync.full_sync import FullSync, SyncOptions
    from port_aws_exporter.sync.progress import SyncProgress

    # Errors are in the summary already; the JSON lines are for log pipelines.
    configure_logging("INFO" if log_json else "CRITICAL")
    clients = AwsClients()
    try:
        config = load_config(config_source, s3_client=clients.client("s3", region or clients.default_region))
    except ConfigError as error:
        fail(str(error))
    try:
        caller = resolve_identity(clients.session)
    except Exception as error:  # no credentials, no network: say so plainly
        fail(f"cannot tell which AWS account this is (STS GetCallerIdentity): {error}")
    installation = caller.installation
    if sharded:
        from port_aws_exporter.cli.sharded_sync import ShardedState, plan_sharded_sync

        # The workers write and delete; these would be silently ignored by the planner.
        unsupported = [
            flag
            for flag, given in (
                ("--dry-run", dry_run),
                ("--write-all", write_all),
                ("--deletion-threshold", deletion_threshold is not None),
                ("--local-catalog", local_catalog is not None),
            )
            if given
        ]
        if unsupported:
            fail(
                f"{', '.join(unsupported)} cannot be used with --sharded yet: "
                "the workers write, delete and take the catalog"
            )

        state = ShardedState(tasks_queue, state_table, state_bucket)
        home_region = region or installation.region
        followed = plan_sharded_sync(
            config,
            clients,
            caller,
            home_region,
            state,
            create_state=create_state,
            as_json=as_json,
            wait_seconds=wait_seconds,
        )
        if followed is not None:
            print_sharded_result(followed, as_json)
        return
    with (
        catalog_credentials(local_catalog) as credentials,
        PortClient(credentials, installation, max_requests_per_minute=max_requests_per_minute) as port,
    ):
        progress = SyncProgress()
        interruption = SyncInterruption(progress, stderr_console)
        options = SyncOptions(
            default_region=region or installation.region,
            deletion_threshold=deletion_threshold,
            dry_run=dry_run,
            write_all=write_all,
            read_concurrency=read_concurrency,
            should_stop=interruption.requested,
            progress=progress,
        )
        with (
            interruption.installed(),
            sync_progress_shown(
                progress,
                stderr_console,
                interruption,
                log_json=log_json,
                heartbeat_seconds=heartbeat_seconds,
                heartbeat_resources=heartbeat_resources,
            ),
        ):
            result: SyncReport | OrganizationReport
            if config.accounts is not None:
                result = run_organization_sync(
                    config, clients, caller, port, options, delete_departed=delete_departed_accounts
                )
            else:
                options = single_account_options(config, clients, caller, options)
                sync = FullSync(
                    config,
                    lambda spec: fetcher_for(spec, clients, installation.account_id),
                    port,
                    installation.owned_entities_query,
                    options,
                )
                result = sync.run().report
    _print_result(result, as_json)


@sync_command.command("status")
@click.argument("run_id")
@click.option("--state-table", envvar="PORT_AWS_EXPORTER_STATE_TABLE", help="The run-state DynamoDB table.")
@click.option("--state-bucket", envvar="PORT_AWS_EXPORTER_STATE_BUCKET", help="The run-state S3 bucket.")
@click.option("--region", help="The table's region (default: the AWS session's).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's state as JSON.")
def sync_status_command(
    run_id: str, state_table: str | None, state_bucket: str | None, region: str | None, as_json: bool
) -> None:
    """Print a sharded run's shards and scopes and their state."""
    from port_aws_exporter.cli.sharded_sync import show_run_state

    show_run_state(run_id, state_table, state_bucket, region, as_json)


def print_sharded_result(followed: FollowedRun, as_json: bool) -> None:
    """A followed sharded run's report as the unsharded sync prints it (with `--json`, plus its
    `run_id` and notes); exit 1 when it is not complete or anything failed."""
    state = followed.state
    if not followed.complete:
        stderr_console.print(
            f"[yellow]run {state.run_id} is not complete[/] ({state.status}): the report is of its settled shards; "
            f"`sync status {state.run_id}` shows the rest",
            soft_wrap=True,
        )
    if not as_json:
        for note in state.notes:
            stderr_console.print(f"note: {escape(note)}", soft_wrap=True)
    try:
        _print_result(followed.report, as_json, json_extras=followed.json_extras())
    finally:
        if not followed.complete:
            raise click.exceptions.Exit(1)


def _print_result(
    result: SyncReport | OrganizationReport, as_json: bool, *, json_extras: dict[str, Any] | None = None
) -> None:
    """The report (one account's, or the organisation's) for people or as JSON; exit 130 when
    interrupted, 1 on errors."""
    from port_aws_exporter.cli.organization import print_organization_summary

    if as_json:
        print_json({**result.as_dict(), **(json_extras or {})})
    elif isinstance(result, SyncReport):
        print_summary(result)
    else:
        print_organization_summary(result)
    if result.interrupted:
        stderr_console.print(
            "[yellow]interrupted:[/] the summary is partial (what was read before Ctrl-C); stale deletion did "
            "not run. Run the sync again to finish.",
            soft_wrap=True,
        )
        raise click.exceptions.Exit(INTERRUPTED_EXIT_CODE)
    if result.error_count:
        raise click.exceptions.Exit(1)
