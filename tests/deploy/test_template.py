"""deploy/template.yaml: lints clean, transforms with SAM, and keeps the issue's promises."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import lint_all
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from port_aws_exporter.deploy.artifact import default_artifact_path
from port_aws_exporter.deploy.iam_policy import ORGANIZATION_ACTIONS
from port_aws_exporter.deploy.lambda_target import DEFAULT_LAMBDA_TARGET

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATE = PROJECT / "deploy" / "template.yaml"
# What `sam deploy` / `aws cloudformation package` put in place of the local CodeUri.
UPLOADED_CODE = "s3://artifacts-bucket/port-aws-exporter-lambda.zip"

# The original's parameters (spec §3.2) and their defaults; None: required.
ORIGINAL_PARAMETERS = {
    "CustomIAMPolicyARN": None,
    "CustomPortCredentialsSecretARN": "",
    "SecretName": "port-credentials",
    "CreateBucket": "true",
    "BucketName": None,
    "ConfigJsonFileKey": "config.json",
    "FunctionName": "port-aws-exporter",
    "ScheduleExpression": "rate(1 hour)",
    "ScheduleState": "DISABLED",
}


# What ShardedSync='true' adds; the transform keeps them, each under ShardedSyncCondition.
SHARDED_RESOURCES = {
    "SyncTasksDeadLetterQueue": "AWS::SQS::Queue",
    "SyncTasksQueue": "AWS::SQS::Queue",
    "SyncTasksQueuePolicy": "AWS::SQS::QueuePolicy",
    "SyncTasksDeadLetterAlarm": "AWS::CloudWatch::Alarm",
    "SyncRunTable": "AWS::DynamoDB::Table",
    "SyncFunctionShardedPolicy": "AWS::IAM::Policy",
    "SyncTasksMapping": "AWS::Lambda::EventSourceMapping",
}
SHARDED_OUTPUTS = {"SyncTasksQueueURL", "SyncTasksDeadLetterQueueARN", "SyncRunTableName"}


class _NoManagedPolicies:
    """SAM asks for AWS managed policy ARNs only when it builds roles; this template brings its own."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    return template


@pytest.fixture(scope="module")
def transformed(source: dict[str, Any]) -> dict[str, Any]:
    packaged = copy.deepcopy(source)
    packaged["Globals"]["Function"]["CodeUri"] = UPLOADED_CODE
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # SAM fills pseudo parameters from a session
        result: dict[str, Any] = transform(packaged, {}, _NoManagedPolicies())
    return result


