"""`rules test`, `rules lint` and `rules generate`, as a user runs them (and `simulate_rules` below them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.rules.generate import rule_name_for
from port_aws_exporter.rules.samples import sample_event
from port_aws_exporter.rules.simulate import simulate_rules
from port_aws_exporter.rules.template import load_rule_template

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "config.json"
SEED = "docs-event-based-updates.lambda.rule.yaml"
KEYS = [
    "rule",
    "matched",
    "failed_field",
    "delivered",
    "message",
    "region",
    "action",
    "identifier",
    "handled_by",
    "error",
]


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_event(tmp_path: Path, event: dict[str, Any]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


class TestRulesTest:
    def test_seed_rule_on_a_delete_json(self, tmp_path: Path, shared_data: Path) -> None:
        event = sample_event("AWS::Lambda::Function", "DeleteFunction20150331", identifier_values={"FunctionName": "f"})
        result = run(
            "rules",
            "test",
            str(shared_data / "port-examples" / SEED),
            write_event(tmp_path, event),
            "--config",
            str(EXAMPLE_CONFIG),
            "--json",
        )
        assert result.exit_code == 0, result.output
        [outcome] = json.loads(result.stdout)
        assert list(outcome) == KEYS
        assert outcome["matched"] and outcome["delivered"] and outcome["error"] is None
        assert (outcome["region"], outcome["action"], outcome["identifier"]) == ("eu-west-1", "delete", "f")
        assert outcome["handled_by"] == [2]  # examples/config.json: the Lambda entry
        assert outcome["message"]["requestFunctionName"] == "f"
        assert outcome["message"]["responseFunctionName"] == ""

    def test_no_match_names_the_field_and_params_are_used(self, tmp_path: Path, shared_data: Path) -> None:
        event = sample_event("AWS::SQS::Queue", "CreateQueue")
        result = run(
            "rules",
            "test",
            str(shared_data / "port-examples" / SEED),
            write_event(tmp_path, event),
            "--param",
            "PortAWSExporterStackName=other-stack",
            "--json",
        )
        assert result.exit_code == 0, result.output
        [outcome] = json.loads(result.stdout)
        assert (outcome["matched"], outcome["failed_field"], outcome["handled_by"]) == (False, "source", None)

    def test_unusable_message_exits_1(self, tmp_path: Path, shared_data: Path) -> None:
        event = sample_event("AWS::EKS::Cluster", "CreateCluster")
        result = run(
            "rules", "test", str(shared_data / "port-examples" / "eks.rule.yaml"), write_event(tmp_path, event)
        )
        assert result.exit_code == 1
        assert "region: jq `eu-west-1` failed" in result.stdout

    def test_human_output(self, tmp_path: Path, shared_data: Path) -> None:
        event = sample_event("AWS::SQS::Queue", "DeleteQueue", identifier_values={"QueueName": "jobs"})
        result = run(
            "rules", "test", str(shared_data / "port-examples" / "sns-sqs.rule.yaml"), write_event(tmp_path, event)
        )
        assert result.exit_code == 0, result.output
        assert "port-aws-exporter-sync-sns-trails: no match (field source does not match)" in result.stdout
        assert "-> delete jobs in eu-west-1" in result.stdout

    def test_bad_inputs(self, tmp_path: Path, shared_data: Path) -> None:
        template = str(shared_data / "port-examples" / SEED)
        (tmp_path / "bad.json").write_text("{nope")
        assert "is not JSON" in run("rules", "test", template, str(tmp_path / "bad.json")).stderr
        event = write_event(tmp_path, {"detail": {}})
        assert "is not NAME=VALUE" in run("rules", "test", template, event, "--param", "x").stderr


def test_simulate_rules_reports_what_the_chain_reached(shared_data: Path, jq_evaluator: TimeLimitedJq) -> None:
    rules = load_rule_template(shared_data / "port-examples" / "sns-sqs.rule.yaml", lenient=True)
    event = sample_event("AWS::SNS::Topic", "Unsubscribe")
    config = load_config(EXAMPLE_CONFIG)
    sns, sqs = simulate_rules(rules, event, evaluator=jq_evaluator, config=config)
    assert sns.target == "PortAWSExporterEventsQueue"
    assert (sns.action, sns.identifier) == ("upsert", "arn:aws:sns:eu-west-1:123456789012:port-sample-topic")
    assert sns.handled_by == [1]
    assert (sqs.matched, sqs.failed_field) == (False, "source")


class TestRulesLint:
    def test_json_findings_and_exit_code(self, shared_data: Path) -> None:
        result = run("rules", "lint", str(shared_data / "port-examples" / "eks.rule.yaml"), "--json")
        assert result.exit_code == 1
        findings = json.loads(result.stdout)
        assert {(f["field"], f["severity"], f["code"]) for f in findings} == {
            ("region", "error", "unquoted-placeholder"),
            ("identifier", "error", "unquoted-placeholder"),
            ("EventPattern.detail.errorCode", "warning", "failed-calls"),
        }

    def test_warnings_only_exit_0(self, shared_data: Path) -> None:
        result = run("rules", "lint", str(shared_data / "port-examples" / SEED))
        assert result.exit_code == 0, result.output
        assert "prefix-overmatch" in result.stdout and "DeleteFunctionConcurrency20171031" in result.stdout
        assert "1 rule(s) checked: 0 error(s), 3 warning(s)" in result.stderr


class TestRulesGenerate:
    def test_cloudformation_from_the_example_config(self, tmp_path: Path) -> None:
        result = run("rules", "generate", "--config", str(EXAMPLE_CONFIG))
        assert result.exit_code == 0, result.output
        rules = load_rule_template(
            result.stdout, imports={"serverlessrepo-port-aws-exporter-EventsQueueARN": "arn:aws:sqs:r:1:q"}
        )
        assert [rule.name for rule in rules][:2] == [
            "port-aws-exporter-sync-sqs-queue",
            "port-aws-exporter-sync-sns-topic",
        ]
        kinds = load_config(EXAMPLE_CONFIG).kinds()
        assert [rule.name for rule in rules] == [rule_name_for(kind) for kind in kinds]
        assert "not a plain property" not in result.stderr  # the examples' identifiers are what deletes carry
        output = tmp_path / "rules.yaml"
        written = run("rules", "generate", "--config", str(EXAMPLE_CONFIG), "--output", str(output))
        assert output.read_text() == result.stdout and f"{len(kinds)} rule(s) written" in written.stderr

    def test_terraform_and_stack_name(self) -> None:
        result = run(
            "rules",
            "generate",
            "--config",
            str(EXAMPLE_CONFIG),
            "--format",
            "terraform",
            "--stack-name-parameter",
            "ExporterStack",
            "--stack-name",
            "my-exporter",
        )
        assert result.exit_code == 0, result.output
        assert 'variable "exporter_stack" {' in result.stdout
        assert 'default     = "my-exporter"' in result.stdout
        assert result.stdout.count('resource "aws_cloudwatch_event_target"') == len(load_config(EXAMPLE_CONFIG).kinds())

    def test_unknown_kinds_are_listed(self, tmp_path: Path) -> None:
        config = tmp_path / "config.json"
        mapping = {"identifier": ".Name", "blueprint": '"b"'}
        config.write_text(
            json.dumps(
                {
                    "resources": [
                        {"kind": kind, "port": {"entity": {"mappings": [mapping]}}}
                        for kind in ("AWS::Glue::Job", "AWS::IAM::Role")
                    ]
                }
            )
        )
        result = run("rules", "generate", "--config", str(config))
        assert result.exit_code == 0, result.output
        assert "no rule for AWS::Glue::Job" in result.stderr
        assert "global service" in result.stderr and "us-east-1" in result.stderr
        only_unknown = tmp_path / "unknown.json"
        only_unknown.write_text(
            json.dumps({"resources": [{"kind": "AWS::Glue::Job", "port": {"entity": {"mappings": [mapping]}}}]})
        )
        assert run("rules", "generate", "--config", str(only_unknown)).exit_code == 1


def test_the_real_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "port_aws_exporter", "rules", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("generate", "lint", "test"))
