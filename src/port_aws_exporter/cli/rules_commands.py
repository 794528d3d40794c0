"""`port-aws-exporter rules …`: test, lint and generate EventBridge rules for the exporter."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from port_aws_exporter.aws.clients import config_s3_client
from port_aws_exporter.cli.inputs import read_json
from port_aws_exporter.cli.output import fail, print_json, stderr_console, stdout_console
from port_aws_exporter.core.config import ConfigError, ExporterConfig, load_config

_SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


@click.group("rules")
def rules_group() -> None:
    """Test, lint and generate the EventBridge rules that feed the exporter's queue."""


def _parameters(values: tuple[str, ...], option: str = "--param") -> dict[str, str]:
    parameters: dict[str, str] = {}
    for value in values:
        name, separator, text = value.partition("=")
        if not separator or not name:
            fail(f"{option} {value!r} is not NAME=VALUE")
        parameters[name] = text
    return parameters


def _config(source: str | None) -> ExporterConfig | None:
    if source is None:
        return None
    try:
        return load_config(source, s3_client=config_s3_client(source))
    except ConfigError as error:
        fail(str(error))


@rules_group.command("test")
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("event_file", metavar="EVENT.json", type=click.File("r"))
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A template parameter value.")
@click.option("--config", "config_source", help="config.json (a path or s3://bucket/key): which entries handle it.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per rule.")
def test_command(
    template: Path, event_file: Any, params: tuple[str, ...], config_source: str | None, as_json: bool
) -> None:
    """Run each rule of TEMPLATE on the event in EVENT.json (- for stdin).

    For each rule: whether it matches (else the first field that does not), the message its target
    receives (or why EventBridge drops it), and what the exporter makes of it: region, action,
    identifier, and the config entries that handle its resource_type. Exits 1 when a rule matches
    but the exporter could not use its message.
    """
    from port_aws_exporter.core.jq.worker import TimeLimitedJq
    from port_aws_exporter.rules.simulate import simulate_rules
    from port_aws_exporter.rules.template import RuleTemplateError, load_rule_template

    event = read_json(event_file)
    if not isinstance(event, dict):
        fail(f"{event_file.name} must hold one EventBridge event (a JSON object)")
    config = _config(config_source)
    try:
        rules = load_rule_template(template, _parameters(params), lenient=True)
    except RuleTemplateError as error:
        fail(str(error))
    for rule in rules:
        for warning in rule.warnings:
            stderr_console.print(f"[yellow]warning:[/] {escape(rule.name)}: {escape(warning)}", soft_wrap=True)
    with TimeLimitedJq() as evaluator:
        outcomes = simulate_rules(rules, event, evaluator=evaluator, config=config)
    if as_json:
        print_json([outcome.as_dict() for outcome in outcomes])
    else:
        for outcome in outcomes:
            _print_outcome(outcome.as_dict())
    if any(outcome.matched and outcome.error for outcome in outcomes):
        raise click.exceptions.Exit(1)


def _print_outcome(outcome: dict[str, Any]) -> None:
    name = escape(outcome["rule"])
    if not outcome["matched"]:
        reason = outcome["error"] or f"field {outcome['failed_field']} does not match"
        stdout_console.print(f"[dim]{name}: no match ({escape(reason)})[/]", soft_wrap=True)
        return
    stdout_console.print(f"[bold]{name}[/]: matches", soft_wrap=True)
    if outcome["message"] is not None:
        shown = outcome["message"] if isinstance(outcome["message"], str) else json.dumps(outcome["message"], indent=2)
        stdout_console.print(escape(shown), soft_wrap=True)
    if outcome["error"]:
        stdout_console.print(f"  [red]error:[/] {escape(outcome['error'])}", soft_wrap=True)
        return
    if outcome.get("ignored"):
        stdout_console.print(f"  -> ignored by the exporter: {escape(outcome['ignored'])}", soft_wrap=True)
        return
    what = f"{outcome['kind']} " if outcome.get("raw") else ""
    account = f" of account {outcome['account']}" if outcome.get("account") else ""
    handled = outcome["handled_by"]
    entries = (
        "" if handled is None else f", handled by resources{handled}" if handled else ", handled by no config entry"
    )
    stdout_console.print(
        f"  -> {outcome['action']} {escape(what)}{escape(outcome['identifier'])} in {escape(outcome['region'])}"
        f"{escape(account)}{escape(entries)}",
        soft_wrap=True,
    )