@pytest.fixture(scope="module")
def resources(transformed: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = transformed["Resources"]
    return resources


# I4010 asks for free-text `Metadata.com.aws.cloudformation.Context` blocks on every resource: notes
# for tools, not a property of the stack.
IGNORED_LINT_RULES = {"I4010"}


def _lint(text: str) -> list[str]:
    """Every cfn-lint match (errors, warnings and informational) but the ignored rules."""
    return [
        f"{match.rule.id} {match.message} (line {match.linenumber})"
        for match in lint_all(text)
        if match.rule.id not in IGNORED_LINT_RULES
    ]


def test_cfn_lint_passes_on_the_template_with_informational_rules() -> None:
    assert _lint(TEMPLATE.read_text()) == []


def test_cfn_lint_passes_on_the_transformed_template(transformed: dict[str, Any]) -> None:
    assert _lint(json.dumps(transformed)) == []


def test_the_transform_gives_the_expected_resources(resources: dict[str, Any]) -> None:
    types = {name: resource["Type"] for name, resource in resources.items()}
    assert types == {
        "ConfigBucket": "AWS::S3::Bucket",
        "ConfigBucketPolicy": "AWS::S3::BucketPolicy",
        "PortCredentialsSecret": "AWS::SecretsManager::Secret",
        "EventsDeadLetterQueue": "AWS::SQS::Queue",
        "EventsQueue": "AWS::SQS::Queue",
        "EventsQueuePolicy": "AWS::SQS::QueuePolicy",
        "EventsDeadLetterAlarm": "AWS::CloudWatch::Alarm",
        "SyncFunctionLogGroup": "AWS::Logs::LogGroup",
        "EventsFunctionLogGroup": "AWS::Logs::LogGroup",
        "SyncFunctionRole": "AWS::IAM::Role",
        "SyncFunctionAccountsPolicy": "AWS::IAM::Policy",
        "EventsFunctionRole": "AWS::IAM::Role",
        "SyncFunction": "AWS::Lambda::Function",
        "SyncFunctionSchedule": "AWS::Events::Rule",
        "SyncFunctionSchedulePermission": "AWS::Lambda::Permission",
        "EventsFunction": "AWS::Lambda::Function",
        "EventsFunctionEventsQueue": "AWS::Lambda::EventSourceMapping",
        **SHARDED_RESOURCES,
    }
    assert resources["ConfigBucket"]["Condition"] == "CreateBucketCondition"
    assert resources["PortCredentialsSecret"]["Condition"] == "CreateSecretCondition"


def test_the_original_parameters_carry_over(source: dict[str, Any], shared_data: Path) -> None:
    parameters = source["Parameters"]
    for name, default in ORIGINAL_PARAMETERS.items():
        assert parameters[name].get("Default") == default, name
    assert parameters["CreateBucket"]["AllowedValues"] == ["true", "false"]
    assert parameters["ScheduleState"]["AllowedValues"] == ["ENABLED", "DISABLED"]
    documented = json.loads((shared_data / "port-examples" / "docs-installation.parameters.json").read_text())
    assert {entry["Name"] for entry in documented} <= set(parameters)


def test_code_runtime_and_architecture_match_the_default_artifact(source: dict[str, Any]) -> None:
    function_globals = source["Globals"]["Function"]
    assert function_globals["Runtime"] == DEFAULT_LAMBDA_TARGET.runtime
    assert function_globals["Architectures"] == [DEFAULT_LAMBDA_TARGET.architecture]
    # `sam build` runs the Makefile of the code's directory for each function...
    code = (TEMPLATE.parent / function_globals["CodeUri"]).resolve()
    assert (code / "Makefile").is_file()
    functions = {name: r for name, r in source["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert sorted(functions) == ["EventsFunction", "SyncFunction"]
    assert all(function["Metadata"] == {"BuildMethod": "makefile"} for function in functions.values())
    assert all("CodeUri" not in function["Properties"] for function in functions.values())
    # ...whose targets build the default artifact, where `port-aws-exporter package` puts it.
    for name in functions:
        planned = subprocess.run(
            ["make", "--dry-run", "--always-make", "--makefile", str(code / "Makefile"), f"build-{name}"],
            env={"PATH": os.environ["PATH"], "ARTIFACTS_DIR": f"/built/{name}"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        artifact = default_artifact_path(PROJECT, DEFAULT_LAMBDA_TARGET)
        assert [line.split()[1:] for line in planned] == [
            ["package", "--project", str(PROJECT), "--arch", "arm64", "--python", "3.12", "--output", str(artifact)],
            ["-m", "zipfile", "-e", str(artifact), f"/built/{name}"],
        ]


def test_two_functions_with_the_handlers_and_timeouts(resources: dict[str, Any]) -> None:
    sync = resources["SyncFunction"]["Properties"]
    events = resources["EventsFunction"]["Properties"]
    assert sync["Handler"] == "port_aws_exporter.handler.sync_handler"
    assert events["Handler"] == "port_aws_exporter.handler.events_handler"
    assert sync["Timeout"] == 900
    assert events["Timeout"] == {"Ref": "EventsFunctionTimeout"}
    assert sync["Code"] == events["Code"] == {"S3Bucket": "artifacts-bucket", "S3Key": "port-aws-exporter-lambda.zip"}
    for function in (sync, events):
        # The sync's sharded-run variables are checked with the ShardedSync option.
        variables = {
            name: value
            for name, value in function["Environment"]["Variables"].items()
            if name not in {"SYNC_TASKS_QUEUE_URL", "SYNC_RUN_TABLE"}
        }
        assert set(variables) == {
            "BUCKET_NAME",
            "CONFIG_JSON_FILE_KEY",
            "PORT_CREDS_SECRET_ARN",
            "PORT_API_URL",
            "ACCOUNTS_ROLE_NAME",
            "ACCOUNTS_EXTERNAL_ID",
            "POWERTOOLS_METRICS_NAMESPACE",
            "POWERTOOLS_SERVICE_NAME",
        }
        assert variables["PORT_API_URL"] == {
            "Fn::If": ["HasPortApiUrl", {"Ref": "PortApiUrl"}, {"Ref": "AWS::NoValue"}]
        }


def test_the_schedule_runs_a_full_sync_with_an_empty_event(resources: dict[str, Any]) -> None:
    rule = resources["SyncFunctionSchedule"]["Properties"]
    assert rule["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert rule["State"] == {"Ref": "ScheduleState"}
    assert rule["Targets"] == [
        {"Arn": {"Fn::GetAtt": ["SyncFunction", "Arn"]}, "Id": "SyncFunctionScheduleLambdaTarget", "Input": "{}"}
    ]


def test_the_event_source_reports_partial_batch_failures(resources: dict[str, Any]) -> None:
    mapping = resources["EventsFunctionEventsQueue"]["Properties"]
    assert mapping == {
        "EventSourceArn": {"Fn::GetAtt": ["EventsQueue", "Arn"]},
        "FunctionName": {"Ref": "EventsFunction"},
        "BatchSize": {"Ref": "EventsBatchSize"},
        "MaximumBatchingWindowInSeconds": {"Ref": "EventsMaximumBatchingWindowInSeconds"},
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "EventsMaximumConcurrency"}},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "Enabled": True,
    }


def test_visibility_is_six_times_every_allowed_consumer_timeout(source: dict[str, Any]) -> None:
    allowed = source["Parameters"]["EventsFunctionTimeout"]["AllowedValues"]
    visibility = source["Mappings"]["EventsQueueVisibility"]
    assert set(visibility) == set(allowed)
    for timeout in allowed:
        assert visibility[timeout]["Seconds"] >= 6 * int(timeout)
    queue = source["Resources"]["EventsQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {
        "Fn::FindInMap": ["EventsQueueVisibility", {"Ref": "EventsFunctionTimeout"}, "Seconds"]
    }


def test_messages_reach_the_dead_letter_queue_before_they_expire(source: dict[str, Any]) -> None:
    queue = source["Resources"]["EventsQueue"]["Properties"]
    dead_letters = source["Resources"]["EventsDeadLetterQueue"]["Properties"]
    longest_visibility = max(entry["Seconds"] for entry in source["Mappings"]["EventsQueueVisibility"].values())
    most_receives = source["Parameters"]["EventsMaxReceiveCount"]["MaxValue"]
    assert queue["MessageRetentionPeriod"] > most_receives * longest_visibility
    # SQS keeps a message's first enqueue time when it moves it to the dead-letter queue.
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "EventsMaxReceiveCount"},
    }
    assert queue["SqsManagedSseEnabled"] is True
    assert dead_letters["SqsManagedSseEnabled"] is True


def test_the_dead_letter_queue_alarms_when_it_holds_messages(resources: dict[str, Any]) -> None:
    alarm = resources["EventsDeadLetterAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_only_this_accounts_rules_may_send_to_the_queue(resources: dict[str, Any]) -> None:
    statements = resources["EventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if "Fn::If" not in s and s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "EventBridgeRulesOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["EventsQueue", "Arn"]},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLike": {
                    "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*"}
                },
            },
        }
    ]


