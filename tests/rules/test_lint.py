"""`rules lint` on Port's published rules (the expected findings, file by file) and on made-up defects.

The findings on Port's examples follow from botocore's models of the services: an upgrade that adds
operations under one of the examples' prefixes adds findings here, which is the point (a prefix
that admits a new operation is a new problem of that rule).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.rules.generate import generate_rules
from port_aws_exporter.rules.lint import LintFinding, LintReport, lint_template
from port_aws_exporter.rules.rule_output import render_cloudformation

SEED = "docs-event-based-updates.lambda.rule.yaml"

# (rule name without "port-aws-exporter-sync-", code, event name) of every finding, per file.
EXPECTED: dict[str, set[tuple[str, str, str | None]]] = {
    "apigateway.rule.yaml": {
        ("apigateway-restapi-trails", "failed-calls", None),
        ("apigateway-api-trails", "empty-identifier", "CreateApiKey"),
        ("apigateway-api-trails", "empty-identifier", "DeleteApiKey"),
        ("apigateway-api-trails", "empty-identifier", "ImportApiKeys"),
        ("apigateway-api-trails", "empty-identifier", "UpdateApiKey"),
        ("apigateway-api-trails", "empty-identifier", "DeleteApiMapping"),
        ("apigateway-api-trails", "prefix-overmatch", "CreateApiKey"),
        ("apigateway-api-trails", "prefix-overmatch", "ImportApiKeys"),
        ("apigateway-api-trails", "prefix-overmatch", "UpdateApiKey"),
        ("apigateway-api-trails", "prefix-overmatch", "DeleteApiKey"),
        ("apigateway-api-trails", "failed-calls", None),
    },
    "apprunner.rule.yaml": set(),
    "autoscaling.rule.yaml": {
        ("auto-scaling-group-trails", "failed-calls", None),
        ("auto-scaling-group-tags-trails", "failed-calls", None),
    },
    "cloudformation.rule.yaml": {
        ("", "template", None),
        ("cloudformation-trails", "empty-identifier", "CreateStackInstances"),
        ("cloudformation-trails", "empty-identifier", "CreateStackRefactor"),
        ("cloudformation-trails", "empty-identifier", "CreateStackSet"),
        ("cloudformation-trails", "empty-identifier", "DeleteStackInstances"),
        ("cloudformation-trails", "empty-identifier", "DeleteStackSet"),
        ("cloudformation-trails", "empty-identifier", "UpdateStackInstances"),
        ("cloudformation-trails", "empty-identifier", "UpdateStackSet"),
        ("cloudformation-trails", "prefix-overmatch", "CreateStackInstances"),
        ("cloudformation-trails", "prefix-overmatch", "UpdateStackInstances"),
        ("cloudformation-trails", "prefix-overmatch", "DeleteStackInstances"),
        ("cloudformation-trails", "failed-calls", None),
    },
    "cloudfront.rule.yaml": {
        ("cloudfront-trails", "empty-identifier", "CreateDistributionTenant"),
        ("cloudfront-trails", "prefix-overmatch", "CreateDistributionTenant"),
        ("cloudfront-trails", "prefix-overmatch", "UpdateDistributionTenant"),
        ("cloudfront-trails", "prefix-overmatch", "DeleteDistributionTenant"),
        ("cloudfront-trails", "failed-calls", None),
    },
    "docs-event-based-updates.lambda.rule.yaml": {
        ("lambda-trails", "prefix-overmatch", "CreateFunctionUrlConfig20211031"),
        ("lambda-trails", "prefix-overmatch", "DeleteFunctionConcurrency20171031"),
        ("lambda-trails", "failed-calls", None),
    },
    "dynamodb.rule.yaml": {
        ("dynamodb-trails", "prefix-overmatch", "UpdateTableReplicaAutoScaling"),
        ("dynamodb-trails", "failed-calls", None),
    },
    "ec2.rule.yaml": {
        ("ec2-tags-trails", "failed-calls", None),
    },
    "ecr.rule.yaml": {
        ("ecr-trails", "empty-identifier", "CreateRepositoryCreationTemplate"),
        ("ecr-trails", "empty-identifier", "DeleteRepositoryCreationTemplate"),
        ("ecr-trails", "prefix-overmatch", "CreateRepositoryCreationTemplate"),
        ("ecr-trails", "prefix-overmatch", "DeleteRepositoryPolicy"),
        ("ecr-trails", "failed-calls", None),
        ("ecr-tags-trails", "wrong-identifier", "TagResource"),
        ("ecr-tags-trails", "wrong-identifier", "UntagResource"),
        ("ecr-tags-trails", "failed-calls", None),
    },
    "ecs.rule.yaml": {
        ("ecs-cluster-trails", "failed-calls", None),
        ("ecs-service-trails", "prefix-overmatch", "UpdateServicePrimaryTaskSet"),
        ("ecs-service-trails", "failed-calls", None),
    },
    "eks.rule.yaml": {
        ("eks-trails", "unquoted-placeholder", None),
        ("eks-trails", "unquoted-placeholder", None),
        ("eks-trails", "failed-calls", None),
    },
    "elasticache-cluster.rule.yaml": {
        ("cache-cluster-trails", "failed-calls", None),
        ("cache-cluster-tags-trails", "failed-calls", None),
    },
    "elasticache-serverless.rule.yaml": {
        ("serverless-cache-trails", "empty-identifier", "CreateServerlessCacheSnapshot"),
        ("serverless-cache-trails", "empty-identifier", "DeleteServerlessCacheSnapshot"),
        ("serverless-cache-trails", "prefix-overmatch", "CreateServerlessCacheSnapshot"),
        ("serverless-cache-trails", "prefix-overmatch", "DeleteServerlessCacheSnapshot"),
        ("serverless-cache-trails", "failed-calls", None),
        ("serverless-cache-tags-trails", "failed-calls", None),
    },
    "elasticbeanstalk.rule.yaml": {
        ("beanstalk-apps-trails", "prefix-overmatch", "CreateApplicationVersion"),
        ("beanstalk-apps-trails", "prefix-overmatch", "UpdateApplicationVersion"),
        ("beanstalk-apps-trails", "prefix-overmatch", "DeleteApplicationVersion"),
        ("beanstalk-apps-trails", "failed-calls", None),
    },
    "elb.rule.yaml": {
        ("elb-create-trails", "empty-identifier", "CreateLoadBalancerListeners"),
        ("elb-create-trails", "empty-identifier", "CreateLoadBalancerPolicy"),
        ("elb-create-trails", "prefix-overmatch", "CreateLoadBalancerListeners"),
        ("elb-create-trails", "failed-calls", None),
        ("elb-update-trails", "empty-identifier", "DeleteLoadBalancerListeners"),
        ("elb-update-trails", "empty-identifier", "DeleteLoadBalancerPolicy"),
        ("elb-update-trails", "prefix-overmatch", "DeleteLoadBalancerListeners"),
        ("elb-update-trails", "failed-calls", None),
        ("elb-tags-trails", "failed-calls", None),
        ("elb-upsert-listener-trails", "empty-identifier", "ModifyListenerAttributes"),
        ("elb-upsert-listener-trails", "prefix-overmatch", "ModifyListenerAttributes"),
        ("elb-upsert-listener-trails", "failed-calls", None),
        ("elb-delete-listener-trails", "failed-calls", None),
    },
    "lambda.rule.yaml": {
        ("lambda-trails", "prefix-overmatch", "CreateFunctionUrlConfig20211031"),
        ("lambda-trails", "prefix-overmatch", "DeleteFunctionCodeSigningConfig20200630"),
        ("lambda-trails", "failed-calls", None),
    },
    "rds.rule.yaml": {
        ("rds-trails", "empty-identifier", "DeleteDBInstanceAutomatedBackup"),
        ("rds-trails", "prefix-overmatch", "DeleteDBInstanceAutomatedBackup"),
        ("rds-trails", "failed-calls", None),
    },
    "s3.rule.yaml": {
        ("s3-trails", "prefix-overmatch", "CreateBucketMetadataConfiguration"),
        ("s3-trails", "prefix-overmatch", "PutBucketAbac"),
        ("s3-trails", "prefix-overmatch", "DeleteBucketAnalyticsConfiguration"),
        ("s3-trails", "failed-calls", None),
    },
    "sns-sqs.rule.yaml": {
        ("sns-trails", "failed-calls", None),
        ("sqs-trails", "failed-calls", None),
    },
    "stepfunctions.rule.yaml": {
        ("stepfunctions-trails", "empty-identifier", "CreateStateMachineAlias"),
        ("stepfunctions-trails", "empty-identifier", "DeleteStateMachineAlias"),
        ("stepfunctions-trails", "empty-identifier", "DeleteStateMachineVersion"),
        ("stepfunctions-trails", "empty-identifier", "UpdateStateMachineAlias"),
        ("stepfunctions-trails", "prefix-overmatch", "CreateStateMachineAlias"),
        ("stepfunctions-trails", "prefix-overmatch", "UpdateStateMachineAlias"),
        ("stepfunctions-trails", "prefix-overmatch", "DeleteStateMachineAlias"),
        ("stepfunctions-trails", "failed-calls", None),
    },
    "tf-eventbridge-example.lambda.rule.yaml": {
        ("lambda-trails", "prefix-overmatch", "CreateFunctionUrlConfig20211031"),
        ("lambda-trails", "prefix-overmatch", "DeleteFunctionCodeSigningConfig20200630"),
        ("lambda-trails", "failed-calls", None),
    },
}


def findings_of(report: LintReport) -> set[tuple[str, str, str | None]]:
    return {(f.rule.removeprefix("port-aws-exporter-sync-"), f.code, f.event_name) for f in report.findings}


@pytest.fixture(scope="module")
def reports(shared_data: Path, jq_evaluator: TimeLimitedJq) -> dict[str, LintReport]:
    folder = shared_data / "port-examples"
    return {path.name: lint_template(path, evaluator=jq_evaluator) for path in sorted(folder.glob("*.rule.yaml"))}


def test_every_example_file_is_linted(reports: dict[str, LintReport]) -> None:
    assert set(reports) == set(EXPECTED)


@pytest.mark.parametrize("file", sorted(EXPECTED))
def test_expected_findings(file: str, reports: dict[str, LintReport]) -> None:
    assert findings_of(reports[file]) == EXPECTED[file]
    assert len(reports[file].findings) == len(findings_of(reports[file])) + (file == "eks.rule.yaml")


def one(report: LintReport, code: str, rule: str = "", event_name: str | None = None) -> LintFinding:
    [found] = [
        f
        for f in report.findings
        if f.code == code and rule in f.rule and (event_name is None or f.event_name == event_name)
    ]
    return found


class TestPortDefects:
    def test_the_seed_has_no_error_and_warns_of_its_wrong_delete(self, reports: dict[str, LintReport]) -> None:
        report = reports[SEED]
        assert report.errors == []
        overmatch = one(report, "prefix-overmatch", event_name="DeleteFunctionConcurrency20171031")
        assert overmatch.severity == "warning" and overmatch.field == "EventPattern.detail.eventName"
        assert "prefix 'DeleteFunction' also admits 4 other operation(s)" in overmatch.message
        assert "a delete of port-sample-function (from DeleteFunctionConcurrency20171031" in overmatch.message
        assert "(a resource that still exists)" in overmatch.message

    def test_eks_unquoted_placeholders_are_errors(self, reports: dict[str, LintReport]) -> None:
        report = reports["eks.rule.yaml"]
        assert {(f.field, f.severity) for f in report.errors} == {("region", "error"), ("identifier", "error")}
        region = next(f for f in report.errors if f.field == "region")
        assert region.message.startswith("<awsRegion> is not inside a jq string")
        assert '\\"<awsRegion>\\"' in region.message

    def test_the_malformed_cloudformation_fragment_is_reported(self, reports: dict[str, LintReport]) -> None:
        finding = one(reports["cloudformation.rule.yaml"], "template")
        assert finding.severity == "error" and finding.rule == ""
        assert "no 'Resources' section" in finding.message
        # Its rules are still read (leniently) and checked.
        assert reports["cloudformation.rule.yaml"].rules == 2

    def test_ecr_tags_take_the_last_segment_of_a_namespaced_name(self, reports: dict[str, LintReport]) -> None:
        finding = one(reports["ecr.rule.yaml"], "wrong-identifier", event_name="TagResource")
        assert "'sample-repository'" in finding.message and "port/sample-repository" in finding.message

    def test_ecr_delete_prefix_deletes_on_a_policy_change(self, reports: dict[str, LintReport]) -> None:
        finding = one(reports["ecr.rule.yaml"], "prefix-overmatch", event_name="DeleteRepositoryPolicy")
        assert "a delete of port/sample-repository (from DeleteRepositoryPolicy)" in finding.message

    def test_anchored_actions_keep_over_matched_calls_as_upserts(self, reports: dict[str, LintReport]) -> None:
        finding = one(reports["s3.rule.yaml"], "prefix-overmatch", event_name="DeleteBucketAnalyticsConfiguration")
        assert "a delete" not in finding.message and "an upsert of port-sample-bucket" in finding.message

    def test_native_event_rules_are_checked(self, reports: dict[str, LintReport]) -> None:
        assert reports["apprunner.rule.yaml"].findings == []
        assert reports["apprunner.rule.yaml"].events == 2
        assert reports["ec2.rule.yaml"].events >= 4

    def test_rules_without_defects_only_admit_failed_calls(self, reports: dict[str, LintReport]) -> None:
        for file in ("sns-sqs.rule.yaml", "ec2.rule.yaml", "elasticache-cluster.rule.yaml", "autoscaling.rule.yaml"):
            assert {f.code for f in reports[file].findings} == {"failed-calls"}, file


class TestGeneratedRules:
    def test_no_finding_at_all(self, tmp_path: Path, jq_evaluator: TimeLimitedJq) -> None:
        kinds = sorted(kind for kind, spec in KINDS.items() if spec.cloudtrail is not None)
        path = tmp_path / "generated.yaml"
        path.write_text(render_cloudformation(generate_rules(kinds).rules))
        config = ExporterConfig.model_validate(
            {
                "resources": [
                    {"kind": kind, "port": {"entity": {"mappings": [{"identifier": ".Id", "blueprint": '"b"'}]}}}
                    for kind in kinds
                ]
            }
        )
        report = lint_template(path, evaluator=jq_evaluator, config=config)
        assert report.findings == []
        assert report.rules == len(kinds) and report.events > 300

    def test_a_kind_no_config_entry_handles(self, tmp_path: Path, jq_evaluator: TimeLimitedJq) -> None:
        path = tmp_path / "sqs.yaml"
        path.write_text(render_cloudformation(generate_rules(["AWS::SQS::Queue"]).rules))
        config = load_config(Path(__file__).resolve().parents[2] / "examples" / "config.json")
        assert lint_template(path, evaluator=jq_evaluator, config=config).findings == []
        lambda_only = ExporterConfig.model_validate(
            {
                "resources": [
                    {
                        "kind": "AWS::Lambda::Function",
                        "port": {"entity": {"mappings": [{"identifier": ".FunctionName", "blueprint": '"l"'}]}},
                    }
                ]
            }
        )
        finding = one(lint_template(path, evaluator=jq_evaluator, config=lambda_only), "unhandled-kind")
        assert (finding.severity, finding.field) == ("warning", "resource_type")


RULE = """
Resources:
  Rule:
    Type: AWS::Events::Rule
    Properties:
      Name: r
      EventPattern:
        source: [aws.sqs]
        detail-type: [AWS API Call via CloudTrail]
        detail:
          eventName: [CreateQueue, DeleteQueue]
          errorCode: [{exists: false}]
      Targets:
        - Id: q
          Arn: arn:aws:sqs:eu-west-1:123456789012:q
          InputTransformer:
            InputPathsMap:
              name: $.detail.eventName
              url: $.detail.requestParameters.queueUrl
              response: $.detail.responseElements
            InputTemplate: |-
              {TEMPLATE}
