"""Generated rules, end to end: every event name of every kind -> `rules test` -> the right action and
identifier; the CloudFormation passes cfn-lint and reads back; the Terraform parses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.eventbridge.pattern import compile_pattern
from port_aws_exporter.rules.generate import GeneratedRule, generate_rules, rule_for_kind
from port_aws_exporter.rules.rule_output import render_cloudformation, render_terraform
from port_aws_exporter.rules.samples import SampleCase, native_sample_case, sample_case
from port_aws_exporter.rules.simulate import simulate_rule
from port_aws_exporter.rules.template import EventRule, load_rule_template

KNOWN_KINDS = sorted(kind for kind, spec in KINDS.items() if spec.cloudtrail is not None)
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:port-aws-exporter-events"
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "config.json"


@pytest.fixture(scope="module")
def generated() -> list[GeneratedRule]:
    result = generate_rules(KNOWN_KINDS)
    assert result.unknown_kinds == []
    return result.rules


@pytest.fixture(scope="module")
def template_text(generated: list[GeneratedRule]) -> str:
    return render_cloudformation(generated)


@pytest.fixture(scope="module")
def loaded(template_text: str) -> dict[str, EventRule]:
    rules = load_rule_template(template_text, imports={"serverlessrepo-port-aws-exporter-EventsQueueARN": QUEUE_ARN})
    return {rule.name: rule for rule in rules}


def cases_of(rule: GeneratedRule, **values: Any) -> list[SampleCase]:
    cases = [sample_case(rule.kind, name, **values) for name in rule.event_names]
    if rule.native_detail_type is not None:
        cases += [native_sample_case(rule.kind, **values), native_sample_case(rule.kind, deleted=True, **values)]
    return cases


@pytest.mark.parametrize("kind", KNOWN_KINDS)
def test_round_trip_every_event_name(
    kind: str, generated: list[GeneratedRule], loaded: dict[str, EventRule], jq_evaluator: TimeLimitedJq
) -> None:
    """A sample event of each name -> the deployed rule (read back from the template) -> the message
    -> the exporter's evaluation: the action the event means, the identifier of the resource."""
    rule = next(rule for rule in generated if rule.kind == kind)
    for case in cases_of(rule):
        [outcome] = simulate_rule(loaded[rule.name], case.event, evaluator=jq_evaluator)
        assert outcome.matched, (case.event_name, outcome.failed_field)
        assert outcome.error is None, (case.event_name, outcome.error)
        assert outcome.action == case.action, case.event_name
        assert outcome.identifier in case.identifiers, (case.event_name, outcome.identifier, case.identifiers)
        assert outcome.region == "eu-west-1"


@pytest.mark.parametrize(
    ("kind", "values", "event_name", "identifier"),
    [
        ("AWS::ECR::Repository", {"RepositoryName": "team/api"}, "TagResource", "team/api"),
        ("AWS::Lambda::Function", {"FunctionName": "orders"}, "TagResource20170331v2", "orders"),
        ("AWS::SQS::Queue", {"QueueName": "jobs"}, "DeleteQueue", "jobs"),
        ("AWS::ECS::Service", {"ServiceName": "web", "ClusterName": "prod"}, "DeleteService", "web"),
        ("AWS::Events::Rule", {"EventBusName": "orders"}, "EnableRule", None),
        ("AWS::Route53::HostedZone", {"Id": "Z9"}, "CreateHostedZone", "Z9"),
    ],
)
def test_real_values_go_through(
    kind: str,
    values: dict[str, str],
    event_name: str,
    identifier: str | None,
    *,
    loaded: dict[str, EventRule],
    jq_evaluator: TimeLimitedJq,
) -> None:
    rule = rule_for_kind(kind)
    case = sample_case(kind, event_name, identifier_values=values, region="ap-south-1", account_id="999999999999")
    [outcome] = simulate_rule(loaded[rule.name], case.event, evaluator=jq_evaluator)
    assert outcome.identifier in case.identifiers
    assert outcome.region == "ap-south-1"
    if identifier is not None:
        assert outcome.identifier == identifier
    else:
        assert outcome.identifier == "arn:aws:events:ap-south-1:999999999999:rule/orders/port-sample-rule"


