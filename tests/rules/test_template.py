"""Rules read from CloudFormation templates: Port's examples, the seed, short-form tags, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.rules.template import (
    EventRule,
    RuleTemplateError,
    Unresolved,
    load_rule_template,
)

DEFAULT_EXPORT = "serverlessrepo-port-aws-exporter-EventsQueueARN"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:port-aws-exporter-events"
IMPORTS = {DEFAULT_EXPORT: QUEUE_ARN}
MALFORMED = "cloudformation.rule.yaml"
SEED = "docs-event-based-updates.lambda.rule.yaml"

SEED_TEMPLATE_TEXT = """{
  "resource_type": "AWS::Lambda::Function",
  "requestFunctionName": "<requestFunctionName>",
  "responseFunctionName": "<responseFunctionName>",
  "eventName": "<eventName>",
  "region": "\\"<awsRegion>\\"",
  "identifier": "if .responseFunctionName != \\"\\" then .responseFunctionName else .requestFunctionName end",
  "action": "if .eventName | startswith(\\"Delete\\") then \\"delete\\" else \\"upsert\\" end"
}"""


def examples(shared_data: Path) -> Path:
    return shared_data / "port-examples"


def documented_rules(shared_data: Path) -> dict[str, list[dict[str, Any]]]:
    """index.json's description of every example rule file: names, resource types, variables."""
    index = json.loads((examples(shared_data) / "index.json").read_text(encoding="utf-8"))
    return {
        entry["file"]: entry["rules"]
        for section in index["sections"].values()
        for entry in section["files"]
        if entry["role"] == "event-rule"
    }


def resource_type(rule: EventRule) -> str:
    transformer = rule.targets[0].input_transformer
    assert transformer is not None
    match = re.search(r'"resource_type"\s*:\s*"([^"]+)"', transformer.input_template)
    assert match is not None
    return match.group(1)


class TestPortExamples:
    def test_every_example_rule_file_is_documented(self, shared_data: Path) -> None:
        files = {path.name for path in examples(shared_data).glob("*.rule.yaml")}
        assert set(documented_rules(shared_data)) | {SEED, "tf-eventbridge-example.lambda.rule.yaml"} == files
        assert len(files) == 21

    def test_well_formed_examples_load_into_the_documented_rules(self, shared_data: Path) -> None:
        for file, expected in documented_rules(shared_data).items():
            if file == MALFORMED:
                continue
            rules = load_rule_template(examples(shared_data) / file, imports=IMPORTS)
            assert [rule.name for rule in rules] == [entry["Name"] for entry in expected], file
            for rule, entry in zip(rules, expected, strict=True):
                assert rule.state == "ENABLED" and rule.event_bus_name == "default"
                assert rule.event_pattern is not None and rule.schedule_expression is None
                assert rule.warnings == [] and rule.unresolved == []
                [target] = rule.targets
                assert (target.id, target.arn) == ("PortAWSExporterEventsQueue", QUEUE_ARN)
                assert target.input_transformer is not None
                assert sorted(target.input_transformer.input_paths_map) == sorted(entry["input_paths"])
                assert resource_type(rule) == entry["resource_type"]
                assert rule.compiled_pattern().warnings == ()

    def test_malformed_fragment_is_reported_clearly(self, shared_data: Path) -> None:
        with pytest.raises(RuleTemplateError) as raised:
            load_rule_template(examples(shared_data) / MALFORMED, imports=IMPORTS)
        message = str(raised.value)
        assert MALFORMED in message
        assert "no 'Resources' section" in message
        assert "'EventRule0:' has no value" in message and "same indentation" in message
        assert "leniently" in message

    def test_malformed_fragment_is_recovered_leniently(self, shared_data: Path) -> None:
        expected = documented_rules(shared_data)[MALFORMED]
        rules = load_rule_template(
            examples(shared_data) / MALFORMED,
            parameters={"PortAWSExporterStackName": "serverlessrepo-port-aws-exporter"},
            imports=IMPORTS,
            lenient=True,
        )
        assert [rule.name for rule in rules] == [entry["Name"] for entry in expected]
        assert [rule.logical_id for rule in rules] == ["EventRule0", "EventRule1"]
        assert all(rule.targets[0].arn == QUEUE_ARN for rule in rules)
        assert [resource_type(rule) for rule in rules] == [entry["resource_type"] for entry in expected]
        first, second = rules
        assert any("malformed fragment" in warning for warning in first.warnings)
        assert any("'EventRule0:' has no value" in warning for warning in first.warnings)
        assert any("not declared in the template" in warning for warning in first.warnings)
        assert not any("EventRule0" in warning and "no value" in warning for warning in second.warnings)
        assert first.event_pattern == {
            "detail-type": ["AWS API Call via CloudTrail"],
            "source": ["aws.cloudformation"],
            "detail": {
                "eventSource": ["cloudformation.amazonaws.com"],
                "eventName": [
                    {"prefix": "CreateStack"},
                    {"prefix": "UpdateStack"},
                    {"prefix": "DeleteStack"},
                ],
            },
        }

    def test_malformed_fragment_without_its_parameter_leaves_the_queue_unresolved(self, shared_data: Path) -> None:
        rules = load_rule_template(examples(shared_data) / MALFORMED, lenient=True)
        arn = rules[0].targets[0].arn
        assert isinstance(arn, Unresolved)
        assert rules[0].unresolved[0].reference == "Ref PortAWSExporterStackName"


