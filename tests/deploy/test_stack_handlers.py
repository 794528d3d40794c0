"""The deployed functions' handlers, run from the artifact, against the deployed stack.

The stack is deployed into the local AWS endpoint from this machine's artifact (as
`test_stack_deploy` shows), then set up as the README's steps 4 and 5 say: the example config in
the config bucket, the local catalog's credentials in the secret. Each function's handler, as its
deployed configuration names it, runs in `ArtifactRuntime`: a bare interpreter (`python -I -S`)
that imports only the unpacked artifact, with the function's deployed environment plus what points
it at the local stack (`AWS_ENDPOINT_URL`, `PORT_API_URL`: the template only takes an https Port URL).

moto cannot run Lambda code, so what Lambda does around the handler is done here: the full sync is
invoked with `{}`, as the schedule would; the event consumer gets batches received from the deployed
events queue by `LambdaEventSource` (Lambda's SQS event source with `ReportBatchItemFailures`), with
the deployed mapping's batch size. moto's own stand-in for the mapping is switched off: on every
SendMessage it invokes the function through Docker, one message at a time, and ignores
`batchItemFailures`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.cli.demo import DEMO_REGIONS, apply_example_blueprints
from port_aws_exporter.deploy.artifact import LambdaArtifact
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from port_aws_exporter.rules.samples import sample_event
from port_aws_exporter.rules.template import EventRule, load_rule_template
from tests.deploy.artifact_runtime import ArtifactRuntime, HandlerError
from tests.deploy.local_deployment import (
    ACCOUNT_ID,
    EXAMPLES,
    REGION,
    STACK_NAME,
    STACK_PARAMETERS,
    ClientFactory,
    DeployedStack,
    deploy_example_stack,
)
from tests.fixtures.event_queues import EventQueues, LambdaEventSource

pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* but it's not supported by moto's CloudFormation:UserWarning"
)

# The blueprints the example config writes, and how each resource is named in them.
BLUEPRINTS = (
    "awsSqsQueue",
    "awsSnsTopic",
    "awsLambdaFunction",
    "awsS3Bucket",
    "awsDynamoDbTable",
    "awsEcsCluster",
    "awsEcsService",
    "awsEcrRepository",
    "awsEc2Instance",
    "awsLoadBalancer",
    "awsAcmCertificate",
    "awsCacheCluster",
    "awsCloudFormationStack",
    "awsIamRole",
)


@pytest.fixture(scope="module")
def stack(client: ClientFactory, host_artifact: LambdaArtifact, local_catalog_server: RunningCatalog) -> DeployedStack:
    """The deployed stack, with its config uploaded and its secret filled (README steps 4 and 5)."""
    stack = deploy_example_stack(client, host_artifact)
    client("s3").put_object(
        Bucket=stack.outputs["ConfigBucketName"],
        Key=STACK_PARAMETERS["ConfigJsonFileKey"],
        Body=(EXAMPLES / "config.json").read_bytes(),
    )
    credentials = {"id": local_catalog_server.client_id, "clientSecret": local_catalog_server.client_secret}
    client("secretsmanager").put_secret_value(
        SecretId=stack.outputs["PortCredentialsSecretARN"], SecretString=json.dumps(credentials)
    )
    return stack


@dataclass
class DeployedFunction:
    """A function of the stack, its handler running from the artifact."""

    configuration: dict[str, Any]
    runtime: ArtifactRuntime

    def __call__(self, event: Mapping[str, Any], *, remaining_ms: int | None = None) -> Any:
        """Invoke the configured handler, as Lambda does, with the function's ARN and time left."""
        return self.runtime.invoke(
            self.configuration["Handler"],
            event,
            function_arn=self.configuration["FunctionArn"],
            remaining_ms=remaining_ms or 1000 * self.configuration["Timeout"],
        )


FunctionStarter = Callable[..., DeployedFunction]


@pytest.fixture
def deployed_function(
    stack: DeployedStack,
    client: ClientFactory,
    local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    host_artifact_code: Path,
    tmp_path: Path,
) -> Iterator[FunctionStarter]:
    """`deployed_function("SyncFunction")`: a cold execution environment of that function of the stack
    (keyword arguments override its environment variables)."""
    started: list[ArtifactRuntime] = []

    def start(logical_id: str, **overrides: str) -> DeployedFunction:
        configuration = client("lambda").get_function_configuration(FunctionName=stack.physical_id(logical_id))
        environment = {
            # What Lambda sets, as far as the handlers read it.
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": configuration["FunctionName"],
            "LAMBDA_TASK_ROOT": str(host_artifact_code),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            # No AWS configuration of this machine reaches the function.
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            # The deployed function's own environment.
            **configuration["Environment"]["Variables"],
            # The local stack in place of AWS and Port.
            "AWS_ENDPOINT_URL": local_aws.url,
            "PORT_API_URL": local_catalog.url,
            **overrides,
        }
        runtime = ArtifactRuntime(host_artifact_code, environment, tmp_path / f"{logical_id}.log")
        started.append(runtime)
        return DeployedFunction(configuration, runtime)

    yield start
    for runtime in started:
        runtime.close()


