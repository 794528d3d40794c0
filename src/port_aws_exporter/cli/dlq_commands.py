"""`port-aws-exporter dlq show|replay`: the events dead-letter queue."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from port_aws_exporter.cli.output import fail, print_json, stderr_console, stdout_console
from port_aws_exporter.core.config import ConfigError, load_config


@click.group("dlq")
def dlq_group() -> None:
    """Look into the events dead-letter queue and move its messages back after a fix."""


@dlq_group.command("show")
@click.option("--queue-url", required=True, help="The dead-letter queue.")
@click.option("--config", "config_source", help="config.json, to check each message's resource_type too.")
@click.option("--max", "max_messages", type=click.IntRange(1), help="At most this many messages.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def show_command(queue_url: str, config_source: str | None, max_messages: int | None, as_json: bool) -> None:
    """Print the dead-lettered messages with the reason they failed; they stay in the queue.

    A message that cannot be parsed or evaluated says why; a valid one failed while being applied,
    and the consumer's logs give that reason under its message id.
    """
    from port_aws_exporter.aws.clients import AwsClients
    from port_aws_exporter.aws.sqs_queues import sqs_client_for
    from port_aws_exporter.core.jq.worker import TimeLimitedJq
    from port_aws_exporter.events.dead_letters import diagnose, peek_dead_letters

    clients = AwsClients()
    kinds = None
    if config_source is not None:
        try:
            kinds = load_config(config_source, s3_client=clients.client("s3", clients.default_region)).kinds()
        except ConfigError as error:
            fail(str(error))
    with TimeLimitedJq() as evaluator:
        letters = peek_dead_letters(
            sqs_client_for(clients, queue_url),
            queue_url,
            lambda message_id, body: diagnose(message_id, body, evaluator, kinds),
            max_messages=max_messages,
        )
    if as_json:
        print_json([letter.as_dict() for letter in letters])
        return
    table = Table("message id", "receives", "sent", "reason", "body", title=f"{len(letters)} dead-lettered message(s)")
    for letter in letters:
        body = letter.body if len(letter.body) <= 80 else letter.body[:79] + "…"
        table.add_row(
            letter.message_id, str(letter.receive_count), letter.sent_at or "", escape(letter.reason), escape(body)
        )
    stdout_console.print(table)


@dlq_group.command("replay")
@click.option("--queue-url", required=True, help="The dead-letter queue.")
@click.option("--to", "target_url", required=True, help="The queue to send the messages back to.")
@click.option("--max", "max_messages", type=click.IntRange(1), help="At most this many messages.")
@click.option("--json", "as_json", is_flag=True, help="Print {moved, failures} as JSON.")
def replay_command(queue_url: str, target_url: str, max_messages: int | None, as_json: bool) -> None:
    """Move dead-lettered messages back to the events queue (after fixing what made them fail).

    Each message is deleted from the dead-letter queue only once the target has it. Exits 1 if
    any message could not be moved (it stays in the dead-letter queue).
    """
    from port_aws_exporter.aws.clients import AwsClients
    from port_aws_exporter.aws.sqs_queues import sqs_client_for
    from port_aws_exporter.events.dead_letters import replay_dead_letters

    clients = AwsClients()
    try:
        report = replay_dead_letters(
            sqs_client_for(clients, queue_url),
            queue_url,
            target_url,
            max_messages=max_messages,
            target_sqs=sqs_client_for(clients, target_url),
        )
    except ValueError as error:
        fail(str(error))
    if as_json:
        print_json({"moved": report.moved, "failures": report.failures})
    else:
        stdout_console.print(f"{len(report.moved)} message(s) moved to {escape(target_url)}", soft_wrap=True)
        for failure in report.failures:
            stderr_console.print(f"[red]error:[/] {escape(failure)}", soft_wrap=True)
    if report.failures:
        raise click.exceptions.Exit(1)
