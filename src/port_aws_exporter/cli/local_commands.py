"""`port-aws-exporter local ...`: the local stack's commands (local AWS endpoint, demo world, rules
deployed into its EventBridge, changes that emit CloudTrail events)."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from port_aws_exporter.cli.output import fail, print_json, stdout_console

DEFAULT_REGIONS = "us-east-1,eu-west-1"
_ENDPOINT_HELP = "The local endpoint (default: $AWS_ENDPOINT_URL)."
_REGION_HELP = "Region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)."


def _endpoint(endpoint_url: str | None) -> str:
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise click.UsageError(
            "no endpoint: pass --endpoint-url URL or set AWS_ENDPOINT_URL "
            "(start one with `port-aws-exporter local aws`)"
        )
    return endpoint


def _region(region: str | None) -> str:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _unreachable(endpoint: str, error: Exception) -> str:
    return f"cannot reach the local endpoint at {endpoint}: {error} (is `port-aws-exporter local aws` running?)"


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
@click.option(
    "--accounts",
    "members",
    type=click.IntRange(0, 26),
    default=None,
    help="With --seed: an organisation with N member accounts, every account seeded.",
)
@click.option("--log-requests", is_flag=True, help="Log every request on stderr.")
def aws_command(
    host: str, port: int, seed: bool, resources: int | None, regions: str, members: int | None, log_requests: bool
) -> None:
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
        if seed and members is not None:
            from port_aws_exporter.local.aws import seed_organization, seed_organization_worlds

            organization = seed_organization(aws.url, members=members)
            seed_organization_worlds(aws.url, organization, regions=_regions(regions), resources=resources)
            click.echo(f"Seeded an organisation of {members + 1} accounts: {organization.count()} resources.", err=True)
        elif seed:
            summary = seed_demo_world(aws.url, resources=resources, regions=_regions(regions))
            click.echo(
                f"Seeded the demo world: {summary.count()} resources in {', '.join(summary.regions)}.",
                err=True,
            )
        stop.wait()
    click.echo("Local AWS endpoint stopped.", err=True)


@local_group.command("seed")
@click.option("--resources", type=click.IntRange(min=0), default=None, help="At least N resources (in each account).")
@click.option("--regions", default=DEFAULT_REGIONS, show_default=True, help="Comma-separated regions.")
@click.option(
    "--accounts",
    "members",
    type=click.IntRange(0, 26),
    default=None,
    help="Create an organisation with N member accounts (each with the read role) and seed every account.",
)
@click.option(
    "--role-name", default=None, help="With --accounts: the read role's name (default PortAwsExporterReadRole)."
)
@click.option(
    "--external-id", default=None, help="With --accounts: the external id the read role's trust policy requires."
)
@click.option("--endpoint-url", default=None, help=_ENDPOINT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the full summary as JSON.")
def seed_command(
    resources: int | None,
    regions: str,
    members: int | None,
    role_name: str | None,
    external_id: str | None,
    endpoint_url: str | None,
    as_json: bool,
) -> None:
    """Create the demo world in a running local AWS endpoint; with --accounts N, an organisation
    of the endpoint's default account (its management account) and N members, and the demo world in
    every account (members' names start with the account's name, team-a, team-b…)."""
    from port_aws_exporter.local.aws import seed_demo_world
    from port_aws_exporter.local.aws.demo_world import SeedError

    endpoint = _endpoint(endpoint_url)
    if members is not None:
        _seed_organization(endpoint, members, _regions(regions), resources, role_name, external_id, as_json)
        return
    try:
        summary = seed_demo_world(endpoint, resources=resources, regions=_regions(regions))
    except SeedError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        print_json(summary.to_dict())
        return
    _print_summary(summary.to_dict())


def _seed_organization(
    endpoint: str,
    members: int,
    regions: list[str],
    resources: int | None,
    role_name: str | None,
    external_id: str | None,
    as_json: bool,
) -> None:
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.table import Table

    from port_aws_exporter.core.config import DEFAULT_ROLE_NAME
    from port_aws_exporter.local.aws import seed_organization, seed_organization_worlds
    from port_aws_exporter.local.aws.demo_world import SeedError

    try:
        organization = seed_organization(
            endpoint, members=members, role_name=role_name or DEFAULT_ROLE_NAME, external_id=external_id
        )
        seed_organization_worlds(endpoint, organization, regions=regions, resources=resources)
    except (SeedError, ClientError, BotoCoreError) as error:
        raise click.ClickException(f"seeding the organisation failed: {error}") from error
    if as_json:
        print_json(organization.to_dict())
        return
    table = Table(
        "account", "name", "organisational unit", "resources", title=f"Organisation {organization.organization_id}"
    )
    table.add_row(
        organization.management_account_id,
        "management (home)",
        "Root",
        str(organization.worlds[organization.management_account_id].count()),
    )
    for member in organization.members:
        table.add_row(member.account_id, member.name, member.unit, str(organization.worlds[member.account_id].count()))
    stdout_console.print(table)
    stdout_console.print(
        f"Each member has the role {organization.role_name}, trusted by {organization.management_account_id}. "
        'Sync them all with "accounts": {"organization": {}} in config.json.',
        soft_wrap=True,
    )


def _print_summary(summary: dict[str, object]) -> None:
    from rich.table import Table

    counts = summary["counts"]
    assert isinstance(counts, dict)
    table = Table(title=f"Demo world at {summary['endpoint_url']} ({', '.join(summary['regions'])})")  # type: ignore[arg-type]
    table.add_column("Kind")
    table.add_column("Resources", justify="right")
    for kind, count in counts.items():
        table.add_row(kind, str(count))
    table.add_row("total", str(summary["total"]), style="bold")
    stdout_console.print(table)
    already = summary.get("already_seeded")
    if isinstance(already, list) and already:
        stdout_console.print(
            f"Already seeded before in {', '.join(already)}: nothing new was created there.", soft_wrap=True
        )


def _parameters(values: tuple[str, ...]) -> dict[str, str]:
    parameters = {}
    for value in values:
        name, separator, text = value.partition("=")
        if not separator or not name:
            raise click.BadParameter(f"{value!r} is not K=V", param_hint="--param")
        parameters[name] = text
    return parameters


@local_group.command("deploy-rules")
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queue", "queue_name", required=True, help="The local SQS queue the rules feed (created if missing).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A template parameter value (repeatable).")
@click.option("--endpoint-url", default=None, help=_ENDPOINT_HELP)
@click.option("--region", default=None, help=_REGION_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print what was deployed as JSON.")
def deploy_rules_command(
    template: Path,
    queue_name: str,
    params: tuple[str, ...],
    endpoint_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Deploy the EventBridge rules of a CloudFormation rule TEMPLATE into the local endpoint.

    Imports of the exporter stack's `...-EventsQueueARN` export resolve to the local queue --queue,
    so Port's rule templates and `rules generate` output deploy unchanged.
    """
    from botocore.exceptions import BotoCoreError

    from port_aws_exporter.local.aws.rule_deployment import RuleDeploymentError, deploy_rule_template
    from port_aws_exporter.rules.template import RuleTemplateError

    parameters = _parameters(params)
    endpoint = _endpoint(endpoint_url)
    try:
        deployed = deploy_rule_template(endpoint, template, queue_name, parameters=parameters, region=_region(region))
    except (RuleTemplateError, RuleDeploymentError) as error:
        fail(str(error))
    except BotoCoreError as error:
        fail(_unreachable(endpoint, error))
    if as_json:
        print_json(deployed.to_dict())
        return
    _print_deployed(deployed.to_dict())


