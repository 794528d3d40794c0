"""`port-aws-exporter kinds`: the kind registry."""

from __future__ import annotations

import dataclasses

import click
from rich.table import Table

from port_aws_exporter.cli.output import print_json, stdout_console
from port_aws_exporter.core.kinds.registry import KINDS


@click.command("kinds")
@click.option("--json", "as_json", is_flag=True, help="Print the registry as JSON.")
def kinds_command(as_json: bool) -> None:
    """List the AWS kinds the exporter knows: fetcher, Cloud Control identifier, notes.

    Kinds not listed still sync through Cloud Control.
    """
    rows = sorted(KINDS.values(), key=lambda spec: spec.kind)
    if as_json:
        print_json([dataclasses.asdict(spec) for spec in rows])
        return
    table = Table("kind", "fetcher", "identifier", "global", "notes")
    for spec in rows:
        table.add_row(
            spec.kind,
            spec.fetcher.value,
            "|".join(spec.primary_identifier),
            "yes" if spec.global_service else "",
            spec.notes,
        )
    stdout_console.print(table)
