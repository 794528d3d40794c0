"""`port-aws-exporter map`: resource documents → entities, to check a mapping."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from port_aws_exporter.aws.clients import config_s3_client
from port_aws_exporter.cli.inputs import read_json
from port_aws_exporter.cli.output import fail, print_json, stderr_console
from port_aws_exporter.core.config import ConfigError, load_config
from port_aws_exporter.core.mapping import build_mappers, mappers_for_kind


@click.command("map")
@click.option("--config", "config_source", required=True, help="config.json: a path or s3://bucket/key.")
@click.option("--kind", help="The kind of the documents (needed when the config has several kinds).")
@click.argument("resources", type=click.File("r"))
def map_command(config_source: str, kind: str | None, resources: Any) -> None:
    """Map RESOURCES (a JSON list of resource documents, or - for stdin) with the config.

    Every config entry of the kind applies. Prints a JSON list of entities, each with its
    blueprint; problems go to stderr, and the exit code is 1 if any resource failed to map.
    """
    try:
        config = load_config(config_source, s3_client=config_s3_client(config_source))
    except ConfigError as error:
        fail(str(error))
    kinds = config.kinds()
    if kind is None:
        if len(kinds) != 1:
            fail(f"the config has several kinds ({', '.join(kinds)}): say which with --kind")
        kind = kinds[0]
    mappers = mappers_for_kind(build_mappers(config), kind)
    if not mappers:
        fail(f"the config has no entry of kind {kind} (it has: {', '.join(kinds)})")
    documents = read_json(resources)
    if isinstance(documents, dict):
        documents = [documents]
    if not isinstance(documents, list):
        fail(f"{resources.name} must hold a JSON list of resource documents")
    entities: list[dict[str, Any]] = []
    failed = 0
    for position, document in enumerate(documents):
        if not isinstance(document, dict):
            stderr_console.print(f"[red]error:[/] resource [{position}] is not a JSON object")
            failed += 1
            continue
        for mapper in mappers:
            result = mapper.map(document)
            entities.extend(entity.as_output() for entity in result.entities)
            for failure in result.failures:
                failed += 1
                stderr_console.print(f"[red]error:[/] resource [{position}]: {escape(str(failure))}", soft_wrap=True)
    print_json(entities)
    sys.stdout.flush()
    if failed:
        raise click.exceptions.Exit(1)
