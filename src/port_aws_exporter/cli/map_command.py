"""`port-aws-exporter map`: resource documents → entities, to check a mapping."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click
from rich.markup import escape

from port_aws_exporter.aws.clients import config_s3_client
from port_aws_exporter.cli.inputs import input_name, read_json
from port_aws_exporter.cli.output import fail, print_json, stderr_console
from port_aws_exporter.core.config import ConfigError, load_config
from port_aws_exporter.core.mapping import build_mappers, mappers_for_kind


@dataclass
class ResourceInput:
    """What RESOURCES held: the documents to map, and, for Cloud Control's own output, its kind."""

    documents: list[Any]
    type_name: str | None = None
    listed: bool = False
    problems: list[str] = field(default_factory=list)


def read_resources(value: Any, name: str) -> ResourceInput:
    """Resource documents as users have them: one document, a list of them, or what
    `aws cloudcontrol get-resource` (`ResourceDescription`) and `list-resources`
    (`ResourceDescriptions`) print, whose `Properties` are JSON text."""
    if isinstance(value, dict) and ("ResourceDescription" in value or "ResourceDescriptions" in value):
        listed = "ResourceDescriptions" in value
        descriptions = value.get("ResourceDescriptions") if listed else [value.get("ResourceDescription")]
        if not isinstance(descriptions, list):
            fail(f"{name}: ResourceDescriptions must be a list")
        type_name = value.get("TypeName")
        resources = ResourceInput([], type_name if isinstance(type_name, str) else None, listed)
        for position, description in enumerate(descriptions):
            resources.documents.append(_described_document(description, position, resources.problems))
        return resources
    if isinstance(value, dict):
        return ResourceInput([value])
    if not isinstance(value, list):
        fail(f"{name} must hold a resource document, a JSON list of them, or Cloud Control's get-resource output")
    return ResourceInput(value)


def _described_document(description: Any, position: int, problems: list[str]) -> Any:
    """The document of one Cloud Control resource description (None, with a problem, when it has none)."""
    properties = description.get("Properties") if isinstance(description, dict) else None
    if isinstance(properties, dict):
        return properties
    if not isinstance(properties, str):
        problems.append(f"resource [{position}] has no Properties (a JSON object as text)")
        return None
    try:
        return json.loads(properties)
    except json.JSONDecodeError as error:
        problems.append(f"resource [{position}]: its Properties are not JSON: {error}")
        return None


def _kind_of(kind: str | None, given: ResourceInput, name: str, kinds: list[str]) -> str:
    """--kind, else the TypeName of Cloud Control's output, else the config's only kind."""
    if kind is not None and given.type_name is not None and kind != given.type_name:
        fail(f"--kind {kind} differs from the TypeName {given.type_name} of {name}")
    chosen = kind or given.type_name
    if chosen is not None:
        return chosen
    if len(kinds) != 1:
        fail(f"the config has several kinds ({', '.join(kinds)}): say which with --kind")
    return kinds[0]


@click.command("map")
@click.option("--config", "config_source", required=True, help="config.json: a path or s3://bucket/key.")
@click.option("--kind", help="The kind of the documents (needed when the config has several kinds).")
@click.argument("resources", type=click.File("r"))
def map_command(config_source: str, kind: str | None, resources: Any) -> None:
    """Map RESOURCES (- for stdin) with the config: a resource document, a JSON list of them, or the
    output of `aws cloudcontrol get-resource` or `list-resources` as it is (its TypeName is the kind).

    Every config entry of the kind applies. Prints a JSON list of entities, each with its
    blueprint; problems go to stderr, and the exit code is 1 if any resource failed to map.
    """
    try:
        config = load_config(config_source, s3_client=config_s3_client(config_source))
    except ConfigError as error:
        fail(str(error))
    given = read_resources(read_json(resources), input_name(resources))
    kinds = config.kinds()
    kind = _kind_of(kind, given, input_name(resources), kinds)
    mappers = mappers_for_kind(build_mappers(config), kind)
    if not mappers:
        fail(f"the config has no entry of kind {kind} (it has: {', '.join(kinds)})")
    if given.listed:
        stderr_console.print(
            "note: on AWS, list-resources gives each resource's primary identifier only; "
            "`aws cloudcontrol get-resource` gives the model the full sync maps",
            soft_wrap=True,
        )
    for problem in given.problems:
        stderr_console.print(f"[red]error:[/] {escape(problem)}", soft_wrap=True)
    entities: list[dict[str, Any]] = []
    failed = len(given.problems)
    for position, document in enumerate(given.documents):
        if document is None:
            continue
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
