"""Sample events: what EventBridge would deliver when a call (or a state change) touches a resource.

    >>> event = sample_event("AWS::SQS::Queue", "DeleteQueue", identifier_values={"QueueName": "jobs"},
    ...                      region="eu-west-1", account_id="123456789012")
    >>> event["detail"]["requestParameters"]["queueUrl"]
    'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs'

A sample describes one resource through its properties (`sample_properties`): plausible defaults
per kind (`port-sample-function`, its ARN…), derived from each other, any of which the caller may
give (`identifier_values`) to describe a real resource. The CloudTrail record carries the request
parameters and response elements of the API call, shaped from botocore's model of the operation
(CloudTrail writes member names with a lower-case first letter), with the values that name the
resource taken from its properties; then every field the kind registry says names the resource is
set from the property it holds. So a sample looks like the real record where a rule reads it.

`sample_case` also says what the exporter should make of the event: the action and the identifiers
that are right for it (the Cloud Control identifier, or the Port entity identifier for a delete),
when the registry knows the event.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from port_aws_exporter.core.kinds.cloudtrail import CloudTrailFacts
from port_aws_exporter.core.kinds.config_items import CONFIG_DETAIL_TYPE, CONFIG_ITEM_FACTS, CONFIG_SOURCE
from port_aws_exporter.core.kinds.registry import KINDS, KindSpec
from port_aws_exporter.eventbridge.cloudtrail import cloudtrail_event
from port_aws_exporter.eventbridge.json_text import utc_timestamp
from port_aws_exporter.rules.event_names import api_event, operation_model

__all__ = [
    "SampleCase",
    "native_sample_case",
    "sample_case",
    "sample_config_item_event",
    "sample_event",
    "sample_native_event",
    "sample_properties",
]

DEFAULT_REGION = "eu-west-1"
DEFAULT_ACCOUNT = "123456789012"

Template = str | Callable[[Mapping[str, str]], str]
_A = "arn:{partition}"


def _rule_arn(props: Mapping[str, str]) -> str:
    bus = props["EventBusName"].rsplit("/", 1)[-1]
    resource = f"rule/{props['Name']}" if bus == "default" else f"rule/{bus}/{props['Name']}"
    return f"arn:{props['partition']}:events:{props['region']}:{props['account']}:{resource}"


# Plausible properties of one resource per kind: the first is its name; `{x}` refers to another
# property or to region, account, partition.
_PROPERTIES: dict[str, dict[str, Template]] = {
    "AWS::Lambda::Function": {
        "FunctionName": "port-sample-function",
        "Arn": _A + ":lambda:{region}:{account}:function:{FunctionName}",
    },
    "AWS::S3::Bucket": {"BucketName": "port-sample-bucket-{account}", "Arn": _A + ":s3:::{BucketName}"},
    "AWS::SQS::Queue": {
        "QueueName": "port-sample-queue",
        "QueueUrl": "https://sqs.{region}.amazonaws.com/{account}/{QueueName}",
        "Arn": _A + ":sqs:{region}:{account}:{QueueName}",
    },
    "AWS::DynamoDB::Table": {
        "TableName": "port-sample-table",
        "Arn": _A + ":dynamodb:{region}:{account}:table/{TableName}",
    },
    "AWS::ECS::Cluster": {
        "ClusterName": "port-sample-cluster",
        "Arn": _A + ":ecs:{region}:{account}:cluster/{ClusterName}",
    },
    "AWS::ECS::Service": {
        "ServiceName": "port-sample-service",
        "ClusterName": "port-sample-cluster",
        "Cluster": _A + ":ecs:{region}:{account}:cluster/{ClusterName}",
        "ServiceArn": _A + ":ecs:{region}:{account}:service/{ClusterName}/{ServiceName}",
    },
    "AWS::RDS::DBInstance": {
        "DBInstanceIdentifier": "port-sample-db",
        "Arn": _A + ":rds:{region}:{account}:db:{DBInstanceIdentifier}",
    },
    "AWS::SNS::Topic": {
        "TopicName": "port-sample-topic",
        "TopicArn": _A + ":sns:{region}:{account}:{TopicName}",
        "SubscriptionArn": "{TopicArn}:6f1c2b0e-8c4d-4c1e-9f0a-1b2c3d4e5f60",
    },
    "AWS::ECR::Repository": {
        "RepositoryName": "port/sample-repository",
        "Arn": _A + ":ecr:{region}:{account}:repository/{RepositoryName}",
    },
    "AWS::EKS::Cluster": {"Name": "port-sample-cluster", "Arn": _A + ":eks:{region}:{account}:cluster/{Name}"},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {
        "LoadBalancerName": "port-sample-alb",
        "LoadBalancerArn": _A + ":elasticloadbalancing:{region}:{account}:loadbalancer/app/{LoadBalancerName}"
        "/50dc6c495c0c9188",
        "ListenerArn": _A + ":elasticloadbalancing:{region}:{account}:listener/app/{LoadBalancerName}"
        "/50dc6c495c0c9188/f2f7dc8efc522ab2",
    },
    "AWS::EC2::Instance": {"InstanceId": "i-0123456789abcdef0"},
    "AWS::IAM::Role": {"RoleName": "port-sample-role", "Arn": _A + ":iam::{account}:role/{RoleName}"},
    "AWS::CloudFormation::Stack": {
        "StackName": "port-sample-stack",
        "StackId": _A + ":cloudformation:{region}:{account}:stack/{StackName}/2f1f9e40-6a3b-11ee-8c99-0242ac120002",
    },
    "AWS::ApiGateway::RestApi": {"RestApiId": "a1b2c3d4e5", "Name": "port-sample-rest-api"},
    "AWS::ApiGatewayV2::Api": {"ApiId": "f6g7h8i9j0", "Name": "port-sample-http-api"},
    "AWS::StepFunctions::StateMachine": {
        "StateMachineName": "port-sample-state-machine",
        "Arn": _A + ":states:{region}:{account}:stateMachine:{StateMachineName}",
    },
    "AWS::Events::Rule": {"Name": "port-sample-rule", "EventBusName": "default", "Arn": _rule_arn},
    "AWS::KMS::Key": {
        "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "Arn": _A + ":kms:{region}:{account}:key/{KeyId}",
    },
    "AWS::Logs::LogGroup": {
        "LogGroupName": "/port/sample-log-group",
        "Arn": _A + ":logs:{region}:{account}:log-group:{LogGroupName}",
    },
    "AWS::SecretsManager::Secret": {
        "Name": "port-sample-secret",
        "Arn": _A + ":secretsmanager:{region}:{account}:secret:{Name}-AbCdEf",
        "Id": "{Arn}",
    },
    "AWS::ACM::Certificate": {
        "CertificateArn": _A + ":acm:{region}:{account}:certificate/12345678-90ab-cdef-1234-567890abcdef",
        "DomainName": "sample.example.com",
    },
    "AWS::ElastiCache::CacheCluster": {
        "CacheClusterId": "port-sample-cache",
        "Arn": _A + ":elasticache:{region}:{account}:cluster:{CacheClusterId}",
    },
    "AWS::ElastiCache::ServerlessCache": {
        "ServerlessCacheName": "port-sample-serverless-cache",
        "Arn": _A + ":elasticache:{region}:{account}:serverlesscache:{ServerlessCacheName}",
    },
    "AWS::Route53::HostedZone": {
        "Id": "Z0123456789ABCDEFGHIJ",
        "Name": "sample.example.com.",
        "HostedZonePath": "/hostedzone/{Id}",
    },
    "AWS::CloudFront::Distribution": {
        "Id": "E2QWRUHAPOMQZL",
        "Arn": _A + ":cloudfront::{account}:distribution/{Id}",
        "DomainName": "d111111abcdef8.cloudfront.net",
    },
    "AWS::Kinesis::Stream": {"Name": "port-sample-stream", "Arn": _A + ":kinesis:{region}:{account}:stream/{Name}"},
    "AWS::EFS::FileSystem": {
        "FileSystemId": "fs-0123456789abcdef0",
        "Arn": _A + ":elasticfilesystem:{region}:{account}:file-system/{FileSystemId}",
    },
    "AWS::Cognito::UserPool": {
        "UserPoolId": "{region}_AbCdEfGhI",
        "Name": "port-sample-user-pool",
        "Arn": _A + ":cognito-idp:{region}:{account}:userpool/{UserPoolId}",
    },
    "AWS::AppRunner::Service": {
        "ServiceName": "port-sample-app",
        "ServiceId": "8fe1e10304f84fd2b0df550fe98a71fa",
        "ServiceArn": _A + ":apprunner:{region}:{account}:service/{ServiceName}/{ServiceId}",
    },
    "AWS::AutoScaling::AutoScalingGroup": {
        "AutoScalingGroupName": "port-sample-asg",
        "Arn": _A + ":autoscaling:{region}:{account}:autoScalingGroup:8d3f5a2e-1111-2222-3333-444455556666"
        ":autoScalingGroupName/{AutoScalingGroupName}",
    },
    "AWS::ElasticBeanstalk::Application": {
        "ApplicationName": "port-sample-application",
        "Arn": _A + ":elasticbeanstalk:{region}:{account}:application/{ApplicationName}",
    },
    "AWS::ElasticBeanstalk::Environment": {
        "EnvironmentName": "port-sample-environment",
        "ApplicationName": "port-sample-application",
        "EnvironmentId": "e-abcdef1234",
        "Arn": _A + ":elasticbeanstalk:{region}:{account}:environment/{ApplicationName}/{EnvironmentName}",
    },
    "AWS::Batch::JobQueue": {
        "JobQueueName": "port-sample-job-queue",
        "JobQueueArn": _A + ":batch:{region}:{account}:job-queue/{JobQueueName}",
    },
    "AWS::OpenSearchService::Domain": {
        "DomainName": "port-sample-domain",
        "Arn": _A + ":es:{region}:{account}:domain/{DomainName}",
    },
    "AWS::Redshift::Cluster": {
        "ClusterIdentifier": "port-sample-cluster",
        "Arn": _A + ":redshift:{region}:{account}:cluster:{ClusterIdentifier}",
    },
}

# API members whose CloudTrail name is not the member name with a lower-case first letter.
_RECORDED_MEMBER_NAMES = {("s3", "Bucket"): "bucketName"}
_ARN_MEMBERS = frozenset({"Arn", "ARN", "ResourceArn", "ResourceARN", "Resource", "ResourceName", "ResourceArns"})
_MAX_DEPTH = 4
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class SampleCase:
    """A sample event and what the exporter should make of it.

    `action` is None and `identifiers` empty when the registry does not know the event: then only
    its shape is plausible. `identifiers` are the identifiers that are right for the event: the
    Cloud Control identifier (or a name the kind's fetcher also reads by) for an upsert, the entity
    identifier (or the Cloud Control one) for a delete.
    """

    event: dict[str, Any]
    kind: str | None
    event_name: str
    action: Literal["upsert", "delete"] | None
    identifiers: frozenset[str]
    properties: Mapping[str, str] = field(default_factory=dict)


def sample_properties(
    kind: str | None,
    *,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    identifier_values: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The properties of a sample resource of `kind`: the defaults, with `identifier_values`
    replacing any of them (the others follow: a given `FunctionName` changes the `Arn`)."""
    templates: dict[str, Template] = dict(_PROPERTIES.get(kind or "", _generic_templates(kind)))
    templates.update(identifier_values or {})
    context = {"region": region, "account": account_id, "partition": _partition(region)}
    values: dict[str, str] = {}
    pending = dict(templates)
    while pending:
        progressed = False
        for name, template in list(pending.items()):
            try:
                values[name] = (
                    template({**context, **values})
                    if callable(template)
                    else template.format_map({**context, **values})
                )
            except KeyError:
                continue
            del pending[name]
            progressed = True
        if not progressed:
            raise ValueError(f"sample properties of {kind} refer to unknown names: {', '.join(sorted(pending))}")
    return values


def sample_event(
    kind: str,
    event_name: str,
    *,
    identifier_values: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    error_code: str | None = None,
    event_time: datetime | str | None = None,
) -> dict[str, Any]:
    """The EventBridge event of the CloudTrail-recorded call `event_name` on one resource of `kind`.

    `identifier_values` describe the resource (property names as in CloudFormation: `FunctionName`,
    `QueueUrl`…); missing ones take plausible defaults. `error_code` makes it a failed call.
    """
    return sample_case(
        kind,
        event_name,
        identifier_values=identifier_values,
        region=region,
        account_id=account_id,
        error_code=error_code,
        event_time=event_time,
    ).event


def sample_native_event(
    kind: str,
    *,
    deleted: bool = False,
    identifier_values: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    event_time: datetime | str | None = None,
) -> dict[str, Any]:
    """The kind's native lifecycle event (EC2 state change…) for one resource; `deleted` for the
    status that means it is gone. Raises ValueError when the kind has none."""
    return native_sample_case(
        kind,
        deleted=deleted,
        identifier_values=identifier_values,
        region=region,
        account_id=account_id,
        event_time=event_time,
    ).event


def sample_case(
    kind: str | None,
    event_name: str,
    *,
    event_source: str | None = None,
    identifier_values: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    error_code: str | None = None,
    event_time: datetime | str | None = None,
) -> SampleCase:
    """A sample CloudTrail event of `event_name` about a resource of `kind` (None: a kind the registry
    does not know, then `event_source` is needed), and what the exporter should make of it."""
    spec = KINDS.get(kind or "")
    facts = spec.cloudtrail if spec is not None else None
    source = event_source or (facts.event_source if facts else None)
    if source is None:
        raise ValueError(f"no CloudTrail event source is known for {kind}: give event_source")
    props = sample_properties(kind, region=region, account_id=account_id, identifier_values=identifier_values)
    request, response = _api_shapes(source, event_name, props)
    event = cloudtrail_event(
        source,
        event_name,
        region=region,
        account_id=account_id,
        request_parameters=request,
        response_elements=None if error_code else response,
        error_code=error_code,
        event_time=event_time,
    )
    known = facts is not None and spec is not None and facts.event_source == source
    if not known or facts is None or spec is None:
        return SampleCase(event, kind, event_name, None, frozenset(), props)
    if facts.api_version:
        event["detail"]["apiVersion"] = facts.api_version
    if event_name not in facts.event_names:
        # An operation the registry does not list for the kind: its shape is botocore's, and it
        # does not delete the resource.
        return SampleCase(event, kind, event_name, "upsert", _expected(spec, facts, "upsert", props), props)
    action = facts.action_of(event_name)
    identifier_source = facts.delete_source_for(event_name) if action == "delete" else facts.source_for(event_name)
    for item in identifier_source.fields if identifier_source is not None else ():
        if error_code is None or not item.path.startswith("$.detail.responseElements"):
            _put(event, item.path, props[item.holds])
    shared = facts.filter_for(event_name)
    literal = next((matcher for matcher in shared.matchers if isinstance(matcher, str)), None) if shared else None
    if shared is not None and literal is not None:
        _put(event, "$." + shared.path, literal)  # e.g. the resource type of a shared tagging call
    return SampleCase(event, kind, event_name, action, _expected(spec, facts, action, props), props)


def native_sample_case(
    kind: str,
    *,
    deleted: bool = False,
    identifier_values: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    event_time: datetime | str | None = None,
) -> SampleCase:
    """A sample of the kind's native lifecycle event, and what the exporter should make of it."""
    spec = KINDS.get(kind)
    facts = spec.cloudtrail if spec is not None else None
    native = facts.native_event if facts is not None else None
    if spec is None or facts is None or native is None:
        raise ValueError(f"the registry knows no native event for {kind}")
    props = sample_properties(kind, region=region, account_id=account_id, identifier_values=identifier_values)
    time = event_time if isinstance(event_time, str) else utc_timestamp(event_time)
    event: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": native.detail_type,
        "source": facts.eventbridge_source,
        "account": account_id,
        "time": time,
        "region": region,
        "resources": [],
        "detail": {},
    }
    for item in native.fields:
        _put(event, item.path, props[item.holds])
    status = native.delete_statuses[0] if deleted else native.sample_status
    _put(event, native.status.path, status)
    action: Literal["upsert", "delete"] = "delete" if deleted else "upsert"
    return SampleCase(event, kind, native.detail_type, action, _expected(spec, facts, action, props), props)


