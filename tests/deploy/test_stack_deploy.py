"""The SAM application deployed into the local AWS endpoint: what CloudFormation made, value by value.

`deploy/template.yaml` is transformed by aws-sam-translator with this machine's artifact, uploaded
to a bucket of the endpoint, as its code; `CreateStack` goes to moto's CloudFormation over HTTP.
Every parameter is set away from its default, so each value asserted here came from the template
and its parameters. `test_what_moto_cannot_deploy` names what moto leaves out.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.deploy.artifact import LambdaArtifact
from port_aws_exporter.deploy.lambda_target import DEFAULT_LAMBDA_TARGET
from port_aws_exporter.rules.template import load_rule_template
from tests.deploy.local_deployment import (
    ACCOUNT_ID,
    EXAMPLES,
    REGION,
    STACK_NAME,
    STACK_PARAMETERS,
    ClientFactory,
    DeployedStack,
    deploy_example_stack,
    deploy_exporter_stack,
    policy_document,
)

PARTITION_PREFIX = f"arn:aws:{{service}}:{REGION}:{ACCOUNT_ID}"
# moto warns about each resource type its CloudFormation skips; test_what_moto_cannot_deploy asserts them.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* but it's not supported by moto's CloudFormation:UserWarning"
)


@pytest.fixture(scope="module")
def stack(client: ClientFactory, host_artifact: LambdaArtifact) -> DeployedStack:
    return deploy_example_stack(client, host_artifact)


@pytest.fixture(scope="module")
def defaults_stack(client: ClientFactory, stack: DeployedStack) -> DeployedStack:
    """The template as written (arm64, python3.12) with only the required parameters: the stack
    creates the secret itself."""
    parameters = {
        "CustomIAMPolicyARN": stack.parameters["CustomIAMPolicyARN"],
        "BucketName": "exporter-defaults-config",
    }
    return deploy_exporter_stack(client, "exporter-defaults", stack.code_uri, parameters)


def queue_attributes(client: ClientFactory, queue_url: str) -> dict[str, str]:
    attributes: dict[str, str] = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    return attributes


def function_configuration(client: ClientFactory, name: str) -> dict[str, Any]:
    configuration: dict[str, Any] = client("lambda").get_function_configuration(FunctionName=name)
    return configuration


def arn(service: str, resource: str) -> str:
    return f"{PARTITION_PREFIX.format(service=service)}:{resource}"


def test_the_stack_holds_every_resource_moto_implements(stack: DeployedStack) -> None:
    assert stack.status == "CREATE_COMPLETE"
    assert {logical_id: resource.type for logical_id, resource in stack.resources.items()} == {
        "ConfigBucket": "AWS::S3::Bucket",
        "EventsDeadLetterQueue": "AWS::SQS::Queue",
        "EventsQueue": "AWS::SQS::Queue",
        "SyncFunctionLogGroup": "AWS::Logs::LogGroup",
        "EventsFunctionLogGroup": "AWS::Logs::LogGroup",
        "SyncFunctionRole": "AWS::IAM::Role",
        "EventsFunctionRole": "AWS::IAM::Role",
        "SyncFunction": "AWS::Lambda::Function",
        "SyncFunctionSchedule": "AWS::Events::Rule",
        "SyncFunctionSchedulePermission": "AWS::Lambda::Permission",
        "EventsFunction": "AWS::Lambda::Function",
        "EventsFunctionEventsQueue": "AWS::Lambda::EventSourceMapping",
    }
    assert {resource.status for resource in stack.resources.values()} == {"CREATE_COMPLETE"}
    # The secret is not missing: the stack reuses one (CustomPortCredentialsSecretARN).
    assert stack.missing == {
        "ConfigBucketPolicy": "AWS::S3::BucketPolicy",
        "EventsQueuePolicy": "AWS::SQS::QueuePolicy",
        "EventsDeadLetterAlarm": "AWS::CloudWatch::Alarm",
    }


def test_the_events_queue_redrives_to_the_dead_letter_queue_after_max_receive_count(
    stack: DeployedStack, client: ClientFactory
) -> None:
    queue = queue_attributes(client, stack.physical_id("EventsQueue"))
    dead_letters = queue_attributes(client, stack.physical_id("EventsDeadLetterQueue"))
    queue_name = stack.physical_id("EventsQueue").rsplit("/", 1)[1]
    assert queue_name.startswith(f"{STACK_NAME}-EventsQueue-")
    assert queue["QueueArn"] == arn("sqs", queue_name) == stack.outputs["EventsQueueARN"]
    assert dead_letters["QueueArn"] == stack.outputs["EventsDeadLetterQueueARN"]
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.outputs["EventsDeadLetterQueueARN"],
        "maxReceiveCount": int(STACK_PARAMETERS["EventsMaxReceiveCount"]),
    }
    # Six times the consumer's timeout (EventsFunctionTimeout 30 -> the mapping's 180).
    assert queue["VisibilityTimeout"] == "180"
    assert (queue["MessageRetentionPeriod"], dead_letters["MessageRetentionPeriod"]) == ("86400", "1209600")
    assert queue["SqsManagedSseEnabled"] == dead_letters["SqsManagedSseEnabled"] == "true"


def test_the_config_bucket_is_created_encrypted(stack: DeployedStack, client: ClientFactory) -> None:
    s3 = client("s3")
    bucket = STACK_PARAMETERS["BucketName"]
    assert stack.physical_id("ConfigBucket") == bucket == stack.outputs["ConfigBucketName"]
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [rule["ApplyServerSideEncryptionByDefault"] for rule in rules] == [{"SSEAlgorithm": "AES256"}]


def test_the_reused_secret_is_what_the_functions_and_outputs_name(stack: DeployedStack, client: ClientFactory) -> None:
    secret_arn = stack.parameters["CustomPortCredentialsSecretARN"]
    described = client("secretsmanager").describe_secret(SecretId=secret_arn)
    assert described["ARN"] == secret_arn == stack.outputs["PortCredentialsSecretARN"]
    for role in ("SyncFunctionRole", "EventsFunctionRole"):
        statements = _inline_statements(client, stack, role)
        assert statements["ReadPortCredentials"]["Action"] == "secretsmanager:GetSecretValue"
        assert statements["ReadPortCredentials"]["Resource"] == secret_arn


@pytest.mark.parametrize(
    ("logical_id", "handler", "timeout", "memory"),
    [
        ("SyncFunction", "port_aws_exporter.handler.sync_handler", 900, 2048),
        ("EventsFunction", "port_aws_exporter.handler.events_handler", 30, 1024),
    ],
)
def test_both_functions_run_the_uploaded_artifact_with_the_stacks_settings(
    stack: DeployedStack,
    client: ClientFactory,
    host_artifact: LambdaArtifact,
    logical_id: str,
    handler: str,
    timeout: int,
    memory: int,
) -> None:
    name = stack.physical_id(logical_id)
    configuration = function_configuration(client, name)
    function_name = STACK_PARAMETERS["FunctionName"] + ("-events" if logical_id == "EventsFunction" else "")
    assert name == function_name
    role = stack.physical_id(f"{logical_id}Role")
    assert {
        "FunctionArn": configuration["FunctionArn"],
        "Handler": configuration["Handler"],
        "Runtime": configuration["Runtime"],
        "Timeout": configuration["Timeout"],
        "MemorySize": configuration["MemorySize"],
        "Role": configuration["Role"],
        "Environment": configuration["Environment"],
    } == {
        "FunctionArn": arn("lambda", f"function:{function_name}"),
        "Handler": handler,
        "Runtime": host_artifact.target.runtime,  # the transform follows the artifact's target
        "Timeout": timeout,
        "MemorySize": memory,
        "Role": f"arn:aws:iam::{ACCOUNT_ID}:role/{role}",
        # PortApiUrl left empty: PORT_API_URL is not set at all (AWS::NoValue), the default API applies.
        "Environment": {
            "Variables": {
                "BUCKET_NAME": STACK_PARAMETERS["BucketName"],
                "CONFIG_JSON_FILE_KEY": STACK_PARAMETERS["ConfigJsonFileKey"],
                "PORT_CREDS_SECRET_ARN": stack.parameters["CustomPortCredentialsSecretARN"],
                "POWERTOOLS_METRICS_NAMESPACE": "PortAwsExporter",
                "POWERTOOLS_SERVICE_NAME": STACK_PARAMETERS["FunctionName"],
            }
        },
    }
    # The code is the artifact's bytes, uploaded to S3 and read from there by Lambda.
    digest = base64.b64encode(hashlib.sha256(host_artifact.path.read_bytes()).digest()).decode()
    assert (configuration["CodeSha256"], configuration["CodeSize"]) == (digest, host_artifact.size_bytes)
    code = client("lambda").get_function(FunctionName=name)["Code"]
    assert (code["RepositoryType"], code["Location"].rsplit("/", 1)[1]) == ("S3", host_artifact.path.name)
    output = "LambdaFunctionARN" if logical_id == "SyncFunction" else "EventsFunctionARN"
    assert stack.outputs[output] == configuration["FunctionArn"]
    role_output = "LambdaFunctionIamRoleARN" if logical_id == "SyncFunction" else "EventsFunctionIamRoleARN"
    assert stack.outputs[role_output] == configuration["Role"]


def test_the_event_source_mapping_reports_partial_batch_failures(stack: DeployedStack, client: ClientFactory) -> None:
    # By name: moto filters mappings by the name only (AWS also takes the ARN).
    lambda_api = client("lambda")
    (mapping,) = lambda_api.list_event_source_mappings(FunctionName=stack.physical_id("EventsFunction"))[
        "EventSourceMappings"
    ]
    assert mapping["UUID"] == stack.physical_id("EventsFunctionEventsQueue")
    assert {
        key: mapping[key]
        for key in (
            "EventSourceArn",
            "FunctionArn",
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "ScalingConfig",
            "FunctionResponseTypes",
            "State",
        )
    } == {
        "EventSourceArn": stack.outputs["EventsQueueARN"],
        "FunctionArn": stack.outputs["EventsFunctionARN"],
        "BatchSize": int(STACK_PARAMETERS["EventsBatchSize"]),
        "MaximumBatchingWindowInSeconds": int(STACK_PARAMETERS["EventsMaximumBatchingWindowInSeconds"]),
        "ScalingConfig": {"MaximumConcurrency": int(STACK_PARAMETERS["EventsMaximumConcurrency"])},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "State": "Enabled",
    }


def test_the_schedule_invokes_the_full_sync_with_an_empty_event(stack: DeployedStack, client: ClientFactory) -> None:
    events = client("events")
    rule_name = stack.physical_id("SyncFunctionSchedule")
    rule = events.describe_rule(Name=rule_name)
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(6 hours)", "ENABLED")
    (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert (target["Arn"], target["Input"]) == (stack.outputs["LambdaFunctionARN"], "{}")
    (statement,) = json.loads(client("lambda").get_policy(FunctionName=stack.outputs["LambdaFunctionARN"])["Policy"])[
        "Statement"
    ]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": rule["Arn"]}}


def test_each_function_has_its_log_group_with_the_retention(stack: DeployedStack, client: ClientFactory) -> None:
    groups = client("logs").describe_log_groups(logGroupNamePrefix=f"/port-aws-exporter/{STACK_NAME}/")["logGroups"]
    assert {group["logGroupName"]: group["retentionInDays"] for group in groups} == {
        f"/port-aws-exporter/{STACK_NAME}/sync": 14,
        f"/port-aws-exporter/{STACK_NAME}/events": 14,
    }
    assert stack.physical_id("SyncFunctionLogGroup") == f"/port-aws-exporter/{STACK_NAME}/sync"


def _inline_statements(client: ClientFactory, stack: DeployedStack, role: str) -> dict[str, dict[str, Any]]:
    iam = client("iam")
    role_name = stack.physical_id(role)
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = policy_document(iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"])
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_the_roles_are_scoped_to_this_stacks_resources(stack: DeployedStack, client: ClientFactory) -> None:
    bucket, key = STACK_PARAMETERS["BucketName"], STACK_PARAMETERS["ConfigJsonFileKey"]
    sync = {
        sid: statement.get("Resource")
        for sid, statement in _inline_statements(client, stack, "SyncFunctionRole").items()
    }
    assert sync == {
        "WriteOwnLogs": arn("logs", f"log-group:/port-aws-exporter/{STACK_NAME}/sync"),
        "ReadConfigWriteCheckpoints": f"arn:aws:s3:::{bucket}/*",
        "ListConfigBucket": f"arn:aws:s3:::{bucket}",
        "ReadPortCredentials": stack.parameters["CustomPortCredentialsSecretARN"],
        "ContinueInANewInvocation": stack.outputs["LambdaFunctionARN"],
        "CloudControl": "*",
    }
    events = {
        sid: statement.get("Resource")
        for sid, statement in _inline_statements(client, stack, "EventsFunctionRole").items()
    }
    assert events == {
        "WriteOwnLogs": arn("logs", f"log-group:/port-aws-exporter/{STACK_NAME}/events"),
        "ReadConfig": f"arn:aws:s3:::{bucket}/{key}",
        "ListConfigBucket": f"arn:aws:s3:::{bucket}",
        "ReadPortCredentials": stack.parameters["CustomPortCredentialsSecretARN"],
        "ConsumeEventsQueue": stack.outputs["EventsQueueARN"],
        "CloudControlRead": "*",
    }
    iam = client("iam")
    for role in ("SyncFunctionRole", "EventsFunctionRole"):
        trust = policy_document(iam.get_role(RoleName=stack.physical_id(role))["Role"]["AssumeRolePolicyDocument"])
        assert trust["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
            }
        ]


def test_outputs_and_the_events_queue_export(stack: DeployedStack, client: ClientFactory) -> None:
    sync_role = stack.physical_id("SyncFunctionRole")
    events_role = stack.physical_id("EventsFunctionRole")
    assert stack.outputs == {
        "ConfigBucketName": STACK_PARAMETERS["BucketName"],
        "LambdaFunctionARN": arn("lambda", f"function:{STACK_PARAMETERS['FunctionName']}"),
        "LambdaFunctionIamRoleARN": f"arn:aws:iam::{ACCOUNT_ID}:role/{sync_role}",
        "EventsFunctionARN": arn("lambda", f"function:{STACK_PARAMETERS['FunctionName']}-events"),
        "EventsFunctionIamRoleARN": f"arn:aws:iam::{ACCOUNT_ID}:role/{events_role}",
        "PortCredentialsSecretARN": stack.parameters["CustomPortCredentialsSecretARN"],
        "EventsQueueARN": queue_attributes(client, stack.physical_id("EventsQueue"))["QueueArn"],
        "EventsDeadLetterQueueARN": queue_attributes(client, stack.physical_id("EventsDeadLetterQueue"))["QueueArn"],
    }
    assert stack.exports == {f"{STACK_NAME}-EventsQueueARN": stack.outputs["EventsQueueARN"]}


def test_the_example_rule_stack_imports_the_export(stack: DeployedStack, client: ClientFactory) -> None:
    """examples/rules.yaml (generated by `rules generate`) deployed next to the exporter, as README step 7."""
    template = (EXAMPLES / "rules.yaml").read_text()
    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName=f"{STACK_NAME}-event-rules",
        TemplateBody=template,
        Parameters=[{"ParameterKey": "PortAWSExporterStackName", "ParameterValue": STACK_NAME}],
    )
    (rule_stack,) = cloudformation.describe_stacks(StackName=f"{STACK_NAME}-event-rules")["Stacks"]
    assert rule_stack["StackStatus"] == "CREATE_COMPLETE"
    expected = load_rule_template(
        EXAMPLES / "rules.yaml", parameters={"PortAWSExporterStackName": STACK_NAME}, imports=stack.exports
    )
    events = client("events")
    assert len(expected) > 10
    for rule in expected:
        (target,) = events.list_targets_by_rule(Rule=rule.name)["Targets"]
        assert target["Arn"] == rule.targets[0].arn == stack.outputs["EventsQueueARN"], rule.name
        transformer = rule.targets[0].input_transformer
        assert transformer is not None
        assert target["InputTransformer"]["InputTemplate"] == transformer.input_template
        assert events.describe_rule(Name=rule.name)["State"] == "ENABLED"


def test_what_moto_cannot_deploy(stack: DeployedStack, defaults_stack: DeployedStack, client: ClientFactory) -> None:
    """What moto 5.2's CloudFormation leaves out of this template, pinned so that it is never silent.

    Resource types it does not implement (skipped with a warning; the stack still completes):
    - `AWS::SQS::QueuePolicy` (EventsQueuePolicy): the queue has no policy, so the rule that only
      this account's EventBridge rules may send is not enforced here (moto's EventBridge delivers
      to SQS without checking a policy anyway);
    - `AWS::S3::BucketPolicy` (ConfigBucketPolicy, deny non-TLS);
    - `AWS::CloudWatch::Alarm` (EventsDeadLetterAlarm);
    - `AWS::SecretsManager::Secret` (PortCredentialsSecret, when the stack creates the secret): the
      functions then get no `PORT_CREDS_SECRET_ARN`, the roles' `ReadPortCredentials` no resource, the
      stack no `PortCredentialsSecretARN` output. The deployment tests therefore pass an existing
      secret as `CustomPortCredentialsSecretARN`, as a user reusing the original's secret does.

    Properties it ignores on resources it does create:
    - Lambda: `Architectures` (always x86_64), `LoggingConfig` (the log group), `Tags`;
    - IAM roles: `ManagedPolicyArns` (the `CustomIAMPolicyARN` read policy is not attached);
    - S3: `VersioningConfiguration`, `PublicAccessBlockConfiguration`, `OwnershipControls`,
      `LifecycleConfiguration` (encryption is applied).

    When moto learns one of these, this test fails: assert the value in the tests above instead.
    """
    # Unimplemented types.
    assert set(stack.missing.values()) == {"AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm"}
    assert "Policy" not in queue_attributes(client, stack.physical_id("EventsQueue"))
    s3 = client("s3")
    bucket = STACK_PARAMETERS["BucketName"]
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=bucket)
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []

    # The stack that creates its secret gets none, and nothing that refers to it.
    assert defaults_stack.status == "CREATE_COMPLETE"
    assert defaults_stack.missing["PortCredentialsSecret"] == "AWS::SecretsManager::Secret"
    secrets = client("secretsmanager").list_secrets()["SecretList"]
    assert [secret["ARN"] for secret in secrets] == [stack.parameters["CustomPortCredentialsSecretARN"]]
    assert "PortCredentialsSecretARN" not in defaults_stack.outputs
    defaults_function = function_configuration(client, defaults_stack.outputs["LambdaFunctionARN"])
    assert set(defaults_function["Environment"]["Variables"]) == {
        "BUCKET_NAME",
        "CONFIG_JSON_FILE_KEY",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_SERVICE_NAME",
    }
    assert "Resource" not in _inline_statements(client, defaults_stack, "SyncFunctionRole")["ReadPortCredentials"]

    # Ignored properties: the template asks for arm64, a log group, tags and a managed policy.
    assert defaults_stack.template["Resources"]["SyncFunction"]["Properties"]["Architectures"] == [
        DEFAULT_LAMBDA_TARGET.architecture
    ]
    assert defaults_function["Architectures"] == ["x86_64"]
    assert defaults_function["Runtime"] == DEFAULT_LAMBDA_TARGET.runtime
    assert "LoggingConfig" not in defaults_function
    assert client("lambda").list_tags(Resource=defaults_function["FunctionArn"])["Tags"] == {}
    iam = client("iam")
    for role in ("SyncFunctionRole", "EventsFunctionRole"):
        assert iam.list_attached_role_policies(RoleName=stack.physical_id(role))["AttachedPolicies"] == []
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    for call, error in (
        (s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration"),
        (s3.get_bucket_ownership_controls, "OwnershipControlsNotFoundError"),
        (s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration"),
    ):
        with pytest.raises(ClientError, match=error):
            call(Bucket=bucket)


def test_with_sharded_sync_the_stack_holds_the_tasks_queue_and_the_run_table(
    client: ClientFactory, stack: DeployedStack
) -> None:
    parameters = {
        "CustomIAMPolicyARN": stack.parameters["CustomIAMPolicyARN"],
        "BucketName": "exporter-sharded-config",
        "FunctionName": "exporter-sharded",
        "ShardedSync": "true",
    }
    sharded = deploy_exporter_stack(client, "exporter-sharded", stack.code_uri, parameters)
    assert sharded.status == "CREATE_COMPLETE"
    assert {"SyncTasksQueue", "SyncTasksDeadLetterQueue", "SyncRunTable"} <= set(sharded.resources)
    queue = queue_attributes(client, sharded.outputs["SyncTasksQueueURL"])
    assert queue["VisibilityTimeout"] == "5400"
    assert json.loads(queue["RedrivePolicy"])["maxReceiveCount"] == 3
    table = client("dynamodb").describe_table(TableName=sharded.outputs["SyncRunTableName"])["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    variables = function_configuration(client, "exporter-sharded")["Environment"]["Variables"]
    assert variables["SYNC_TASKS_QUEUE_URL"] == sharded.outputs["SyncTasksQueueURL"]
    assert variables["SYNC_RUN_TABLE"] == sharded.outputs["SyncRunTableName"]
    (mapping,) = client("lambda").list_event_source_mappings(FunctionName="exporter-sharded")["EventSourceMappings"]
    # The default ceiling on shards at once: the region's concurrency stays for the account's others.
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 100}
    assert mapping["BatchSize"] == 1


def test_without_sharded_sync_the_stack_has_none_of_its_resources(stack: DeployedStack) -> None:
    assert not {"SyncTasksQueue", "SyncTasksDeadLetterQueue", "SyncRunTable", "SyncTasksMapping"} & set(stack.resources)
    assert "SyncTasksQueueURL" not in stack.outputs
