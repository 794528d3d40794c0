"""`port-aws-exporter demo`: the exporter end to end on the local stack, no accounts needed."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from port_aws_exporter.cli.output import fail, print_json, stderr_console, stdout_console

if TYPE_CHECKING:  # the demo module needs the local extra: imported when the command runs
    from port_aws_exporter.cli.demo import DemoStep, LiveEvent, ServingDemo

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@click.command("demo")
@click.option(
    "--catalog-db", type=click.Path(dir_okay=False, path_type=Path), default="./demo-catalog.db", show_default=True
)
@click.option(
    "--resources",
    type=click.IntRange(1),
    help="Seed at least this many resources in each account (extra ones are Lambda functions).",
)
@click.option(
    "--examples", type=click.Path(file_okay=False, exists=True, path_type=Path), help="The examples directory."
)
@click.option("--live/--no-live", default=True, show_default=True, help="Then apply live changes through event rules.")
@click.option("--json", "as_json", is_flag=True, help="Print the sync report (and the live events) as JSON.")
@click.option("--serve", is_flag=True, help="Then keep the catalog (and its web page) serving until Ctrl-C.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="The catalog's port (0: a free one)."
)
@click.option(
    "--sharded", is_flag=True, help="Run the full sync as shards on two worker processes (SQS, DynamoDB, S3)."
)
def demo_command(
    catalog_db: Path,
    resources: int | None,
    examples: Path | None,
    live: bool,
    as_json: bool,
    serve: bool,
    port: int,
    sharded: bool,
) -> None:
    """Start a local AWS holding an organisation of three accounts, each with a demo world, and a
    local catalog; apply the example blueprints, run a full sync of the organisation with the example
    config, and show the result per account. Then deploy the example event rules into
    the local EventBridge, start a worker on their queue, make live changes (create, update, tag,
    delete) and show each event, its effect on the catalog and the end-to-end latency. The catalog
    stays in --catalog-db.

    With --serve, print the catalog page's URL and keep everything up until Ctrl-C: browse the
    catalog, and make more changes (`local change`) to watch them arrive on the page.

    With --sharded, the full sync is planned as shards on the local SQS (its state in the local
    DynamoDB and S3) and run by two `worker --sync-tasks` processes; a line shows the shards as they
    settle, and the report is the unsharded sync's.
    """
    try:
        from port_aws_exporter.cli.demo import ExamplesNotFoundError, find_examples_dir, run_demo
        from port_aws_exporter.cli.sharded_demo import ShardedDemoError
        from port_aws_exporter.cli.sharded_sync import ShardProgressLines
    except ImportError as error:
        fail(f"the demo needs the local extra (pip install -e '.[local]'): {error}")
    try:
        examples_dir = find_examples_dir(examples)
    except ExamplesNotFoundError as error:
        fail(str(error))

    def show(step: DemoStep) -> None:
        if not as_json:
            stdout_console.print(f"[green]✓[/] {step.title} [dim]({step.seconds:.1f} s)[/]", soft_wrap=True)

    live_events: list[LiveEvent] = []

    def show_live(event: LiveEvent) -> None:
        live_events.append(event)
        if not as_json:
            mark = "[green]✓[/]" if event.applied else "[red]✗[/]"
            stdout_console.print(
                f"{mark} {event.change.kind} {event.change.action} {event.change.name}: "
                f"{', '.join(event.event_names)} → {event.effect} [dim]({event.seconds:.2f} s)[/]",
                soft_wrap=True,
            )

    def serve_page(serving: ServingDemo) -> None:
        if not as_json:
            _print_live_summary(live_events)
        _serve_until_stopped(serving, stderr_console if as_json else stdout_console)

    from port_aws_exporter.cli.organization import print_organization_summary

    try:
        result = run_demo(
            catalog_db,
            examples=examples_dir,
            resources=resources,
            on_step=show,
            live=live,
            on_live_event=show_live,
            on_synced=None if as_json else print_organization_summary,
            serve=serve_page if serve else None,
            catalog_port=port,
            sharded=sharded,
            on_shards=ShardProgressLines(stderr_console if as_json else stdout_console),
        )
    except ShardedDemoError as error:
        fail(str(error))
    if as_json:
        run = {"run_id": result.run_id} if result.run_id else {}
        print_json({**result.report.as_dict(), **run, "live": [event.as_dict() for event in result.live]})
        return
    if not serve:
        _print_live_summary(result.live)
    db = result.catalog_db
    browse = "" if serve else "  port-aws-exporter demo --serve   # then open the printed URL\n"
    stdout_console.print(
        "\nLook at the catalog:\n"
        f"{browse}"
        f"  port-aws-exporter catalog list --db {db} --limit 20\n"
        f"  port-aws-exporter catalog get --db {db} awsSnsTopic demo-order-events-us-east-1\n"
        f"  PORT_CLIENT_ID=local PORT_CLIENT_SECRET=local port-aws-exporter catalog serve --db {db}"
        "   # the page and Port's REST API on the printed URL",
        soft_wrap=True,
    )
    if result.report.error_count or not all(event.applied for event in result.live):
        raise click.exceptions.Exit(1)


def _print_live_summary(events: list[LiveEvent]) -> None:
    latencies = sorted(event.seconds for event in events if event.applied)
    if latencies:
        stdout_console.print(
            f"live changes: {len(latencies)} of {len(events)} applied; change to catalog "
            f"median {latencies[len(latencies) // 2]:.2f} s, slowest {latencies[-1]:.2f} s"
        )


def _serve_until_stopped(serving: ServingDemo, console: Console) -> None:
    """Say where the page is and how to make changes to watch, then wait for Ctrl-C or SIGTERM."""
    console.print(f"\nThe catalog's page: {serving.catalog_url}/", soft_wrap=True)
    if serving.watching:
        console.print(
            "Make a change and watch it arrive (the page reloads itself), e.g.\n"
            f"  port-aws-exporter local change sqs create demo-jobs --endpoint-url {serving.aws_url} "
            f"--region {serving.region}",
            soft_wrap=True,
        )
    console.print("Serving until Ctrl-C.", soft_wrap=True)
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda _signum, _frame: stop.set()) for number in _STOP_SIGNALS}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    console.print("stopped serving", soft_wrap=True)