"""


def lint_text(template: str, evaluator: TimeLimitedJq) -> LintReport:
    return lint_template(RULE.replace("{TEMPLATE}", template), evaluator=evaluator)


class TestMadeUpDefects:
    def test_jq_that_does_not_compile(self, jq_evaluator: TimeLimitedJq) -> None:
        report = lint_text(
            '{"resource_type": "AWS::SQS::Queue", "region": "\\"r\\"", "identifier": "if then", '
            '"action": "\\"upsert\\""}',
            jq_evaluator,
        )
        errors = {(f.field, f.code, f.event_name) for f in report.errors}
        assert errors == {("identifier", "jq-error", "CreateQueue"), ("identifier", "jq-error", "DeleteQueue")}

    def test_an_action_neither_upsert_nor_delete(self, jq_evaluator: TimeLimitedJq) -> None:
        report = lint_text(
            '{"resource_type": "AWS::SQS::Queue", "region": "\\"r\\"", "identifier": "\\"<name>\\"", '
            '"action": "\\"<name>\\""}',
            jq_evaluator,
        )
        assert {(f.code, f.field) for f in report.errors} == {("bad-action", "action")}

    def test_a_message_eventbridge_drops(self, jq_evaluator: TimeLimitedJq) -> None:
        report = lint_text(
            '{"resource_type": "AWS::SQS::Queue", "region": "\\"r\\"", "identifier": "\\"<url>\\"", '
            '"response": "<response>"}',
            jq_evaluator,
        )
        assert "not-delivered" in {f.code for f in report.errors}

    def test_a_missing_field_a_wrong_delete_a_wrong_identifier(self, jq_evaluator: TimeLimitedJq) -> None:
        report = lint_text('{"resource_type": "AWS::SQS::Queue", "identifier": "\\"<url>\\""}', jq_evaluator)
        assert {(f.field, f.code) for f in report.errors} == {("region", "message")}
        report = lint_text(
            '{"resource_type": "AWS::SQS::Queue", "region": "\\"r\\"", "identifier": "\\"<name>\\"", '
            '"action": "\\"delete\\""}',
            jq_evaluator,
        )
        assert report.errors == []
        wrong = one(report, "wrong-delete")
        assert wrong.event_name == "CreateQueue" and "does not delete the AWS::SQS::Queue" in wrong.message
        identifier = one(report, "wrong-identifier", event_name="DeleteQueue")
        assert "the identifier is 'DeleteQueue'" in identifier.message
        assert "port-sample-queue" in identifier.message

    def test_an_identifier_a_real_event_lacks(self, jq_evaluator: TimeLimitedJq) -> None:
        """CreateQueue's request has no queueUrl (the response has): the identifier renders empty."""
        report = lint_text(
            '{"resource_type": "AWS::SQS::Queue", "region": "\\"r\\"", "identifier": "\\"<url>\\""}',
            jq_evaluator,
        )
        finding = one(report, "empty-identifier")
        assert (finding.severity, finding.event_name) == ("error", "CreateQueue")

    def test_failed_calls_warning_and_as_dict(self, jq_evaluator: TimeLimitedJq) -> None:
        report = lint_template(
            RULE.replace("errorCode: [{exists: false}]", "eventSource: [sqs.amazonaws.com]").replace(
                "{TEMPLATE}",
                '{"resource_type": "AWS::SQS::Queue", "region": "\\"r\\"", "identifier": "\\"<name>\\"", '
                '"action": "if \\"<name>\\" == \\"DeleteQueue\\" then \\"delete\\" else \\"upsert\\" end"}',
            ),
            evaluator=jq_evaluator,
        )
        finding = one(report, "failed-calls")
        assert finding.as_dict() == {
            "source": "<template text>",
            "rule": "r",
            "field": "EventPattern.detail.errorCode",
            "severity": "warning",
            "code": "failed-calls",
            "event_name": None,
            "message": finding.message,
        }
        assert one(report, "wrong-identifier", event_name="DeleteQueue")

    def test_a_native_event_without_a_sample_is_not_checked(self, jq_evaluator: TimeLimitedJq) -> None:
        text = RULE.replace("detail-type: [AWS API Call via CloudTrail]", "detail-type: [Some Other Event]").replace(
            "{TEMPLATE}", '{"resource_type": "AWS::SQS::Queue", "region": "\\"r\\"", "identifier": "\\"x\\""}'
        )
        [finding] = lint_template(text, evaluator=jq_evaluator).findings
        assert (finding.severity, finding.code) == ("info", "not-checked")
        assert "'Some Other Event'" in finding.message
