"""`port-aws-exporter local ...`: the local stack's commands (local AWS endpoint, demo world)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from types import FrameType

import click

DEFAULT_REGIONS = "us-east-1,eu-west-1"


def _regions(value: str) -> list[str]:
    regions = [region.strip() for region in value.split(",") if region.strip()]
    if not regions:
        raise click.BadParameter("give at least one region, e.g. us-east-1,eu-west-1")
    return regions


@click.group("local")
def local_group() -> None:
    """Run the local stack: a local AWS endpoint (moto + Cloud Control) and its demo world."""


@local_group.command("aws")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="Port (0: a free one).")
@click.option("--seed/--no-seed", default=False, help="Seed the demo world once the endpoint is up.")
@click.option("--resources", type=click.IntRange(min=0), default=None, help="With --seed: at least N resources.")
@click.option("--regions", default=DEFAULT_REGIONS, show_default=True, help="With --seed: comma-separated regions.")
@click.option("--log-requests", is_flag=True, help="Log every request on stderr.")
def aws_command(host: str, port: int, seed: bool, resources: int | None, regions: str, log_requests: bool) -> None:
    """Serve a local AWS endpoint until interrupted (SIGINT or SIGTERM).

    The first line on stdout is the endpoint's base URL: point boto3 at it with AWS_ENDPOINT_URL.
    """
    from port_aws_exporter.local.aws import seed_demo_world, start_local_aws

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with start_local_aws(host=host, port=port, log_requests=log_requests) as aws:
        click.echo(aws.url)
        sys.stdout.flush()
        click.echo(
            f"Local AWS endpoint serving. Use it with:\n  export AWS_ENDPOINT_URL={aws.url}\n"
            f"Fault injection: {aws.url}/_local/faults   Stop with Ctrl-C.",
            err=True,
        )
        if seed:
            summary = seed_demo_world(aws.url, resources=resources, regions=_regions(regions))
            click.echo(
                f"Seeded the demo world: {summary.count()} resources in {', '.join(summary.regions)}.",
                err=True,
            )
        stop.wait()
    click.echo("Local AWS endpoint stopped.", err=True)


@local_group.command("seed")
@click.option("--resources", type=click.IntRange(min=0), default=None, help="At least N resources in total.")
@click.option("--regions", default=DEFAULT_REGIONS, show_default=True, help="Comma-separated regions.")
@click.option("--endpoint-url", default=None, help="The local endpoint (default: $AWS_ENDPOINT_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print the full summary as JSON.")
def seed_command(resources: int | None, regions: str, endpoint_url: str | None, as_json: bool) -> None:
    """Create the demo world in a running local AWS endpoint."""
    from port_aws_exporter.local.aws import seed_demo_world
    from port_aws_exporter.local.aws.demo_world import SeedError

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise click.UsageError(
            "no endpoint: pass --endpoint-url URL or set AWS_ENDPOINT_URL "
            "(start one with `port-aws-exporter local aws`)"
        )
    try:
        summary = seed_demo_world(endpoint, resources=resources, regions=_regions(regions))
    except SeedError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    _print_summary(summary.to_dict())


def _print_summary(summary: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    counts = summary["counts"]
    assert isinstance(counts, dict)
    table = Table(title=f"Demo world at {summary['endpoint_url']} ({', '.join(summary['regions'])})")  # type: ignore[arg-type]
    table.add_column("Kind")
    table.add_column("Resources", justify="right")
    for kind, count in counts.items():
        table.add_row(kind, str(count))
    table.add_row("total", str(summary["total"]), style="bold")
    Console().print(table)