@pytest.fixture
def catalog(port_client: PortClient) -> PortClient:
    """The local catalog with the example blueprints (what a user sets up in Port before deploying)."""
    apply_example_blueprints(port_client, EXAMPLES, DEMO_REGIONS)
    return port_client


def catalog_identifiers(port: PortClient) -> dict[str, list[str]]:
    return {
        blueprint: sorted(entity["identifier"] for entity in port.iter_blueprint_entities(blueprint))
        for blueprint in BLUEPRINTS
    }


def local_aws_resources(client: ClientFactory) -> dict[str, list[str]]:
    """What the local AWS holds, read through each service's own API (not Cloud Control)."""
    found: dict[str, list[str]] = {blueprint: [] for blueprint in BLUEPRINTS}
    for region in DEMO_REGIONS:
        found["awsLambdaFunction"] += [
            f["FunctionName"] for f in client("lambda", region).list_functions()["Functions"]
        ]
        found["awsSqsQueue"] += [
            url.rsplit("/", 1)[1] for url in client("sqs", region).list_queues().get("QueueUrls", [])
        ]
        found["awsCloudFormationStack"] += [
            summary["StackName"]
            for summary in client("cloudformation", region).list_stacks()["StackSummaries"]
            if summary["StackStatus"] != "DELETE_COMPLETE"
        ]
    found["awsS3Bucket"] = [bucket["Name"] for bucket in client("s3").list_buckets()["Buckets"]]
    found["awsIamRole"] = [role["RoleName"] for role in client("iam").list_roles()["Roles"]]
    return {blueprint: sorted(names) for blueprint, names in found.items()}


def test_the_full_sync_from_the_artifact_writes_the_local_aws_into_the_catalog(
    stack: DeployedStack,
    client: ClientFactory,
    catalog: PortClient,
    local_catalog: RunningCatalog,
    deployed_function: FunctionStarter,
    host_artifact: LambdaArtifact,
    host_artifact_code: Path,
) -> None:
    # An entity this installation wrote earlier for a queue that is gone since: the sync removes it.
    assert catalog.bulk_upsert("awsSqsQueue", [{"identifier": "deleted-since", "properties": {}}])[0].ok
    sync = deployed_function("SyncFunction")

    result = sync({})

    assert result["status"] == "done"
    assert (result["report"]["error_count"], result["report"]["deleted"]) == (0, 1)
    expected = local_aws_resources(client)
    # The stack's own resources, and the artifacts bucket `sam deploy` would have used.
    assert expected["awsLambdaFunction"] == [
        STACK_PARAMETERS["FunctionName"],
        STACK_PARAMETERS["FunctionName"] + "-events",
    ]
    assert len(expected["awsSqsQueue"]) == 2 and expected["awsCloudFormationStack"] == [STACK_NAME]
    assert expected["awsS3Bucket"] == sorted([STACK_PARAMETERS["BucketName"], "port-aws-exporter-artifacts"])
    assert catalog_identifiers(catalog) == expected

    sync_function = catalog.get_entity("awsLambdaFunction", STACK_PARAMETERS["FunctionName"])
    assert sync_function is not None
    assert {key: sync_function["properties"][key] for key in ("arn", "runtime", "memorySize", "timeout")} == {
        "arn": stack.outputs["LambdaFunctionARN"],
        "runtime": host_artifact.target.runtime,
        "memorySize": 2048,
        "timeout": 900,
    }
    events_queue = catalog.get_entity("awsSqsQueue", stack.outputs["EventsQueueARN"].rsplit(":", 1)[1])
    assert events_queue is not None
    assert (events_queue["properties"]["arn"], events_queue["properties"]["visibilityTimeout"]) == (
        stack.outputs["EventsQueueARN"],
        180,
    )
    exporter_stack = catalog.get_entity("awsCloudFormationStack", STACK_NAME)
    assert exporter_stack is not None
    assert (exporter_stack["properties"]["stackId"], exporter_stack["properties"]["status"]) == (
        stack.stack_id,
        "CREATE_COMPLETE",
    )

    assert_imports_only_the_artifact(sync.runtime, host_artifact_code)
    # Its logs: JSON lines with the request id, an ISO-8601 UTC time and cold_start, and the Port
    # secret nowhere.
    (invocation,) = sync.runtime.invocations
    logs = [record for record in sync.runtime.log_records() if "_aws" not in record]
    done = [record for record in logs if record["message"] == "Done handling your resources"]
    assert [record["aws_request_id"] for record in done] == [invocation.request_id]
    assert_invocation_log_fields(logs, cold_start=True)
    assert local_catalog.client_secret not in sync.runtime.log_text()

    # Its metrics, in CloudWatch's embedded metric format: one document per kind, one for the run.
    documents = emf_documents(sync.runtime)
    per_kind = {document["kind"]: document for document in documents if "kind" in document}
    expected_kinds: dict[str, dict[str, int]] = {}
    for row in result["report"]["kinds"]:
        counts = expected_kinds.setdefault(row["kind"], {"listed": 0, "written": 0, "failed": 0})
        for key in counts:
            counts[key] += row[key]
    assert sorted(per_kind) == sorted(expected_kinds)
    for kind, counts in expected_kinds.items():
        assert metric_values(per_kind[kind]) == {
            "ResourcesListed": [counts["listed"]],
            "EntitiesWritten": [counts["written"]],
            "EntitiesFailed": [counts["failed"]],
        }, kind
        assert dimensions(per_kind[kind]) == [["kind", "service"]]
    assert metric_values(per_kind["AWS::Lambda::Function"])["ResourcesListed"] == [2]
    assert metric_values(per_kind["AWS::SQS::Queue"])["ResourcesListed"] == [2]
    (run,) = [document for document in documents if "kind" not in document]
    assert dimensions(run) == [["service"]]
    assert metric_values(run) == {
        "EntitiesDeleted": [1],
        "SyncErrors": [0],
        "SyncDuration": [result["report"]["seconds"]],
        "PortRetries": [0],
        "PortThrottled": [0],
        "ColdStart": [1],
    }
    assert metric_units(run)["SyncDuration"] == "Seconds"


