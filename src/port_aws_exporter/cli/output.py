"""How commands print: JSON for machines on stdout, rich text for people, errors on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click
from rich.console import Console

# Piped output is not limited to rich's default 80 columns, so tables keep their kind names whole.
PIPED_WIDTH = 160
# What a shell reports for a process ended by SIGINT (128 + 2): scripts tell a Ctrl-C from a failure.
INTERRUPTED_EXIT_CODE = 130
stdout_console = Console(highlight=False, width=None if sys.stdout.isatty() else PIPED_WIDTH)
stderr_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else PIPED_WIDTH)


def print_json(value: Any) -> None:
    """`value` as indented JSON on stdout (plain, so it pipes into jq and files)."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Print `message` as an error on stderr and exit."""
    stderr_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise click.exceptions.Exit(exit_code)