class TestSeed:
    def test_seed_template_reads_as_documented(self, shared_data: Path) -> None:
        [rule] = load_rule_template(examples(shared_data) / SEED, imports=IMPORTS)
        assert rule.logical_id == "EventRule0"
        assert rule.name == "port-aws-exporter-sync-lambda-trails"
        assert rule.event_pattern == {
            "source": ["aws.lambda"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": ["lambda.amazonaws.com"],
                "eventName": [
                    {"prefix": "UpdateFunctionConfiguration"},
                    {"prefix": "CreateFunction"},
                    {"prefix": "DeleteFunction"},
                ],
            },
        }
        [target] = rule.targets
        assert target.input is None and target.input_path is None
        assert target.input_transformer is not None
        assert target.input_transformer.input_paths_map == {
            "awsRegion": "$.detail.awsRegion",
            "eventName": "$.detail.eventName",
            "requestFunctionName": "$.detail.requestParameters.functionName",
            "responseFunctionName": "$.detail.responseElements.functionName",
        }
        assert target.input_transformer.input_template == SEED_TEMPLATE_TEXT
        assert rule.arn("eu-west-1", "123456789012") == (
            "arn:aws:events:eu-west-1:123456789012:rule/port-aws-exporter-sync-lambda-trails"
        )

    def test_stack_name_parameter_selects_the_export(self, shared_data: Path) -> None:
        imports = {"my-exporter-EventsQueueARN": "arn:aws:sqs:us-east-1:1:mine"}
        [rule] = load_rule_template(
            examples(shared_data) / SEED,
            parameters={"PortAWSExporterStackName": "my-exporter"},
            imports=imports,
        )
        assert rule.targets[0].arn == "arn:aws:sqs:us-east-1:1:mine"

    def test_unresolvable_import_names_the_rule_and_the_export(self, shared_data: Path) -> None:
        with pytest.raises(RuleTemplateError) as raised:
            load_rule_template(examples(shared_data) / SEED)
        message = str(raised.value)
        assert "rule EventRule0" in message
        assert f"Fn::ImportValue {DEFAULT_EXPORT}" in message
        assert "Targets[0].Arn" in message

    def test_lenient_loading_marks_the_unresolved_import(self, shared_data: Path) -> None:
        [rule] = load_rule_template(examples(shared_data) / SEED, lenient=True)
        arn = rule.targets[0].arn
        assert isinstance(arn, Unresolved) and arn == f"${{unresolved: Fn::ImportValue {DEFAULT_EXPORT}}}"
        [note] = rule.unresolved
        assert note.reference == f"Fn::ImportValue {DEFAULT_EXPORT}"
        assert note.where == "EventRule0.Properties.Targets[0].Arn"

    def test_parameter_values_are_checked_against_the_template(self, shared_data: Path) -> None:
        with pytest.raises(RuleTemplateError, match="does not match AllowedPattern"):
            load_rule_template(examples(shared_data) / SEED, parameters={"PortAWSExporterStackName": "9lives"})
        with pytest.raises(RuleTemplateError, match="Unknown are not declared"):
            load_rule_template(examples(shared_data) / SEED, parameters={"Unknown": "x"})

    def test_text_and_path_inputs_agree(self, shared_data: Path) -> None:
        path = examples(shared_data) / SEED
        from_text = load_rule_template(path.read_text(encoding="utf-8"), imports=IMPORTS)
        from_string_path = load_rule_template(str(path), imports=IMPORTS)
        from_path = load_rule_template(path, imports=IMPORTS)
        assert from_text[0].event_pattern == from_path[0].event_pattern == from_string_path[0].event_pattern
        assert from_path[0].source == str(path) and from_text[0].source == "<template text>"


SHORT_FORM = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Exporter:
    Type: String
    Default: exporter
  Services:
    Type: CommaDelimitedList
    Default: lambda,s3
  Env:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
