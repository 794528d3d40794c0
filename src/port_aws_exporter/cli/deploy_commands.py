"""`port-aws-exporter package` and `iam-policy`: what a deployment of the SAM template needs."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from port_aws_exporter.aws.clients import config_s3_client
from port_aws_exporter.cli.output import fail, print_json, stderr_console
from port_aws_exporter.core.config import ConfigError, load_config
from port_aws_exporter.deploy.artifact import PackageBuildError, build_lambda_artifact
from port_aws_exporter.deploy.iam_policy import (
    DEFAULT_POLICY_NAME,
    AccountsPolicies,
    accounts_policies,
    build_read_policy,
    create_policy_command,
)
from port_aws_exporter.deploy.lambda_target import DEFAULT_LAMBDA_TARGET, LambdaTarget, UnsupportedTargetError
from port_aws_exporter.deploy.type_registry import CloudFormationTypeRegistry

_HOST = "host"
_MIB = 1024 * 1024


@click.command("package")
@click.option(
    "--arch",
    "architecture",
    type=click.Choice([*LambdaTarget.ARCHITECTURES, _HOST]),
    default=DEFAULT_LAMBDA_TARGET.architecture,
    show_default=True,
    help="Lambda architecture; 'host' is this machine's.",
)
@click.option(
    "--python",
    "python_version",
    default=DEFAULT_LAMBDA_TARGET.python_version,
    show_default=True,
    help="Python version of the Lambda runtime (3.N); 'host' is the running Python.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Artifact path [default: <project>/dist/port-aws-exporter-lambda-<arch>-py<version>.zip].",
)
@click.option(
    "--project",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Source tree to package [default: the one this command runs from].",
)
@click.option(
    "--constraint",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="pip constraints file, to pin the artifact's dependencies to tested versions.",
)
def package_command(
    *, architecture: str, python_version: str, output: Path | None, project: Path | None, constraint: Path | None
) -> None:
    """Build the Lambda artifact: the package and its runtime dependencies as wheels for the target.

    Defaults to the template's runtime (python3.12 on arm64). Not the local-stack or dev extras.
    Prints the artifact's path and size on the last line.
    """
    host = LambdaTarget.host() if _HOST in {architecture, python_version} else None
    try:
        target = LambdaTarget(
            host.architecture if host and architecture == _HOST else architecture,
            host.python_version if host and python_version == _HOST else python_version,
        )
    except UnsupportedTargetError as error:
        fail(escape(str(error)), exit_code=2)
    try:
        artifact = build_lambda_artifact(
            target,
            project_dir=project,
            output=output,
            constraint=constraint,
            progress=lambda line: stderr_console.print(escape(line), soft_wrap=True),
        )
    except PackageBuildError as error:
        fail(escape(str(error)))
    contents = artifact.contents
    stderr_console.print(
        f"{len(contents.distributions)} distributions for {target.runtime} on {target.architecture}, "
        f"{len(contents.native_libraries)} native libraries, {contents.unpacked_bytes / _MIB:.1f} MiB unpacked",
        soft_wrap=True,
    )
    click.echo(f"{artifact.path} {artifact.size_bytes} bytes ({artifact.size_bytes / _MIB:.1f} MiB)")


@click.command("iam-policy")
@click.option("--config", "config_source", metavar="FILE", help="config.json (a path or an s3://bucket/key URL).")
@click.option("--kind", "kinds", multiple=True, metavar="KIND", help="A kind to include (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print only the policy document.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the policy document here.")
@click.option("--policy-name", default=DEFAULT_POLICY_NAME, show_default=True, help="Name in the create command.")
@click.option("--region", help="Region whose CloudFormation registry describes unregistered kinds.")
@click.option("--offline", is_flag=True, help="Do not call CloudFormation DescribeType for unregistered kinds.")
@click.option(
    "--include-data-reads",
    is_flag=True,
    help="Also allow reads that return data (secret values, object contents) that handlers list.",
)
@click.option("--partition", default="aws", show_default=True, help="With accounts: the partition of role ARNs.")
def iam_policy_command(
    *,
    config_source: str | None,
    kinds: tuple[str, ...],
    as_json: bool,
    output: Path | None,
    policy_name: str,
    region: str | None,
    offline: bool,
    include_data_reads: bool,
    partition: str,
) -> None:
    """Print the least-privilege read policy for a config's kinds, then the `aws iam create-policy`
    command whose resulting ARN is the exporter stack's CustomIAMPolicyARN.

    With `accounts` in the config: the member accounts' read role's policy, and the home account's
    (its own reads when includeHome, the organisation's account list, sts:AssumeRole of the read
    role by name only); `--json` prints `{"memberRole": ..., "home": ...}`.

    Actions come from the kind registry, else CloudFormation DescribeType, else the kind is reported
    as unknown. Only reads go in: what was left out, and why, is printed on stderr.
    """
    if config_source is None and not kinds:
        fail("give --config FILE or at least one --kind", exit_code=2)
    wanted = list(kinds)
    registry = None if offline else CloudFormationTypeRegistry(region=region)
    if config_source is not None:
        try:
            config = load_config(config_source, s3_client=config_s3_client(config_source))
        except ConfigError as error:
            fail(escape(str(error)))
        if config.accounts is not None:
            if kinds:
                fail(
                    "--kind adds to a single account's policy; with accounts, put the kinds in the config", exit_code=2
                )
            _print_accounts_policies(
                accounts_policies(
                    config, partition=partition, type_registry=registry, include_data_reads=include_data_reads
                ),
                config.accounts.role_name,
                as_json,
                output,
            )
            return
        wanted = config.kinds() + wanted
    policy = build_read_policy(wanted, type_registry=registry, include_data_reads=include_data_reads)
    for line in policy.explanation():
        stderr_console.print(escape(line), soft_wrap=True, style="yellow" if _is_warning(line) else None)
    if not policy.allowed_actions:
        fail("no action to allow: every kind is unknown")
    if output is not None:
        output.write_text(json.dumps(policy.document, indent=2) + "\n")
        stderr_console.print(f"wrote the policy to {escape(str(output))}", soft_wrap=True)
    if as_json or output is None:
        print_json(policy.document)
    if as_json:
        return
    command = create_policy_command(
        policy_name, document=policy.document, file=str(output) if output is not None else None
    )
    if output is None:
        click.echo()
    click.echo("# Create the policy; the ARN it prints is the exporter stack's CustomIAMPolicyARN parameter:")
    click.echo(command)


def _print_accounts_policies(policies: AccountsPolicies, role_name: str, as_json: bool, output: Path | None) -> None:
    for line in policies.member_role.explanation():
        stderr_console.print(escape(line), soft_wrap=True, style="yellow" if _is_warning(line) else None)
    both = {"memberRole": policies.member_role.document, "home": policies.home}
    if output is not None:
        output.write_text(json.dumps(both, indent=2) + "\n")
        stderr_console.print(f"wrote both policies to {escape(str(output))}", soft_wrap=True)
    if as_json:
        print_json(both)
        return
    click.echo(f"# The member accounts' read role ({role_name}; deploy/member-role.yaml creates it, e.g. by StackSet):")
    print_json(policies.member_role.document)
    click.echo("# The home account, where the exporter runs (the stack's CustomIAMPolicyARN):")
    print_json(policies.home)


def _is_warning(line: str) -> bool:
    return line.startswith(("UNKNOWN", "left out")) or "OVER the limit" in line