def test_member_rules_are_admitted_only_by_organisation_or_listed_accounts(resources: dict[str, Any]) -> None:
    statements = resources["EventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    conditional = {s["Fn::If"][0]: s["Fn::If"][1:] for s in statements if "Fn::If" in s}
    organization, absent = conditional["AdmitsOrganizationRules"]
    assert organization["Condition"] == {"StringEquals": {"aws:SourceOrgID": {"Ref": "EventSourceOrganizationId"}}}
    accounts, absent_too = conditional["AdmitsListedAccountRules"]
    assert accounts["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "EventSourceAccountIds"}}}
    assert absent == absent_too == {"Ref": "AWS::NoValue"}
    for statement in (organization, accounts):
        assert (statement["Principal"], statement["Action"]) == ({"Service": "events.amazonaws.com"}, "sqs:SendMessage")


def _role_statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    (policy,) = resources[role]["Properties"]["Policies"]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


@pytest.mark.parametrize("role", ["SyncFunctionRole", "EventsFunctionRole"])
def test_roles_grant_no_more_than_the_functions_use(resources: dict[str, Any], role: str) -> None:
    properties = resources[role]["Properties"]
    assert properties["ManagedPolicyArns"] == [{"Ref": "CustomIAMPolicyARN"}]
    for statement in _role_statements(resources, role):
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in _actions(statement)), statement
        if statement["Resource"] == "*":
            # Cloud Control's actions cannot be scoped to resources.
            assert set(_actions(statement)) <= {"cloudformation:ListResources", "cloudformation:GetResource"}


def test_the_event_consumer_reads_config_and_never_writes_the_bucket_or_lists_resources(
    resources: dict[str, Any],
) -> None:
    events = {s["Sid"]: s for s in _role_statements(resources, "EventsFunctionRole")}
    assert _actions(events["ReadConfig"]) == ["s3:GetObject"]
    assert events["ReadConfig"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/${ConfigJsonFileKey}"
    }
    assert _actions(events["CloudControlRead"]) == ["cloudformation:GetResource"]
    assert _actions(events["ConsumeEventsQueue"]) == [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    ]
    sync = {s["Sid"]: s for s in _role_statements(resources, "SyncFunctionRole")}
    assert _actions(sync["ReadConfigWriteCheckpoints"]) == ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    assert sync["ContinueInANewInvocation"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}"
    }
    assert resources["SyncFunction"]["Properties"]["FunctionName"] == {"Ref": "FunctionName"}