Mappings:
  Buses:
    dev: {Name: default}
    prod: {Name: prod-bus}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  DevAndLambda: !And [!Condition IsDev, !Equals [!Select [0, !Ref Services], lambda]]
Resources:
  Queue:
    Type: AWS::SQS::Queue
  LambdaRule:
    Type: AWS::Events::Rule
    Properties:
      Name: !Sub '${Exporter}-${Env}-lambda'
      Description: !Join ['-', [!Ref Exporter, rules, !Select [1, !Ref Services]]]
      EventBusName: !FindInMap [Buses, !Ref Env, Name]
      State: !If [IsProd, ENABLED, DISABLED]
      EventPattern:
        source: [!Sub ['aws.${Service}', {Service: !Select [0, !Ref Services]}]]
        detail:
          eventName: !Split [',', 'CreateFunction20150331,DeleteFunction20150331']
          region: [!Ref AWS::Region]
      Targets:
        - Id: queue
          Arn: !ImportValue
            Fn::Sub: '${Exporter}-EventsQueueARN'
          RoleArn: !If [IsProd, arn:aws:iam::1:role/x, !Ref AWS::NoValue]
          InputTransformer:
            InputPathsMap:
              name: $.detail.requestParameters.functionName
              rule: !Sub '${!Literal}'
            InputTemplate: !Sub |
              {"rule": "${LambdaRule}", "arn": "${LambdaRule.Arn}", "name": <name>}
        - Id: copy
          Arn: !GetAtt Queue.Arn
          Input: !ToJsonString {a: 1}
  ProdOnly:
    Type: AWS::Events::Rule
    Condition: IsProd
    Properties:
      ScheduleExpression: rate(5 minutes)
  DevSchedule:
    Type: AWS::Events::Rule
    Condition: DevAndLambda
    Properties:
      ScheduleExpression: rate(1 hour)
      EventPattern: '{"source": ["aws.s3"], "time": [{"prefix": "2024-01-02"}]}'