def sample_config_item_event(
    kind: str,
    status: str = "OK",
    *,
    identifier_values: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    event_time: datetime | str | None = None,
) -> dict[str, Any]:
    """AWS Config's `Config Configuration Item Change` event for one resource of `kind` (its
    `configurationItemStatus` is `status`: `ResourceDiscovered`, `OK`, `ResourceDeleted`…), with the
    item fields the registry reads (`core.kinds.config_items`) set from the resource's properties.
    Raises ValueError when the registry has no Config facts for the kind."""
    facts = CONFIG_ITEM_FACTS.get(kind)
    if facts is None:
        raise ValueError(f"the registry has no AWS Config facts for {kind}")
    props = sample_properties(kind, region=region, account_id=account_id, identifier_values=identifier_values)
    time = event_time if isinstance(event_time, str) else utc_timestamp(event_time)
    item: dict[str, Any] = {
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": time,
        "configurationItemStatus": status,
        "resourceType": kind,
        "awsAccountId": account_id,
        "awsRegion": region,
        "configuration": None if status.startswith("ResourceDeleted") else {},
        "tags": {},
    }
    for name, holds in facts.fields:
        if name not in item and holds in props:
            item[name] = props[holds]
    if "Arn" in props:
        item.setdefault("ARN", props["Arn"])
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": CONFIG_DETAIL_TYPE,
        "source": CONFIG_SOURCE,
        "account": account_id,
        "time": time,
        "region": region,
        "resources": [item["ARN"]] if "ARN" in item else [],
        "detail": {
            "recordVersion": "1.3",
            "messageType": "ConfigurationItemChangeNotification",
            "configurationItem": item,
            "notificationCreationTime": time,
        },
    }