def emf_documents(runtime: ArtifactRuntime) -> list[dict[str, Any]]:
    """The embedded-metric-format documents the function wrote (its stdout goes to its log), each
    checked for the shape CloudWatch requires: every metric and dimension named is in the document."""
    documents = [record for record in runtime.log_records() if "_aws" in record]
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "PortAwsExporter"
        assert isinstance(document["_aws"]["Timestamp"], int)
        # The template's POWERTOOLS_SERVICE_NAME: the stack's FunctionName.
        assert document["service"] == STACK_PARAMETERS["FunctionName"]
        for names in directive["Dimensions"]:
            assert all(isinstance(document[name], str) for name in names)
        for metric in directive["Metrics"]:
            assert metric["Name"] in document
    return documents


def metric_values(document: dict[str, Any]) -> dict[str, list[float]]:
    """Each metric of an EMF document and its values (Powertools writes a list of them)."""
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    return {metric["Name"]: document[metric["Name"]] for metric in directive["Metrics"]}


def metric_units(document: dict[str, Any]) -> dict[str, str]:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    return {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}


def dimensions(document: dict[str, Any]) -> list[list[str]]:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    names: list[list[str]] = directive["Dimensions"]
    return names


def assert_invocation_log_fields(records: list[dict[str, Any]], *, cold_start: bool) -> None:
    """Every line has its time in ISO-8601 UTC, the request id and whether it was a cold start."""
    assert records
    for record in records:
        moment = datetime.fromisoformat(record["time"])
        assert moment.utcoffset() == timedelta(0), record["time"]
        assert record["cold_start"] is cold_start and record["aws_request_id"]


def assert_imports_only_the_artifact(runtime: ArtifactRuntime, code_dir: Path) -> None:
    """Everything the handler imported came from the artifact or the standard library."""
    imported = runtime.imported_from()
    assert imported["sys_path"][0] == str(code_dir)
    assert [path for path in imported["files"] if not path.startswith(str(code_dir))] == []
    assert any(path.endswith("port_aws_exporter/handler.py") for path in imported["files"])
    assert any(path.startswith(str(code_dir / "boto3")) for path in imported["files"])