def test_failed_calls_and_other_operations_are_not_admitted(loaded: dict[str, EventRule]) -> None:
    rule = loaded[rule_for_kind("AWS::Lambda::Function").name]
    failed = sample_case("AWS::Lambda::Function", "CreateFunction20150331", error_code="AccessDenied")
    assert rule.compiled_pattern().match(failed.event).failed_field == "detail.errorCode"
    concurrency = sample_case("AWS::Lambda::Function", "DeleteFunctionEventInvokeConfig20190925")
    assert not rule.compiled_pattern().match(concurrency.event).matched


def test_shared_calls_on_other_resource_types_are_not_admitted(loaded: dict[str, EventRule]) -> None:
    rule = loaded[rule_for_kind("AWS::ECS::Service").name]
    on_a_task = sample_case(
        "AWS::ECS::Service",
        "TagResource",
        identifier_values={"ServiceArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123"},
    )
    assert not rule.compiled_pattern().match(on_a_task.event).matched
    classic = sample_case("AWS::ElasticLoadBalancingV2::LoadBalancer", "CreateLoadBalancer")
    classic.event["detail"]["apiVersion"] = "2012-06-01"
    assert not loaded[rule_for_kind(classic.kind or "").name].compiled_pattern().match(classic.event).matched


def test_patterns_are_exact_and_valid(generated: list[GeneratedRule]) -> None:
    for rule in generated:
        pattern = compile_pattern(rule.event_pattern)
        assert pattern.warnings == (), rule.kind
        names = [name for matchers in _values_of("eventName", rule.event_pattern) for name in matchers]
        assert names and all(isinstance(name, str) for name in names), rule.kind  # exact names only
        assert sorted(set(names)) == sorted(rule.event_names), rule.kind
        assert '"errorCode": [{"exists": false}]' in json.dumps(rule.event_pattern), rule.kind
        assert len(rule.name) <= 64