def _expected(
    spec: KindSpec, facts: CloudTrailFacts, action: Literal["upsert", "delete"], props: Mapping[str, str]
) -> frozenset[str]:
    cloud_control = "|".join(props[name] for name in spec.primary_identifier if name in props)
    names = [cloud_control, *(props[name] for name in facts.upsert_alternatives if name in props)]
    if action == "delete" and facts.entity_property is not None and facts.entity_property in props:
        names.append(props[facts.entity_property])
    return frozenset(name for name in names if name)


def _generic_templates(kind: str | None) -> dict[str, Template]:
    if kind is None or kind.count("::") != 2:
        return {"Name": "port-sample-resource", "Arn": _A + ":service:{region}:{account}:resource/{Name}"}
    _, service, type_name = kind.split("::")
    resource = type_name.lower()
    return {
        "Name": f"port-sample-{resource}",
        "Arn": _A + f":{service.lower()}:{{region}}:{{account}}:{resource}/{{Name}}",
    }


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _api_shapes(
    event_source: str, event_name: str, props: Mapping[str, str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The request parameters and response elements of the call, from botocore's model."""
    event = api_event(event_source, event_name)
    model = operation_model(event.service, event.operation) if event is not None else None
    if event is None or model is None:
        return {}, None
    request = _structure(event.service, model.input_shape, props, 0) if model.input_shape is not None else None
    response = _structure(event.service, model.output_shape, props, 0) if model.output_shape is not None else None
    return request or {}, response or None


# HTTP-level members of an API's output (status code, headers) are not in CloudTrail's records:
# a call whose output has only those, like Lambda's DeleteFunction, records `responseElements: null`.
_NOT_RECORDED_LOCATIONS = frozenset({"statusCode", "header", "headers"})


def _structure(service: str, shape: Any, props: Mapping[str, str], depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for member, member_shape in shape.members.items():
        if member_shape.serialization.get("location") in _NOT_RECORDED_LOCATIONS:
            continue
        value = _value(service, member, member_shape, props, depth + 1)
        if value is not None:
            recorded = _RECORDED_MEMBER_NAMES.get((service, member)) or member[:1].lower() + member[1:]
            document[recorded] = value
    return document


def _value(service: str, member: str, shape: Any, props: Mapping[str, str], depth: int) -> Any:
    kind = shape.type_name
    if kind == "string":
        return _string_value(member, shape, props)
    if depth > _MAX_DEPTH:
        return None
    if kind == "structure":
        return _structure(service, shape, props, depth) or None
    if kind == "list":
        item = _value(service, member, shape.member, props, depth)
        return None if item is None else [item]
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return "Jan 1, 2024, 12:00:00 AM"
    return None


def _string_value(recorded_member: str, shape: Any, props: Mapping[str, str]) -> str:
    member = recorded_member[:1].upper() + recorded_member[1:]  # REST APIs' members are `id`, `name`
    if member in props:
        return props[member]
    if member + "Name" in props:  # `Bucket` names a bucket by its BucketName
        return props[member + "Name"]
    if member.endswith("Arn") and "Arn" in props and props and member[:-3] in next(iter(props)):
        return props["Arn"]  # `FunctionArn` of a function
    if member == "Id":
        identifier = next((name for name in props if name.endswith("Id")), None)
        if identifier is not None:
            return props[identifier]
    if member == "Name" and props:
        return props[next(iter(props))]
    if member in _ARN_MEMBERS and "Arn" in props:
        return props["Arn"]
    enum = getattr(shape, "enum", None)
    if enum:
        return str(enum[0])
    return f"sample-{recorded_member[:1].lower()}{recorded_member[1:]}"


def _put(document: dict[str, Any], path: str, value: object) -> None:
    """Set `value` at a JSONPath of the subset the registry uses (`$.a.b[0].c`), creating the way."""
    steps: list[str | int] = [key or int(index) for key, index in _PATH_STEP.findall(path[1:])]
    node: Any = document
    for position, step in enumerate(steps):
        if position == len(steps) - 1:
            if isinstance(step, int):
                _grow(node, step)
            node[step] = value
            return
        fresh: Any = [] if isinstance(steps[position + 1], int) else {}
        if isinstance(step, int):
            _grow(node, step)
            if not isinstance(node[step], dict | list):
                node[step] = fresh
        elif not isinstance(node.get(step), dict | list):
            node[step] = fresh
        node = node[step]


def _grow(items: list[Any], index: int) -> None:
    while len(items) <= index:
        items.append({})