def test_outputs_keep_the_originals_and_export_the_events_queue(transformed: dict[str, Any]) -> None:
    outputs = transformed["Outputs"]
    assert set(outputs) == {
        "ConfigBucketName",
        "LambdaFunctionARN",
        "LambdaFunctionIamRoleARN",
        "PortCredentialsSecretARN",
        "EventsQueueARN",
        "EventsFunctionARN",
        "EventsFunctionIamRoleARN",
        "EventsDeadLetterQueueARN",
        *SHARDED_OUTPUTS,
    }
    assert outputs["LambdaFunctionARN"]["Value"] == {"Fn::GetAtt": ["SyncFunction", "Arn"]}
    assert outputs["LambdaFunctionIamRoleARN"]["Value"] == {"Fn::GetAtt": ["SyncFunctionRole", "Arn"]}
    assert outputs["EventsQueueARN"]["Export"] == {"Name": {"Fn::Sub": "${AWS::StackName}-EventsQueueARN"}}
    assert outputs["EventsDeadLetterQueueARN"]["Value"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}


def test_the_seeds_rule_template_imports_our_export(shared_data: Path) -> None:
    rule_stack = yaml.safe_load(
        (shared_data / "port-examples" / "docs-event-based-updates.lambda.rule.yaml").read_text()
    )
    (target,) = rule_stack["Resources"]["EventRule0"]["Properties"]["Targets"]
    imported = target["Arn"]["Fn::ImportValue"]["Fn::Sub"]
    exported = yaml_parse(TEMPLATE.read_text())["Outputs"]["EventsQueueARN"]["Export"]["Name"]["Fn::Sub"]
    assert imported.replace("${PortAWSExporterStackName}", "${AWS::StackName}") == exported


def test_with_a_member_role_the_sync_may_list_the_organisation_and_assume_that_role_only(
    resources: dict[str, Any],
) -> None:
    policy = resources["SyncFunctionAccountsPolicy"]
    assert policy["Condition"] == "HasMemberRole"
    assert policy["Properties"]["Roles"] == [{"Ref": "SyncFunctionRole"}]
    statements = {statement["Sid"]: statement for statement in policy["Properties"]["PolicyDocument"]["Statement"]}
    assume = statements["AssumeMemberReadRole"]
    assert _actions(assume) == ["sts:AssumeRole"]
    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
    assert set(_actions(statements["ListOrganizationAccounts"])) == set(ORGANIZATION_ACTIONS)
    events = {statement.get("Sid") for statement in _role_statements(resources, "EventsFunctionRole")}
    assert "AssumeMemberReadRole" not in events