def rule_message(rules: list[EventRule], event: dict[str, Any], queue_arn: str) -> str:
    """The body the matching rule of the rule stack sends to the events queue for `event`."""
    (rule,) = [rule for rule in rules if rule.compiled_pattern().match(event).matched]
    (target,) = rule.targets
    assert target.arn == queue_arn, rule.name
    rendered = target.render(event, rule_name=rule.name, rule_arn=rule.arn(REGION, ACCOUNT_ID))
    assert rendered.delivered and rendered.body is not None, rendered.error
    return rendered.body


def api_call(kind: str, event_name: str, **identifier_values: str) -> dict[str, Any]:
    """The CloudTrail event EventBridge would carry for a call on one resource of this account."""
    event = sample_event(kind, event_name, identifier_values=identifier_values, region=REGION, account_id=ACCOUNT_ID)
    event["detail"]["awsRegion"] = REGION
    return event


# A rule edited by hand with a broken jq program: jq cannot compile it, on any delivery.
BROKEN_MESSAGE = json.dumps(
    {"resource_type": "AWS::SQS::Queue", "region": '"us-east-1"', "identifier": ".queueName | ltrimstr("}
)


def test_an_sqs_batch_from_the_deployed_queue_updates_the_catalog_and_fails_only_the_bad_message(
    stack: DeployedStack,
    client: ClientFactory,
    local_aws: RunningLocalAws,
    catalog: PortClient,
    local_catalog: RunningCatalog,
    deployed_function: FunctionStarter,
    host_artifact_code: Path,
) -> None:
    sqs = client("sqs")
    legacy_url = sqs.create_queue(QueueName="legacy-jobs")["QueueUrl"]
    assert deployed_function("SyncFunction")({})["report"]["error_count"] == 0
    assert catalog.get_entity("awsSqsQueue", "legacy-jobs") is not None

    # Changes in the account after the sync, and the messages the example rule stack sends for them.
    orders_url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    [billing] = local_aws.bulk_create_lambda_functions(1, region=REGION, account_id=ACCOUNT_ID, prefix="billing")
    sqs.delete_queue(QueueUrl=legacy_url)
    exports = {e["Name"]: e["Value"] for e in client("cloudformation").list_exports()["Exports"]}
    rules = load_rule_template(
        EXAMPLES / "rules.yaml", parameters={"PortAWSExporterStackName": STACK_NAME}, imports=exports
    )
    queue_arn = stack.outputs["EventsQueueARN"]
    bodies = [
        rule_message(
            rules, api_call("AWS::SQS::Queue", "CreateQueue", QueueName="orders", QueueUrl=orders_url), queue_arn
        ),
        rule_message(
            rules, api_call("AWS::Lambda::Function", "CreateFunction20150331", FunctionName=billing), queue_arn
        ),
        BROKEN_MESSAGE,
        rule_message(
            rules, api_call("AWS::SQS::Queue", "DeleteQueue", QueueName="legacy-jobs", QueueUrl=legacy_url), queue_arn
        ),
    ]
    queues = EventQueues(
        sqs,
        queue_url=sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"],
        dlq_url=sqs.get_queue_url(QueueName=stack.outputs["EventsDeadLetterQueueARN"].rsplit(":", 1)[1])["QueueUrl"],
        queue_arn=queue_arn,
    )
    lambda_api = client("lambda")
    (mapping,) = lambda_api.list_event_source_mappings(FunctionName=stack.physical_id("EventsFunction"))[
        "EventSourceMappings"
    ]
    # moto runs an enabled mapping itself on every SendMessage (one message per invocation, through
    # Docker, which is not here): switched off, LambdaEventSource stands in for it.
    lambda_api.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    message_ids = queues.send(*bodies)
    broken_id = message_ids[2]
    events = deployed_function("EventsFunction")
    source = LambdaEventSource(queues, lambda event, _context: events(event), batch_size=mapping["BatchSize"])

    assert source.poll() == 4
    (invocation,) = source.invocations
    assert invocation["response"] == {"batchItemFailures": [{"itemIdentifier": broken_id}]}
    orders = catalog.get_entity("awsSqsQueue", "orders")
    assert orders is not None and orders["properties"]["visibilityTimeout"] == 45
    function = catalog.get_entity("awsLambdaFunction", billing)
    assert (
        function is not None
        and function["properties"]["arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{billing}"
    )
    assert catalog.get_entity("awsSqsQueue", "legacy-jobs") is None
    [failure] = [record for record in events.runtime.log_records() if record.get("message_id") == broken_id]
    assert failure["level"] == "ERROR" and "jq" in failure["message"].lower()
    (batch_metrics,) = emf_documents(events.runtime)
    assert dimensions(batch_metrics) == [["service"]]
    values = metric_values(batch_metrics)
    latencies = values.pop("EventLatency")
    assert values == {
        "MessagesApplied": [3],
        "MessagesFailed": [1],
        "MessagesDropped": [0],
        "MessagesSkipped": [0],
        "PortRetries": [0],
        "PortThrottled": [0],
        "ColdStart": [1],
    }
    # One latency per message that wrote or deleted an entity, from the moment it reached the queue.
    assert len(latencies) == 3 and all(latency >= 0 for latency in latencies)
    assert metric_units(batch_metrics)["EventLatency"] == "Milliseconds"
    assert local_catalog.client_secret not in events.runtime.log_text()
    assert_imports_only_the_artifact(events.runtime, host_artifact_code)

    # The broken message alone comes back, until the redrive policy moves it to the dead-letter queue.
    assert queues.depth() == 1
    for receive in range(2, int(STACK_PARAMETERS["EventsMaxReceiveCount"]) + 2):
        _expire_visibility(queues, source.invocations[-1])
        received = source.poll()
        if receive <= int(STACK_PARAMETERS["EventsMaxReceiveCount"]):
            assert received == 1
            assert source.invocations[-1]["response"] == {"batchItemFailures": [{"itemIdentifier": broken_id}]}
        else:
            assert received == 0
    assert queues.depth() == 0
    assert [message["Body"] for message in queues.peek(queues.dlq_url)] == [BROKEN_MESSAGE]
    # The warm function's later batches: the broken message alone, and no cold start.
    retries = emf_documents(events.runtime)[1:]
    assert len(retries) == int(STACK_PARAMETERS["EventsMaxReceiveCount"]) - 1
    assert all(metric_values(document)["MessagesFailed"] == [1] for document in retries)
    assert all("ColdStart" not in metric_values(document) for document in retries)
    last = [record for record in events.runtime.log_records() if record.get("message_id") == broken_id][-1]
    assert last["cold_start"] is False


def test_a_config_that_cannot_be_read_fails_the_invocation_and_every_message_returns(
    stack: DeployedStack,
    client: ClientFactory,
    deployed_function: FunctionStarter,
) -> None:
    sqs = client("sqs")
    queue_arn = stack.outputs["EventsQueueARN"]
    queues = EventQueues(
        sqs,
        queue_url=sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"],
        dlq_url=sqs.get_queue_url(QueueName=stack.outputs["EventsDeadLetterQueueARN"].rsplit(":", 1)[1])["QueueUrl"],
        queue_arn=queue_arn,
    )
    body = json.dumps({"resource_type": "AWS::SQS::Queue", "region": f'"{REGION}"', "identifier": '"orders"'})
    queues.send(body, body)
    # The function pointed at a config object that is not in the bucket.
    events = deployed_function("EventsFunction", CONFIG_JSON_FILE_KEY="moved/config.json")
    source = LambdaEventSource(queues, lambda event, _context: events(event))

    assert source.poll() == 2
    (invocation,) = source.invocations
    # A function error (Lambda's Errors metric counts it), not a success listing every message.
    assert isinstance(invocation["error"], HandlerError)
    assert str(invocation["error"]).startswith("BatchNotProcessed: cannot process the batch of 2 messages:")
    assert "moved/config.json" in str(invocation["error"])
    # Nothing deleted: both messages come back (after their retry delay).
    assert queues.depth() == 2
    (failure,) = [metric_values(document) for document in emf_documents(events.runtime)]
    assert failure == {"MessagesFailed": [2], "BatchesFailed": [1], "ColdStart": [1]}
    [logged] = [record for record in events.runtime.log_records() if record.get("level") == "ERROR"]
    assert logged["message"].startswith("cannot process the batch") and logged["messages"] == 2

    # The full sync with the same config fails its invocation too.
    sync = deployed_function("SyncFunction", CONFIG_JSON_FILE_KEY="moved/config.json")
    with pytest.raises(HandlerError, match=r"moved/config\.json"):
        sync({})
    sqs.purge_queue(QueueUrl=queues.queue_url)


def _expire_visibility(queues: EventQueues, invocation: dict[str, Any]) -> None:
    """What the visibility timeout (180 s) would do: the messages reported failed are visible again."""
    failed = {item["itemIdentifier"] for item in invocation["response"]["batchItemFailures"]}
    for record in (record for record in invocation["records"] if record["messageId"] in failed):
        queues.sqs.change_message_visibility(
            QueueUrl=queues.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
        )