def _print_deployed(deployed: dict[str, Any]) -> None:
    rules = deployed["rules"]
    stdout_console.print(
        f"Deployed {len(rules)} rule(s) from {deployed['template']} into the local EventBridge "
        f"({deployed['region']}), feeding queue {deployed['queue_name']}:",
        soft_wrap=True,
    )
    for rule in rules:
        targets = ", ".join(rule["targets"]) or "no targets"
        stdout_console.print(
            f"  {rule['name']}  {rule['state']}  bus {rule['event_bus_name']}  -> {targets}", soft_wrap=True
        )
        for warning in rule["warnings"]:
            stdout_console.print(f"    [yellow]warning:[/] {warning}", soft_wrap=True)
    stdout_console.print(f"Queue URL: {deployed['queue_url']}", soft_wrap=True)


@local_group.command("change")
@click.argument("kind")
@click.argument("action", type=click.Choice(["create", "update", "tag", "delete"]))
@click.argument("name")
@click.option("--region", default=None, help=_REGION_HELP)
@click.option("--endpoint-url", default=None, help=_ENDPOINT_HELP)
@click.option(
    "--account",
    "account_id",
    default=None,
    help="A member account of the local organisation to change it in (default: the endpoint's own account).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the change and the events put as JSON.")
def change_command(
    kind: str,
    action: str,
    name: str,
    region: str | None,
    endpoint_url: str | None,
    account_id: str | None,
    as_json: bool,
) -> None:
    """Make a change to the resource NAME of KIND in the local endpoint and put the CloudTrail
    events AWS would emit for it (EC2: also its state-change notifications).

    KIND is a kind (AWS::SQS::Queue) or a short name (sqs, lambda, sns, s3, dynamodb, ecs-cluster,
    ecs-service, ecr, ec2, iam). ACTION is create, update (one visible setting), tag (sets the
    tag local-change) or delete. An ECS service is CLUSTER/SERVICE, an EC2 instance its id or Name tag.
    With --account, the change is made in that member account and its events are put on that
    account's default bus (whose rules may forward them to the exporter's account).
    """
    from botocore.exceptions import BotoCoreError

    from port_aws_exporter.local.aws.changes import ChangeError, make_change

    endpoint = _endpoint(endpoint_url)
    try:
        if account_id is not None and not re.fullmatch(r"\d{12}", account_id):
            fail(f"--account must be a 12-digit AWS account id, not {account_id!r}")
        result = make_change(endpoint, kind, action, name, region=_region(region), account_id=account_id)
    except ChangeError as error:
        if error.result is not None:
            events = ", ".join(_event_label(event) for event in error.result.events)
            fail(f"{error} (CloudTrail records the failed call: put {events})")
        fail(str(error))
    except BotoCoreError as error:
        fail(_unreachable(endpoint, error))
    if as_json:
        print_json(result.to_dict())
        return
    stdout_console.print(
        f"{action}: {result.kind} {name} in {result.region} of account {result.account_id} "
        f"(identifier {result.identifier})"
    )
    for event in result.events:
        stdout_console.print(f"  event {event['id']}: {event['source']} {_event_label(event)}", soft_wrap=True)


def _event_label(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    name = detail.get("eventName") if isinstance(detail, dict) else None
    if name is None:
        return str(event.get("detail-type"))
    error = detail.get("errorCode")
    return f"{name} ({error})" if error else str(name)
