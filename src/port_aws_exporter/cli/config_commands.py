"""`port-aws-exporter config …`: check a config.json."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.markup import escape

from port_aws_exporter.aws.clients import config_s3_client
from port_aws_exporter.cli.inputs import read_text
from port_aws_exporter.cli.output import print_json, stderr_console, stdout_console
from port_aws_exporter.core.config import ConfigError, ConfigProblem, check_config, read_config_document


@click.group("config")
def config_group() -> None:
    """Check config.json files."""


@config_group.command("validate")
@click.argument("source", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help='Print {"valid", "errors", "warnings"} as JSON.')
def validate_command(source: str, as_json: bool) -> None:
    """Validate FILE (a path, an s3://bucket/key URL, or - for stdin): structure and every jq expression.

    Every problem is reported at once, with its JSON path, the expression and jq's message.
    Exits 1 when the config is not valid.
    """
    try:
        report = check_config(_read_source(source))
    except ConfigError as error:
        errors, warnings, valid, config = error.problems, [], False, None
    else:
        errors, warnings, valid, config = report.errors, report.warnings, report.valid, report.config
    shown = "standard input" if source == "-" else source
    if as_json:
        print_json(
            {
                "valid": valid,
                "errors": [problem.as_dict() for problem in errors],
                "warnings": [problem.as_dict() for problem in warnings],
            }
        )
    else:
        _print_problems("warning", "yellow", warnings)
        _print_problems("error", "red", errors)
        if config is not None and valid:
            mappings = sum(len(resource.port.entity.mappings) for resource in config.resources)
            stdout_console.print(
                f"{escape(shown)} is valid: {len(config.resources)} resource(s) of "
                f"{len(config.kinds())} kind(s), {mappings} mapping(s)"
                + (f", {len(warnings)} warning(s)" if warnings else ""),
                soft_wrap=True,
            )
        else:
            stderr_console.print(f"{escape(shown)} is not valid: {len(errors)} error(s)", soft_wrap=True)
    if not valid:
        raise click.exceptions.Exit(1)


def _read_source(source: str) -> Any:
    """The parsed config document of FILE; `-` is standard input, read as the file would be."""
    if source != "-":
        return read_config_document(source, s3_client=config_s3_client(source))
    text = read_text(sys.stdin.buffer)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise ConfigError([ConfigProblem("", f"not valid JSON at {where}: {error.msg}")], "standard input") from None


def _print_problems(label: str, colour: str, problems: list[ConfigProblem]) -> None:
    for problem in problems:
        where = f"{problem.path}: " if problem.path else ""
        stderr_console.print(f"[{colour}]{label}:[/] {escape(where)}{escape(problem.message)}", soft_wrap=True)
        if problem.expression is not None:
            stderr_console.print(f"    expression: {escape(problem.expression)}", soft_wrap=True)
