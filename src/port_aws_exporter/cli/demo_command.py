"""`port-aws-exporter demo`: the exporter end to end on the local stack, no accounts needed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from port_aws_exporter.cli.output import fail, print_json, stdout_console

if TYPE_CHECKING:  # the demo module needs the local extra: imported when the command runs
    from port_aws_exporter.cli.demo import DemoStep, LiveEvent


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
def demo_command(catalog_db: Path, resources: int | None, examples: Path | None, live: bool, as_json: bool) -> None:
    """Start a local AWS holding an organisation of three accounts, each with a demo world, and a
    local catalog; apply the example blueprints, run a full sync of the organisation with the example
    config, and show the result per account. Then deploy the example event rules into
    the local EventBridge, start a worker on their queue, make live changes (create, update, tag,
    delete) and show each event, its effect on the catalog and the end-to-end latency. The catalog
    stays in --catalog-db.
    """
    try:
        from port_aws_exporter.cli.demo import ExamplesNotFoundError, find_examples_dir, run_demo
    except ImportError as error:
        fail(f"the demo needs the local extra (pip install -e '.[local]'): {error}")
    try:
        examples_dir = find_examples_dir(examples)
    except ExamplesNotFoundError as error:
        fail(str(error))

    def show(step: DemoStep) -> None:
        if not as_json:
            stdout_console.print(f"[green]✓[/] {step.title} [dim]({step.seconds:.1f} s)[/]", soft_wrap=True)

    def show_live(event: LiveEvent) -> None:
        if not as_json:
            mark = "[green]✓[/]" if event.applied else "[red]✗[/]"
            stdout_console.print(
                f"{mark} {event.change.kind} {event.change.action} {event.change.name}: "
                f"{', '.join(event.event_names)} → {event.effect} [dim]({event.seconds:.2f} s)[/]",
                soft_wrap=True,
            )

    from port_aws_exporter.cli.organization import print_organization_summary

    result = run_demo(
        catalog_db,
        examples=examples_dir,
        resources=resources,
        on_step=show,
        live=live,
        on_live_event=show_live,
        on_synced=None if as_json else print_organization_summary,
    )
    if as_json:
        print_json({**result.report.as_dict(), "live": [event.as_dict() for event in result.live]})
        return
    if result.live:
        latencies = sorted(event.seconds for event in result.live if event.applied)
        if latencies:
            stdout_console.print(
                f"live changes: {len(latencies)} of {len(result.live)} applied; change to catalog "
                f"median {latencies[len(latencies) // 2]:.2f} s, slowest {latencies[-1]:.2f} s"
            )
    db = result.catalog_db
    stdout_console.print(
        "\nLook at the catalog:\n"
        f"  port-aws-exporter catalog list --db {db}\n"
        f"  port-aws-exporter catalog list --db {db} --blueprint awsLambdaFunction --json\n"
        f"  port-aws-exporter catalog serve --db {db}   # then use Port's REST API on the printed URL",
        soft_wrap=True,
    )
    if result.report.error_count or not all(event.applied for event in result.live):
        raise click.exceptions.Exit(1)