def _generate_raw(
    config: ExporterConfig,
    layout: str,
    output_format: str,
    stack_name_parameter: str,
    stack_name: str,
    output: Path | None,
) -> None:
    from port_aws_exporter.rules.generate import generate_raw_rules
    from port_aws_exporter.rules.rule_output import render_raw_cloudformation

    if output_format != "cloudformation":
        fail("--raw writes CloudFormation only (deploy the member template with a StackSet)")
    rules, unknown = generate_raw_rules(config)
    for kind in unknown:
        stderr_console.print(
            f"[yellow]warning:[/] {escape(kind)} is not in the raw rule: the kind registry has no CloudTrail facts "
            "for it",
            soft_wrap=True,
        )
    if not rules:
        fail("no kind of the config is known to the registry: no rule to generate")
    try:
        text = render_raw_cloudformation(
            rules, layout, stack_name_parameter=stack_name_parameter, stack_name=stack_name
        )
    except ValueError as error:
        fail(str(error))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        stderr_console.print(f"{len(rules)} raw rule(s) ({layout}) written to {escape(str(output))}")


@rules_group.command("lint")
@click.argument("templates", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A template parameter value.")
@click.option("--config", "config_source", help="config.json: also check that an entry handles each resource_type.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
def lint_command(
    templates: tuple[Path, ...], params: tuple[str, ...], config_source: str | None, as_json: bool
) -> None:
    """Check the rules of each TEMPLATE on sample events of every API call their patterns admit.

    Errors: jq that fails, placeholders read as jq code, identifiers that render empty, actions
    other than upsert or delete, messages EventBridge drops, templates CloudFormation refuses.
    Warnings: prefixes that admit other operations (and what the rule does with them), wrong
    actions or identifiers, failed calls admitted, kinds no config entry handles. Exits 1 on errors.
    """
    from port_aws_exporter.core.jq.worker import TimeLimitedJq
    from port_aws_exporter.rules.lint import LintFinding, lint_template

    config = _config(config_source)
    parameters = _parameters(params)
    findings: list[LintFinding] = []
    checked = 0
    with TimeLimitedJq() as evaluator:
        for template in templates:
            report = lint_template(template, evaluator=evaluator, parameters=parameters, config=config)
            findings.extend(report.findings)
            checked += report.rules
    errors = sum(finding.severity == "error" for finding in findings)
    if as_json:
        print_json([finding.as_dict() for finding in findings])
    else:
        for finding in findings:
            colour = _SEVERITY_COLOURS[finding.severity]
            where = " ".join(part for part in (finding.rule, finding.field) if part)
            event = f" [{finding.event_name}]" if finding.event_name else ""
            stdout_console.print(
                f"{escape(finding.source)}: [{colour}]{finding.severity}[/] {escape(where)}{escape(event)} "
                f"({finding.code}): {escape(finding.message)}",
                soft_wrap=True,
            )
        warnings = sum(finding.severity == "warning" for finding in findings)
        stderr_console.print(f"{checked} rule(s) checked: {errors} error(s), {warnings} warning(s)")
    if errors:
        raise click.exceptions.Exit(1)


@rules_group.command("generate")
@click.option("--config", "config_source", required=True, help="config.json: a path or s3://bucket/key.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["cloudformation", "terraform"]),
    default="cloudformation",
    show_default=True,
)
@click.option(
    "--stack-name-parameter",
    default="PortAWSExporterStackName",
    show_default=True,
    help="The template parameter (Terraform: variable) naming the exporter stack whose EventsQueueARN is imported.",
)
@click.option(
    "--stack-name",
    default="serverlessrepo-port-aws-exporter",
    show_default=True,
    help="That parameter's default value.",
)
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
@click.option(
    "--raw",
    "raw_layout",
    is_flag=False,
    flag_value="queue",
    default=None,
    type=click.Choice(["queue", "central", "member"]),
    help="Whole events, every kind in one rule, no InputTransformer: 'queue' (this account to the queue, "
    "the default), 'central' (also admit the organisation's forwarded events), 'member' (StackSet-ready: "
    "forward to the central account's bus). CloudFormation only.",
)
def generate_command(
    config_source: str,
    output_format: str,
    stack_name_parameter: str,
    stack_name: str,
    output: Path | None,
    raw_layout: str | None,
) -> None:
    """Generate one EventBridge rule per kind of the config, from the kind registry.

    Each rule matches the kind's exact CloudTrail event names (and its native lifecycle event where
    it has one), drops failed calls, and sends the exporter a message whose jq handles every
    create, update, tag and delete. Kinds the registry has no CloudTrail facts for are listed on
    stderr, never guessed.
    """
    from port_aws_exporter.rules.generate import generate_rules
    from port_aws_exporter.rules.rule_output import render_cloudformation, render_terraform

    config = _config(config_source)
    assert config is not None
    if raw_layout is not None:
        _generate_raw(config, raw_layout, output_format, stack_name_parameter, stack_name, output)
        return
    generated = generate_rules(config)
    for kind in generated.unknown_kinds:
        stderr_console.print(
            f"[yellow]warning:[/] no rule for {escape(kind)}: the kind registry has no CloudTrail facts for it",
            soft_wrap=True,
        )
    for note in generated.notes:
        stderr_console.print(f"[yellow]warning:[/] {escape(note)}", soft_wrap=True)
    if not generated.rules:
        fail("no kind of the config is known to the registry: no rule to generate")
    try:
        if output_format == "terraform":
            # PortAWSExporterStackName -> port_aws_exporter_stack_name
            variable = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", stack_name_parameter).lower()
            text = render_terraform(generated.rules, stack_name_variable=variable, stack_name=stack_name)
        else:
            text = render_cloudformation(
                generated.rules, stack_name_parameter=stack_name_parameter, stack_name=stack_name
            )
    except ValueError as error:
        fail(str(error))
    for rule in generated.rules:
        if rule.global_service:
            stderr_console.print(
                f"note: {escape(rule.name)} ({escape(rule.kind)}) is for a global service: its events reach "
                "EventBridge only in us-east-1, so deploy it there",
                soft_wrap=True,
            )
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        stderr_console.print(f"{len(generated.rules)} rule(s) written to {escape(str(output))}")


@rules_group.command("sample-event")
@click.argument("kind")
@click.argument("event_name", metavar="EVENTNAME")
@click.option("--region", default="eu-west-1", show_default=True, help="The region of the call.")
@click.option("--account", "account_id", default="123456789012", show_default=True, help="The account of the call.")
@click.option(
    "--set",
    "values",
    multiple=True,
    metavar="PROPERTY=VALUE",
    help="A property of the resource, as CloudFormation names it (FunctionName=orders); the others follow.",
)
@click.option("--error-code", help="Make it a failed call (AccessDenied…): what a rule should drop.")
def sample_event_command(
    kind: str, event_name: str, region: str, account_id: str, values: tuple[str, ...], error_code: str | None
) -> None:
    """Print the event EventBridge delivers when CloudTrail records EVENTNAME on a resource of KIND.

    EVENTNAME as CloudTrail names it (CreateFunction20150331), or the bare operation (CreateFunction)
    for the name the kind registry knows. The resource's properties take plausible defaults
    (port-sample-function…) unless given with --set. Stdout is the event alone, ready for
    `rules test TEMPLATE -` or `event` after a rule; stderr says what the exporter makes of it.
    """
    from port_aws_exporter.core.kinds.cloudtrail import base_operation_name
    from port_aws_exporter.core.kinds.registry import KINDS
    from port_aws_exporter.rules.samples import sample_case

    spec = KINDS.get(kind)
    facts = spec.cloudtrail if spec is not None else None
    if facts is None:
        known = sorted(name for name, candidate in KINDS.items() if candidate.cloudtrail is not None)
        fail(f"the kind registry knows no CloudTrail events of {kind}; it knows those of: {', '.join(known)}")
    name = next((known for known in facts.event_names if base_operation_name(known) == event_name), event_name)
    if name not in facts.event_names:
        fail(
            f"{event_name} is not an event of {kind} the registry knows ({facts.event_source}): "
            f"{', '.join(facts.event_names)}"
        )
    try:
        case = sample_case(
            kind,
            name,
            identifier_values=_parameters(values, "--set") or None,
            region=region,
            account_id=account_id,
            error_code=error_code,
        )
    except ValueError as error:
        fail(f"cannot build a sample of {name} on {kind}: {error}")
    print_json(case.event)
    outcome = "nothing (a failed call)" if error_code else f"{case.action} of {', '.join(sorted(case.identifiers))}"
    stderr_console.print(f"{escape(name)} on {escape(kind)}: the exporter makes {escape(outcome)}", soft_wrap=True)
