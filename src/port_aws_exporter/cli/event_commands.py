"""`port-aws-exporter event`: apply one event message, and print what happened."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

from port_aws_exporter.cli.inputs import read_text
from port_aws_exporter.cli.output import fail, print_json, stderr_console, stdout_console
from port_aws_exporter.cli.sync_command import catalog_credentials, config_option, local_catalog_option
from port_aws_exporter.core.config import ConfigError
from port_aws_exporter.events.records import MessageResult


def print_result(result: MessageResult) -> None:
    """The result for people: what was asked, then each change, the skip reason or the error."""
    asked = " ".join(str(part) for part in (result.action, result.resource_type, result.identifier) if part)
    where = f" in {result.region}" if result.region else ""
    stdout_console.print(escape(f"{asked or 'message'}{where}"), soft_wrap=True)
    for entity in result.written:
        stdout_console.print(
            f"  [green]wrote[/] {escape(entity.blueprint)}/{escape(entity.identifier)}", soft_wrap=True
        )
    for entity in result.deleted:
        stdout_console.print(
            f"  [red]deleted[/] {escape(entity.blueprint)}/{escape(entity.identifier)}", soft_wrap=True
        )
    if result.skipped is not None:
        stdout_console.print(f"  [yellow]skipped:[/] {escape(result.skipped)}", soft_wrap=True)
    if result.error is not None:
        kind = "transient" if result.transient else "permanent"
        stderr_console.print(f"[red]error ({kind}):[/] {escape(result.error)}", soft_wrap=True)


@click.command("event")
@config_option
@local_catalog_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--log-json", is_flag=True, help="Also log the event path's JSON lines on stderr.")
@click.argument("message", type=click.File("r"))
def event_command(config_source: str, local_catalog: str | None, as_json: bool, log_json: bool, message: Any) -> None:
    """Apply one event MESSAGE (the JSON an EventBridge rule sends to the queue; - for stdin).

    Reads the resource with boto3's default credentials (and AWS_ENDPOINT_URL), writes to Port
    (PORT_CLIENT_ID / PORT_CLIENT_SECRET / PORT_API_URL) or to a local catalog. Decides at once
    what the queue consumer decides after its retries: a resource not found is skipped, a delete
    of a resource that still exists is not done. Exits 1 when the message failed.
    """
    from port_aws_exporter.cli.event_session import open_event_batch
    from port_aws_exporter.core.logs import configure_logging
    from port_aws_exporter.events.batch import EventOptions

    configure_logging("INFO" if log_json else "CRITICAL")
    text = read_text(message)
    options = EventOptions(not_found_attempts=1, overmatch_attempts=1)
    with catalog_credentials(local_catalog) as credentials:
        try:
            with open_event_batch(config_source, credentials, options=options) as session:
                result = session.batch.process_message(text, message_id="cli")
        except ConfigError as error:
            fail(str(error))
    if as_json:
        print_json(result.as_dict())
    else:
        print_result(result)
    if result.error is not None:
        raise click.exceptions.Exit(1)