def test_the_member_role_template_lints_clean_and_trusts_the_exporters_account_only() -> None:
    member = PROJECT / "deploy" / "member-role.yaml"
    assert _lint(member.read_text()) == []
    role = yaml_parse(member.read_text())["Resources"]["ReadRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ExporterAccountId}:root"}}
    assert statement["Condition"]["Fn::If"][0] == "HasExternalId"


def test_sharded_sync_is_off_by_default_and_all_its_resources_and_outputs_depend_on_it(
    source: dict[str, Any], transformed: dict[str, Any]
) -> None:
    parameter = source["Parameters"]["ShardedSync"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["true", "false"])
    assert source["Conditions"]["ShardedSyncCondition"] == {"Fn::Equals": [{"Ref": "ShardedSync"}, "true"]}
    for name in SHARDED_RESOURCES:
        assert transformed["Resources"][name]["Condition"] == "ShardedSyncCondition", name
    for name in SHARDED_OUTPUTS:
        assert transformed["Outputs"][name]["Condition"] == "ShardedSyncCondition", name
    conditional = {
        name
        for name, resource in transformed["Resources"].items()
        if resource.get("Condition") == "ShardedSyncCondition"
    }
    assert conditional == set(SHARDED_RESOURCES)
    variables = transformed["Resources"]["SyncFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["SYNC_TASKS_QUEUE_URL"] == {
        "Fn::If": ["ShardedSyncCondition", {"Ref": "SyncTasksQueue"}, {"Ref": "AWS::NoValue"}]
    }
    assert variables["SYNC_RUN_TABLE"] == {
        "Fn::If": ["ShardedSyncCondition", {"Ref": "SyncRunTable"}, {"Ref": "AWS::NoValue"}]
    }
    # The globals' variables are kept beside the function's own.
    assert variables["BUCKET_NAME"] == {"Ref": "BucketName"}


def test_the_tasks_mapping_runs_one_shard_per_invocation_and_reports_batch_item_failures(
    resources: dict[str, Any],
) -> None:
    mapping = resources["SyncTasksMapping"]
    assert mapping["DependsOn"] == "SyncFunctionShardedPolicy"
    assert mapping["Properties"] == {
        "FunctionName": {"Ref": "SyncFunction"},
        "EventSourceArn": {"Fn::GetAtt": ["SyncTasksQueue", "Arn"]},
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "ShardMaximumConcurrency"}},
    }


def test_the_tasks_queue_outlasts_the_sync_functions_timeout_and_dead_letters_failed_shards(
    resources: dict[str, Any],
) -> None:
    timeout = resources["SyncFunction"]["Properties"]["Timeout"]
    queue = resources["SyncTasksQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * timeout
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["SyncTasksDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 3,
    }
    assert queue["MessageRetentionPeriod"] > 3 * queue["VisibilityTimeout"]
    dead_letters = resources["SyncTasksDeadLetterQueue"]["Properties"]
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True and dead_letters["SqsManagedSseEnabled"] is True
    alarm = resources["SyncTasksDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SyncTasksDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_run_table_has_the_run_stores_key_schema_on_demand_with_expiry(resources: dict[str, Any]) -> None:
    table = resources["SyncRunTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_sharded_policy_grants_the_run_stores_calls_on_its_own_resources_only(resources: dict[str, Any]) -> None:
    policy = resources["SyncFunctionShardedPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "SyncFunctionRole"}]
    statements = {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in _actions(statement)), statement
        assert statement["Resource"] != "*"
    table = statements["PlanAndRunShards"]
    assert table["Resource"] == {"Fn::GetAtt": ["SyncRunTable", "Arn"]}
    # A transaction needs each of its items' actions; there is no TransactWriteItems action.
    assert set(_actions(table)) == {
        "dynamodb:PutItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    }
    assert _actions(statements["SendShards"]) == ["sqs:SendMessage"]
    assert statements["SendShards"]["Resource"] == {"Fn::GetAtt": ["SyncTasksQueue", "Arn"]}
    assert statements["ConsumeShards"]["Resource"] == {"Fn::GetAtt": ["SyncTasksQueue", "Arn"]}
    assert "sqs:SendMessage" not in _actions(statements["ConsumeShards"])
    assert statements["ShardState"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/sharded-sync/*"
    }
    assert set(_actions(statements["ShardState"])) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
