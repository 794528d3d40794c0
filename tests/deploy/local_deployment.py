"""Deploying the SAM application into the local AWS endpoint, as `sam deploy` does into AWS.

`deploy_exporter_stack` uploads the artifact to a bucket of the endpoint, transforms
`deploy/template.yaml` with aws-sam-translator (`transform_sam_template`) with that upload as the
code, calls CloudFormation's `CreateStack` over HTTP and reads back what the stack says it made
(`DeployedStack`: status, outputs, exports, resources).

moto's CloudFormation creates only the resource types it implements and silently skips the others
(a warning in the server's log, no resource in the stack); `DeployedStack.missing` names what the
template has and the stack does not.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from port_aws_exporter.core.config import load_config
from port_aws_exporter.deploy.artifact import LambdaArtifact
from port_aws_exporter.deploy.iam_policy import DEFAULT_POLICY_NAME, read_policy_for_config
from port_aws_exporter.deploy.lambda_target import LambdaTarget
from port_aws_exporter.deploy.sam_transform import default_template_path, transform_sam_template
from port_aws_exporter.local.aws.service_clients import local_client

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATE = default_template_path(PROJECT)
EXAMPLES = PROJECT / "examples"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ARTIFACT_BUCKET = "port-aws-exporter-artifacts"

ClientFactory = Callable[..., Any]


def local_client_factory(endpoint_url: str) -> ClientFactory:
    """`factory(service, region=REGION)`: boto3 clients on the local endpoint (usable in module fixtures)."""

    def make(service: str, region: str = REGION) -> Any:
        return local_client(endpoint_url, service, region)

    return make


@dataclass(frozen=True)
class StackResource:
    """One resource as the stack lists it."""

    logical_id: str
    type: str
    physical_id: str
    status: str


@dataclass(frozen=True)
class DeployedStack:
    """A stack created from the transformed template, as CloudFormation describes it."""

    name: str
    stack_id: str
    status: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    exports: dict[str, str]
    resources: dict[str, StackResource]
    template: dict[str, Any]
    code_uri: str

    @property
    def missing(self) -> dict[str, str]:
        """Logical id -> type of the template's resources the stack does not hold (conditions applied)."""
        present = set(self.resources)
        return {
            logical_id: resource["Type"]
            for logical_id, resource in self.template["Resources"].items()
            if logical_id not in present and self._condition_holds(resource.get("Condition"))
        }

    def physical_id(self, logical_id: str) -> str:
        """The physical id of a resource the stack made."""
        return self.resources[logical_id].physical_id

    def _condition_holds(self, condition: str | None) -> bool:
        # The template's conditions are all "parameter equals a value", or its negation.
        if condition is None:
            return True
        return _evaluate(self.template["Conditions"][condition], self.parameters, self.template["Conditions"])


def _evaluate(expression: Any, parameters: Mapping[str, str], conditions: Mapping[str, Any]) -> bool:
    if "Fn::Equals" in expression:
        left, right = (parameters[side["Ref"]] if isinstance(side, dict) else side for side in expression["Fn::Equals"])
        return bool(left == right)
    if "Fn::Not" in expression:
        return not _evaluate(expression["Fn::Not"][0], parameters, conditions)
    if "Condition" in expression:
        return _evaluate(conditions[expression["Condition"]], parameters, conditions)
    raise AssertionError(f"condition not understood by the test helper: {expression}")


def upload_artifact(client: ClientFactory, artifact: LambdaArtifact, bucket: str = ARTIFACT_BUCKET) -> str:
    """Put the artifact in `bucket` (created if needed), as `sam deploy --resolve-s3` does; its S3 URI."""
    s3 = client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
    key = f"{artifact.target.architecture}/{artifact.path.name}"
    s3.upload_file(str(artifact.path), bucket, key)
    return f"s3://{bucket}/{key}"


def deploy_exporter_stack(
    client: ClientFactory,
    name: str,
    code_uri: str,
    parameters: Mapping[str, str],
    *,
    target: LambdaTarget | None = None,
) -> DeployedStack:
    """Transform the template, create the stack on the endpoint, and describe what it made."""
    template = transform_sam_template(TEMPLATE, code_uri, target=target, region=REGION)
    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return describe_stack(client, name, template, code_uri)


def describe_stack(client: ClientFactory, name: str, template: dict[str, Any], code_uri: str) -> DeployedStack:
    """What CloudFormation says about stack `name`."""
    cloudformation = client("cloudformation")
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    exports = cloudformation.list_exports()["Exports"]
    return DeployedStack(
        name=name,
        stack_id=stack["StackId"],
        status=stack["StackStatus"],
        parameters={p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])},
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        exports={e["Name"]: e["Value"] for e in exports if e["ExportingStackId"] == stack["StackId"]},
        resources={
            s["LogicalResourceId"]: StackResource(
                s["LogicalResourceId"], s["ResourceType"], s.get("PhysicalResourceId", ""), s["ResourceStatus"]
            )
            # moto lists a nameless, typeless entry for each resource it skipped.
            for s in summaries
            if s["LogicalResourceId"]
        },
        template=template,
        code_uri=code_uri,
    )


def policy_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """An IAM policy document as IAM returns it: JSON, or (moto's CloudFormation) a Python repr."""
    if isinstance(document, dict):
        return document
    try:
        parsed: dict[str, Any] = json.loads(document)
    except json.JSONDecodeError:
        # moto stores a role's inline policy made by CloudFormation as str(dict), not as JSON.
        parsed = ast.literal_eval(document)
    return parsed


STACK_NAME = "exporter-local"
# Every parameter away from its default where the template allows, so that each value seen in a
# deployed resource can only have come from the parameter.
STACK_PARAMETERS = {
    "BucketName": "exporter-local-config",
    "ConfigJsonFileKey": "exporter/config.json",
    "FunctionName": "exporter-local-fn",
    "ScheduleExpression": "rate(6 hours)",
    "ScheduleState": "ENABLED",
    "EventsFunctionTimeout": "30",
    "EventsBatchSize": "5",
    "EventsMaximumBatchingWindowInSeconds": "1",
    "EventsMaximumConcurrency": "3",
    "EventsMaxReceiveCount": "2",
    "LogRetentionInDays": "14",
}
SECRET_NAME = "exporter-local/port-credentials"


def deploy_example_stack(client: ClientFactory, artifact: LambdaArtifact) -> DeployedStack:
    """Deploy as the README's steps do, for the example config: its read policy, then the stack.

    The Port credentials secret is made beforehand and passed as `CustomPortCredentialsSecretARN`
    (the original's "reuse a secret" path): moto's CloudFormation cannot create secrets. Like the
    secret the stack would create, it starts empty.
    """
    policy = read_policy_for_config(load_config(EXAMPLES / "config.json"))
    policy_arn = client("iam").create_policy(
        PolicyName=DEFAULT_POLICY_NAME, PolicyDocument=json.dumps(policy.document)
    )["Policy"]["Arn"]
    secret_arn = client("secretsmanager").create_secret(
        Name=SECRET_NAME, Description="Port credentials of port-aws-exporter"
    )["ARN"]
    parameters = {**STACK_PARAMETERS, "CustomIAMPolicyARN": policy_arn, "CustomPortCredentialsSecretARN": secret_arn}
    code_uri = upload_artifact(client, artifact)
    return deploy_exporter_stack(client, STACK_NAME, code_uri, parameters, target=artifact.target)
