"""The `port-aws-exporter` command line.

Subcommands are imported only when invoked, so `--help` and light commands stay fast and a command's
heavy dependencies (moto, cfn-lint) are loaded only by the commands that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from port_aws_exporter import __version__
from port_aws_exporter.cli.errors import DEBUG_ENV, describe_error
from port_aws_exporter.cli.output import INTERRUPTED_EXIT_CODE, fail

# name -> "module:attribute" of a click command or group. One line per command; keep sorted.
COMMANDS: dict[str, str] = {
    "catalog": "port_aws_exporter.cli.catalog_commands:catalog_group",
    "config": "port_aws_exporter.cli.config_commands:config_group",
    "demo": "port_aws_exporter.cli.demo_command:demo_command",
    "dlq": "port_aws_exporter.cli.dlq_commands:dlq_group",
    "event": "port_aws_exporter.cli.event_commands:event_command",
    "iam-policy": "port_aws_exporter.cli.deploy_commands:iam_policy_command",
    "kinds": "port_aws_exporter.cli.kinds_command:kinds_command",
    "local": "port_aws_exporter.cli.local_commands:local_group",
    "map": "port_aws_exporter.cli.map_command:map_command",
    "package": "port_aws_exporter.cli.deploy_commands:package_command",
    "rules": "port_aws_exporter.cli.rules_commands:rules_group",
    "sync": "port_aws_exporter.cli.sync_command:sync_command",
    "worker": "port_aws_exporter.cli.worker_commands:worker_command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._lazy_commands.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; an error it did not handle becomes `error: …` and exit 1 (see
        `cli.errors`), a Ctrl-C exit 130; with --debug the traceback shows instead."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            if ctx.params.get("debug"):
                raise
            fail("interrupted", exit_code=INTERRUPTED_EXIT_CODE)
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            fail(describe_error(error))


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="port-aws-exporter")
@click.option(
    "--debug", is_flag=True, envvar=DEBUG_ENV, help=f"Show the traceback of an unexpected error (or ${DEBUG_ENV}=1)."
)
def main(debug: bool) -> None:
    """Keep a Port software catalog in step with AWS."""