"""

LONG_FORM = {
    "Parameters": {"Exporter": {"Type": "String", "Default": "exporter"}},
    "Resources": {
        "LambdaRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": {"Fn::Sub": "${Exporter}-lambda"},
                "EventPattern": {"source": ["aws.lambda"]},
                "Targets": [{"Id": "queue", "Arn": {"Fn::ImportValue": {"Fn::Sub": "${Exporter}-EventsQueueARN"}}}],
            },
        }
    },
}


class TestIntrinsics:
    def load(self, text: str = SHORT_FORM, **kwargs: Any) -> list[EventRule]:
        defaults: dict[str, Any] = {
            "imports": {"exporter-EventsQueueARN": QUEUE_ARN},
            "region": "eu-west-1",
            "account_id": "123456789012",
            "lenient": True,
        }
        return load_rule_template(text, **{**defaults, **kwargs})

    def test_short_form_tags_and_conditions(self) -> None:
        rules = self.load()
        assert [rule.logical_id for rule in rules] == ["LambdaRule", "DevSchedule"]  # ProdOnly not created
        rule = rules[0]
        assert rule.name == "exporter-dev-lambda"
        assert rule.description == "exporter-rules-s3"
        assert rule.event_bus_name == "default"
        assert rule.state == "DISABLED"
        assert rule.event_pattern == {
            "source": ["aws.lambda"],
            "detail": {
                "eventName": ["CreateFunction20150331", "DeleteFunction20150331"],
                "region": ["eu-west-1"],
            },
        }
        queue, copy = rule.targets
        assert queue.arn == QUEUE_ARN
        assert queue.input_transformer is not None
        assert queue.input_transformer.input_paths_map == {
            "name": "$.detail.requestParameters.functionName",
            "rule": "${Literal}",
        }
        assert queue.input_transformer.input_template == (
            '{"rule": "exporter-dev-lambda", '
            '"arn": "arn:aws:events:eu-west-1:123456789012:rule/exporter-dev-lambda", "name": <name>}\n'
        )
        assert isinstance(copy.arn, Unresolved) and copy.arn.reference == "Fn::GetAtt Queue.Arn"
        assert copy.input == '{"a":1}'
        assert [note.reference for note in rule.unresolved] == ["Fn::GetAtt Queue.Arn"]
        schedule = rules[1]
        assert schedule.schedule_expression == "rate(1 hour)"
        assert schedule.event_pattern == {"source": ["aws.s3"], "time": [{"prefix": "2024-01-02"}]}
        assert schedule.targets == [] and any("no Name" in warning for warning in schedule.warnings)

    def test_parameters_and_mappings_switch_branches(self) -> None:
        rules = self.load(parameters={"Env": "prod", "Services": "s3,lambda"})
        assert [rule.logical_id for rule in rules] == ["LambdaRule", "ProdOnly"]
        assert rules[0].event_bus_name == "prod-bus"
        assert rules[0].state == "ENABLED"
        assert rules[0].event_pattern is not None and rules[0].event_pattern["source"] == ["aws.s3"]
        assert rules[0].arn("eu-west-1", "1") == "arn:aws:events:eu-west-1:1:rule/prod-bus/exporter-prod-lambda"

    def test_allowed_values_are_enforced(self) -> None:
        with pytest.raises(RuleTemplateError, match=r"parameter Env = 'test' \(given\) is not one of AllowedValues"):
            self.load(parameters={"Env": "test"})

    def test_strict_loading_names_the_first_unresolvable_value(self) -> None:
        with pytest.raises(RuleTemplateError) as raised:
            self.load(lenient=False)
        assert "rule LambdaRule" in str(raised.value) and "Fn::GetAtt Queue.Arn" in str(raised.value)

    def test_missing_pseudo_parameter(self) -> None:
        with pytest.raises(RuleTemplateError, match=r"cannot resolve Ref AWS::Region: give this pseudo parameter"):
            load_rule_template(SHORT_FORM, imports={"exporter-EventsQueueARN": QUEUE_ARN})

    def test_json_long_form_template(self) -> None:
        [rule] = load_rule_template(json.dumps(LONG_FORM), imports={"exporter-EventsQueueARN": QUEUE_ARN})
        assert rule.name == "exporter-lambda"
        assert rule.targets[0].arn == QUEUE_ARN

    def test_date_like_scalars_stay_strings(self) -> None:
        [rule] = self.load(parameters={"Env": "dev"})[1:]
        assert rule.event_pattern == {"source": ["aws.s3"], "time": [{"prefix": "2024-01-02"}]}
        text = SHORT_FORM.replace(
            '\'{"source": ["aws.s3"], "time": [{"prefix": "2024-01-02"}]}\'', "{time: [{prefix: 2024-01-02}]}"
        )
        assert self.load(text, parameters={"Env": "dev"})[1].event_pattern == {"time": [{"prefix": "2024-01-02"}]}


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("Resources: [1, 2", "not valid YAML at line 1"),
            ("- just a list\n", "expected a mapping"),
            ("no-such-file.yaml", "no such file exists"),
            ("Resources: [1]\n", "'Resources' must be a mapping"),
            ("Description: nothing\n", "there is no 'Resources' section"),
            (
                "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties: {Name: r}\n",
                "rule R: it needs an EventPattern or a ScheduleExpression",
            ),
            (
                "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n"
                "      ScheduleExpression: rate(1 day)\n      Targets: [{Arn: x}]\n",
                "rule R: Targets[0] has no Id",
            ),
            (
                "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern: '{not json'\n",
                "rule R: EventPattern is a string but not valid JSON",
            ),
            (
                "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n"
                "      EventPattern: {source: [x]}\n      Targets: [{Id: t, Arn: x, InputTransformer: {}}]\n",
                "rule R: Targets[0].InputTransformer needs an InputTemplate",
            ),
            (
                "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n"
                "      Name: !Join [x]\n      ScheduleExpression: rate(1 day)\n",
                "rule R: R.Properties.Name: Fn::Join takes [delimiter, [values]]",
            ),
            (
                "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Condition: Nope\n"
                "    Properties: {ScheduleExpression: rate(1 day)}\n",
                "condition 'Nope' is not defined in Conditions",
            ),
        ],
    )
    def test_errors_name_what_failed(self, text: str, message: str) -> None:
        with pytest.raises(RuleTemplateError) as raised:
            load_rule_template(text)
        assert message in str(raised.value)

    def test_no_echo_parameter_values_stay_out_of_errors(self) -> None:
        text = (
            "Parameters:\n  Token:\n    Type: String\n    NoEcho: true\n    MinLength: 20\n"
            "Resources:\n  R:\n    Type: AWS::Events::Rule\n"
            "    Properties: {ScheduleExpression: rate(1 day)}\n"
        )
        with pytest.raises(RuleTemplateError) as raised:
            load_rule_template(text, parameters={"Token": "s3cr3t-value"})
        assert "s3cr3t-value" not in str(raised.value) and "value hidden" in str(raised.value)

    def test_missing_file_path_object(self, tmp_path: Path) -> None:
        with pytest.raises(RuleTemplateError, match="cannot read the template"):
            load_rule_template(tmp_path / "absent.yaml")