def _values_of(key: str, node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [value for k, value in node.items() if k == key] + [
            found for value in node.values() for found in _values_of(key, value)
        ]
    if isinstance(node, list):
        return [found for value in node for found in _values_of(key, value)]
    return []


def test_messages_use_the_same_jq_for_every_event(generated: list[GeneratedRule]) -> None:
    """The jq fields read copied event values, so their text is constant and compiled once."""
    for rule in generated:
        message = json.loads(rule.input_template)
        for field in ("region", "identifier", "action"):
            assert "<" not in message[field], (rule.kind, field)
        assert set(rule.input_paths_map) == {key for key in message if message[key] == f"<{key}>"}


def test_global_services_are_marked(generated: list[GeneratedRule], template_text: str) -> None:
    marked = {rule.kind for rule in generated if rule.global_service}
    assert marked == {"AWS::IAM::Role", "AWS::CloudFront::Distribution", "AWS::Route53::HostedZone"}
    assert template_text.count("deployRegion: us-east-1") == 3
    assert all("only in us-east-1" in rule.description for rule in generated if rule.global_service)


def test_unknown_kinds_are_listed_not_guessed() -> None:
    result = generate_rules(["AWS::Glue::Job", "AWS::SQS::Queue", "AWS::SQS::Queue"])
    assert [rule.kind for rule in result.rules] == ["AWS::SQS::Queue"]
    assert result.unknown_kinds == ["AWS::Glue::Job"]
    with pytest.raises(KeyError, match="no CloudTrail facts"):
        rule_for_kind("AWS::Glue::Job")


def test_config_notes_about_entity_identifiers() -> None:
    config = load_config(EXAMPLE_CONFIG)
    result = generate_rules(config)
    assert [rule.kind for rule in result.rules] == config.kinds()
    assert result.notes == []  # the examples' identifiers are what delete messages carry
    computed = load_config(
        {
            "resources": [
                {
                    "kind": "AWS::Lambda::Function",
                    "port": {
                        "entity": {
                            "mappings": [
                                {"identifier": ".item", "blueprint": "layer", "itemsToParse": ".Layers"},
                                {"identifier": ".FunctionName | ascii_downcase", "blueprint": "fn"},
                            ]
                        }
                    },
                }
            ]
        }
    )
    [note] = generate_rules(computed).notes
    assert "mappings[1].identifier" in note and "not a plain property" in note
    mismatch = load_config(
        {
            "resources": [
                {
                    "kind": "AWS::SQS::Queue",
                    "port": {"entity": {"mappings": [{"identifier": ".QueueUrl", "blueprint": '"sqs"'}]}},
                }
            ]
        }
    )
    [note] = generate_rules(mismatch).notes
    assert "carry the QueueName" in note and "resources[0].port.entity.mappings[0].identifier" in note


def test_cloudformation_template_reads_back(generated: list[GeneratedRule], loaded: dict[str, EventRule]) -> None:
    for rule in generated:
        read = loaded[rule.name]
        assert read.event_pattern == rule.event_pattern
        assert (read.state, read.event_bus_name, read.warnings) == ("ENABLED", "default", [])
        [target] = read.targets
        assert (target.id, target.arn) == ("PortAWSExporterEventsQueue", QUEUE_ARN)
        assert target.input_transformer is not None
        assert target.input_transformer.input_paths_map == rule.input_paths_map
        assert target.input_transformer.input_template == rule.input_template


def test_cloudformation_passes_cfn_lint(template_text: str, tmp_path: Path) -> None:
    custom = render_cloudformation(generate_rules(["AWS::SQS::Queue"]).rules, stack_name_parameter="ExporterStack")
    paths = [tmp_path / "all.yaml", tmp_path / "custom.yaml"]
    paths[0].write_text(template_text)
    paths[1].write_text(custom)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "${ExporterStack}-EventsQueueARN" in custom


def test_terraform_parses_with_the_same_rules(generated: list[GeneratedRule]) -> None:
    text = render_terraform(generated, stack_name="my-exporter")
    document = hcl2.loads(text)
    variable = document["variable"][0]['"port_aws_exporter_stack_name"']
    assert variable["default"] == '"my-exporter"'
    rules: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    for block in document["resource"]:
        for resource_type, named in block.items():
            for name, body in named.items():
                (rules if "event_rule" in resource_type else targets)[name.strip('"')] = body
    assert len(rules) == len(targets) == len(generated)
    for rule in generated:
        name = rule.name.removeprefix("port-aws-exporter-sync-").replace("-", "_")
        assert json.loads(_heredoc_text(rules[name]["event_pattern"])) == rule.event_pattern
        [transformer] = targets[name]["input_transformer"]
        assert _heredoc_text(transformer["input_template"]).rstrip("\n") == rule.input_template
        assert {key.strip('"'): path.strip('"') for key, path in transformer["input_paths"].items()} == (
            rule.input_paths_map
        )


def _heredoc_text(value: str) -> str:
    body = value[1:-1] if value.startswith('"<<') else value  # python-hcl2 keeps the heredoc quoted, raw
    start = body.index("\n") + 1
    return body[start : body.rindex("\n")].replace("$${", "${").replace("%%{", "%{")


def test_invalid_names_are_refused(generated: list[GeneratedRule]) -> None:
    with pytest.raises(ValueError, match="parameter name"):
        render_cloudformation(generated, stack_name_parameter="not-valid")
    with pytest.raises(ValueError, match="variable name"):
        render_terraform(generated, stack_name_variable="1x")


def test_the_examples_rules_are_what_generate_makes_of_the_examples_config() -> None:
    """examples/rules.yaml and rules.tf are generated; when the registry or the config changes, regenerate them:
    `port-aws-exporter rules generate --config examples/config.json --output examples/rules.yaml`
    (and `--format terraform --output examples/rules.tf`)."""

    examples = EXAMPLE_CONFIG.parent
    generated = generate_rules(load_config(EXAMPLE_CONFIG))
    assert (examples / "rules.yaml").read_text() == render_cloudformation(generated.rules)
    assert (examples / "rules.tf").read_text() == render_terraform(generated.rules)
