"""The CloudTrail facts of the kind registry: which API calls touch a kind and where they name it.

Each `CloudTrailFacts` says, for one kind: the CloudTrail event source; the create, update, tag and
delete event names exactly as CloudTrail records them (versioned where the service versions them,
e.g. Lambda's `CreateFunction20150331`); and, per group of event names, which fields of the event
name the resource (`EventField`: a JSONPath and the resource property it holds) and the jq
expression that turns them into the Cloud Control identifier. Where the Port entity identifier
that delete messages must carry differs from that identifier (an SQS queue is read by URL, its
entity is keyed by name), `delete_identifier` gives it. Some kinds also have a native EventBridge
event that describes their lifecycle better than the API calls (EC2 instance state changes,
CloudFormation stack status changes).

Expressions are jq over variables: `$<Property>` for each property the fields hold (an empty string
when the event lacks it), and `$region`, `$account`, `$partition` of the event.

The rule generator, the rule linter and the sample events all read this table. The facts are our
own, written from AWS's API shapes, CloudTrail samples and Port's examples; a test checks them
against `../shared/reference/data/trail-events.json`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CLOUDTRAIL_FACTS",
    "CloudTrailFacts",
    "EventField",
    "IdentifierSource",
    "NativeEvent",
    "ResourceFilter",
    "base_operation_name",
]

Action = Literal["upsert", "delete"]

# CloudTrail versions some event names after the API version of the call (Lambda's
# `CreateFunction20150331`, CloudFront's `CreateDistribution2020_05_31`), a few with a revision
# (`UpdateFunctionConfiguration20150331v2`).
_VERSION_SUFFIX = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<version>(?:\d{4}_\d{2}_\d{2}|\d{8})(?:v\d+)?)$")


def base_operation_name(event_name: str) -> str:
    """The operation an event name records, without a version suffix (`CreateFunction20150331`
    -> `CreateFunction`)."""
    match = _VERSION_SUFFIX.match(event_name)
    return match.group("base") if match else event_name


@dataclass(frozen=True)
class EventField:
    """A value in an event that names the resource: where it sits and which property it holds."""

    path: str
    holds: str
    # An optional field may be absent without making the identifier unknown (e.g. a default bus name).
    optional: bool = False


@dataclass(frozen=True)
class IdentifierSource:
    """Where the events of `event_names` (every other event of the kind when empty) carry the
    identifier: the fields to read, tried in order for each property, and the jq expression that
    makes the identifier of them."""

    event_names: tuple[str, ...]
    fields: tuple[EventField, ...]
    expression: str

    @property
    def properties(self) -> tuple[str, ...]:
        """The properties the fields hold, in order, without repeats."""
        return tuple(dict.fromkeys(item.holds for item in self.fields))

    def required_properties(self) -> tuple[str, ...]:
        """The properties without which the identifier is unknown: those the expression uses that no
        optional field holds."""
        return required_properties(self.fields, self.expression)


def required_properties(fields: tuple[EventField, ...], expression: str) -> tuple[str, ...]:
    """The properties `expression` uses (`$Name`) that some non-optional field holds."""
    used = set(re.findall(r"\$([A-Za-z0-9_]+)", expression))
    return tuple(dict.fromkeys(item.holds for item in fields if item.holds in used and not item.optional))


@dataclass(frozen=True)
class ResourceFilter:
    """A pattern condition keeping only the events of `event_names` that are about this kind, for
    calls several resource types share (`TagResource` on an ECS service or a task)."""

    event_names: tuple[str, ...]
    path: str  # dotted path of the pattern, e.g. "detail.requestParameters.resourceArn"
    matchers: tuple[object, ...]

    def admits(self, event: Mapping[str, Any]) -> bool:
        """Whether an event passes the condition, as EventBridge decides it for the matchers used
        here (a string, `prefix`, `wildcard`): some value at the path (arrays flattened, as
        EventBridge does) matches some matcher. A test holds this to `eventbridge.pattern`."""
        values = _values_at(event, self.path.split("."))
        return any(_matches(matcher, value) for matcher in self.matchers for value in values)


def _values_at(node: object, keys: list[str]) -> list[object]:
    if isinstance(node, list):
        return [found for element in node for found in _values_at(element, keys)]
    if not keys:
        return [node]
    if not isinstance(node, Mapping) or keys[0] not in node:
        return []
    return _values_at(node[keys[0]], keys[1:])


def _matches(matcher: object, value: object) -> bool:
    if isinstance(matcher, str):
        return value == matcher
    if not isinstance(matcher, Mapping) or not isinstance(value, str):
        return False
    if "prefix" in matcher:
        return value.startswith(str(matcher["prefix"]))
    if "wildcard" in matcher:
        parts = (re.escape(part) for part in str(matcher["wildcard"]).split("*"))
        return re.fullmatch(".*".join(parts), value, flags=re.DOTALL) is not None
    raise ValueError(f"a resource filter matcher the registry does not use: {matcher!r}")


@dataclass(frozen=True)
class NativeEvent:
    """A service's own EventBridge event for the kind's lifecycle (not an API call)."""

    detail_type: str
    fields: tuple[EventField, ...]
    expression: str
    status: EventField
    delete_statuses: tuple[str, ...]
    sample_status: str  # a status of a resource that exists, for sample events
    # The entity identifier for a delete, when it is not the Cloud Control identifier.
    delete_expression: str | None = None


@dataclass(frozen=True)
class CloudTrailFacts:
    """What CloudTrail records about one kind, and how its events name the resource."""

    event_source: str
    create: tuple[str, ...]
    update: tuple[str, ...]
    tag: tuple[str, ...]
    delete: tuple[str, ...]
    identifiers: tuple[IdentifierSource, ...]
    # For delete events, when the Port entity identifier is not the Cloud Control one.
    delete_identifier: IdentifierSource | None = None
    # The property the entity identifier is (Port's example mappings), when not the Cloud Control one.
    entity_property: str | None = None
    # Other properties the kind's fetcher reads a resource by (a native fetcher taking a name).
    upsert_alternatives: tuple[str, ...] = ()
    filters: tuple[ResourceFilter, ...] = ()
    native_event: NativeEvent | None = None
    # apiVersion values of other APIs logged under the same event source (classic ELB), to drop.
    excluded_api_versions: tuple[str, ...] = ()
    api_version: str | None = None
    confidence: Literal["high", "medium"] = "high"
    notes: str = ""

    @property
    def eventbridge_source(self) -> str:
        """The EventBridge `source` of the kind's CloudTrail events (`aws.` + the service prefix)."""
        return "aws." + self.event_source.split(".", 1)[0]

    @property
    def event_names(self) -> tuple[str, ...]:
        """Every event name of the kind, create first and delete last, without repeats."""
        return tuple(dict.fromkeys((*self.create, *self.update, *self.tag, *self.delete)))

    def action_of(self, event_name: str) -> Action:
        """What an event of this name means for the resource."""
        return "delete" if event_name in self.delete else "upsert"

    def source_for(self, event_name: str) -> IdentifierSource | None:
        """Where an event of this name carries the Cloud Control identifier (the default source for
        names without their own), or None when the kind has no default."""
        named = next((source for source in self.identifiers if event_name in source.event_names), None)
        return named or self.default_source

    @property
    def default_source(self) -> IdentifierSource | None:
        """The source of the names no other source lists."""
        return next((source for source in self.identifiers if not source.event_names), None)

    def delete_source_for(self, event_name: str) -> IdentifierSource | None:
        """Where a delete event carries the entity identifier."""
        if self.delete_identifier is not None and event_name in self.delete_identifier.event_names:
            return self.delete_identifier
        return self.source_for(event_name)

    def filter_for(self, event_name: str) -> ResourceFilter | None:
        """The condition that keeps only this kind's events of a shared name, if any."""
        return next((item for item in self.filters if event_name in item.event_names), None)


def _request(name: str, holds: str, *, optional: bool = False) -> EventField:
    return EventField(f"$.detail.requestParameters.{name}", holds, optional)


def _response(name: str, holds: str) -> EventField:
    return EventField(f"$.detail.responseElements.{name}", holds)


def _by(names: tuple[str, ...], *fields: EventField, expression: str | None = None) -> IdentifierSource:
    return IdentifierSource(names, fields, expression or f"${fields[0].holds}")


def _default(*fields: EventField, expression: str | None = None) -> IdentifierSource:
    return _by((), *fields, expression=expression)


def _after(prop: str, marker: str) -> str:
    """The text after the first `marker` (the resource part of an ARN), or the value as is."""
    return f'${prop} | if contains("{marker}") then .[(index("{marker}") + {len(marker)}):] else . end'


def _last(prop: str, separator: str) -> str:
    return f'${prop} | split("{separator}") | last'


def _arn_filter(names: tuple[str, ...], path: str, resource: str) -> ResourceFilter:
    return ResourceFilter(names, path, ({"wildcard": f"*{resource}*"},))


# jq for a Lambda function named by name, name:qualifier, full ARN or partial ARN.
_LAMBDA_NAME = '$FunctionName | sub("^.*:function:"; "") | split(":")[0]'
_LAMBDA_TAGS = ("TagResource20170331v2", "UntagResource20170331v2")
_TAGS = ("TagResource", "UntagResource")
# The ARN of a rule named in a call: `rule/<name>` on the default bus, `rule/<bus>/<name>` on another.
_RULE_ARN = (
    '"arn:\\($partition):events:\\($region):\\($account):rule/" + (if $EventBusName == "" or '
    '$EventBusName == "default" then "" else ($EventBusName | split("/") | last) + "/" end) + $Name'
)
_RDS_TAGS = ("AddTagsToResource", "RemoveTagsFromResource")

CLOUDTRAIL_FACTS: dict[str, CloudTrailFacts] = {
    "AWS::Lambda::Function": CloudTrailFacts(
        event_source="lambda.amazonaws.com",
        create=("CreateFunction20150331",),
        update=(
            "UpdateFunctionConfiguration20150331v2",
            "UpdateFunctionCode20150331v2",
            "PutFunctionConcurrency20171031",
            "DeleteFunctionConcurrency20171031",
        ),
        tag=_LAMBDA_TAGS,
        delete=("DeleteFunction20150331",),
        identifiers=(
            _by(
                ("CreateFunction20150331", "UpdateFunctionConfiguration20150331v2", "UpdateFunctionCode20150331v2"),
                _response("functionName", "FunctionName"),
                _request("functionName", "FunctionName"),
                expression=_LAMBDA_NAME,
            ),
            _by(_LAMBDA_TAGS, _request("resource", "Arn"), expression=_LAMBDA_NAME.replace("FunctionName", "Arn")),
            _default(_request("functionName", "FunctionName"), expression=_LAMBDA_NAME),
        ),
        filters=(_arn_filter(_LAMBDA_TAGS, "detail.requestParameters.resource", ":function:"),),
        notes="functionName may be a name, name:qualifier or (partial) ARN; tag calls name the function ARN",
    ),
    "AWS::S3::Bucket": CloudTrailFacts(
        event_source="s3.amazonaws.com",
        create=("CreateBucket",),
        update=(
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            "PutBucketVersioning",
            "PutBucketLifecycle",
            "DeleteBucketLifecycle",
            "PutBucketAcl",
            "PutBucketPublicAccessBlock",
            "DeleteBucketPublicAccessBlock",
            "PutBucketLogging",
            "PutBucketWebsite",
            "DeleteBucketWebsite",
            "PutBucketCors",
            "DeleteBucketCors",
            "PutBucketReplication",
            "DeleteBucketReplication",
            "PutBucketNotification",
            "PutBucketOwnershipControls",
            "DeleteBucketOwnershipControls",
        ),
        tag=("PutBucketTagging", "DeleteBucketTagging"),
        delete=("DeleteBucket",),
        identifiers=(_default(_request("bucketName", "BucketName")),),
        confidence="high",
    ),
    "AWS::SQS::Queue": CloudTrailFacts(
        event_source="sqs.amazonaws.com",
        create=("CreateQueue",),
        update=("SetQueueAttributes", "AddPermission", "RemovePermission"),
        tag=("TagQueue", "UntagQueue"),
        delete=("DeleteQueue",),
        identifiers=(
            _by(("CreateQueue",), _response("queueUrl", "QueueUrl")),
            _default(_request("queueUrl", "QueueUrl")),
        ),
        delete_identifier=_by(("DeleteQueue",), _request("queueUrl", "QueueUrl"), expression=_last("QueueUrl", "/")),
        entity_property="QueueName",
        notes="read by queue URL, deleted by queue name (Port's mapping keys queues by name)",
    ),
    "AWS::DynamoDB::Table": CloudTrailFacts(
        event_source="dynamodb.amazonaws.com",
        create=("CreateTable",),
        update=("UpdateTable", "UpdateTimeToLive", "UpdateContinuousBackups"),
        tag=_TAGS,
        delete=("DeleteTable",),
        identifiers=(
            _by(_TAGS, _request("resourceArn", "Arn"), expression=_after("Arn", ":table/")),
            _default(_request("tableName", "TableName"), expression=_after("TableName", ":table/")),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":table/"),),
    ),
    "AWS::ECS::Cluster": CloudTrailFacts(
        event_source="ecs.amazonaws.com",
        create=("CreateCluster",),
        update=("UpdateCluster", "UpdateClusterSettings", "PutClusterCapacityProviders"),
        tag=_TAGS,
        delete=("DeleteCluster",),
        identifiers=(
            _by(_TAGS, _request("resourceArn", "Arn"), expression=_after("Arn", ":cluster/")),
            _default(_response("cluster.clusterName", "ClusterName")),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":cluster/"),),
        confidence="medium",
        notes="from the ECS API shapes and Port's example rule",
    ),
    "AWS::ECS::Service": CloudTrailFacts(
        event_source="ecs.amazonaws.com",
        create=("CreateService",),
        update=("UpdateService",),
        tag=_TAGS,
        delete=("DeleteService",),
        identifiers=(
            _by(
                _TAGS,
                _request("resourceArn", "ServiceArn"),
                expression='$ServiceArn | if test(":service/[^/]+/") then "\\(.)|\\(split(":service/")[0]):cluster/'
                '\\(split(":service/")[1] | split("/")[0])" else "" end',
            ),
            _default(
                _response("service.serviceArn", "ServiceArn"),
                _response("service.clusterArn", "Cluster"),
                expression='"\\($ServiceArn)|\\($Cluster)"',
            ),
        ),
        delete_identifier=_by(("DeleteService",), _response("service.serviceName", "ServiceName")),
        entity_property="ServiceName",
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":service/"),),
        notes="Cloud Control identifier ServiceArn|Cluster; tag calls give the service ARN, "
        "whose path names the cluster",
    ),
    "AWS::RDS::DBInstance": CloudTrailFacts(
        event_source="rds.amazonaws.com",
        create=(
            "CreateDBInstance",
            "CreateDBInstanceReadReplica",
            "RestoreDBInstanceFromDBSnapshot",
            "RestoreDBInstanceFromS3",
            "RestoreDBInstanceToPointInTime",
        ),
        update=("ModifyDBInstance", "RebootDBInstance", "StartDBInstance", "StopDBInstance"),
        tag=_RDS_TAGS,
        delete=("DeleteDBInstance",),
        identifiers=(
            _by(
                ("RestoreDBInstanceToPointInTime",),
                _request("targetDBInstanceIdentifier", "DBInstanceIdentifier"),
                expression="$DBInstanceIdentifier | ascii_downcase",
            ),
            _by(_RDS_TAGS, _request("resourceName", "Arn"), expression=_last("Arn", ":") + " | ascii_downcase"),
            _default(
                _request("dBInstanceIdentifier", "DBInstanceIdentifier"),
                expression="$DBInstanceIdentifier | ascii_downcase",
            ),
        ),
        filters=(_arn_filter(_RDS_TAGS, "detail.requestParameters.resourceName", ":db:"),),
        notes="RDS keeps identifiers in lower case; a ModifyDBInstance rename (newDBInstanceIdentifier) "
        "is seen as an update of the old name",
    ),
    "AWS::SNS::Topic": CloudTrailFacts(
        event_source="sns.amazonaws.com",
        create=("CreateTopic",),
        update=(
            "SetTopicAttributes",
            "Subscribe",
            "Unsubscribe",
            "AddPermission",
            "RemovePermission",
            "PutDataProtectionPolicy",
        ),
        tag=_TAGS,
        delete=("DeleteTopic",),
        identifiers=(
            _by(("CreateTopic",), _response("topicArn", "TopicArn")),
            _by(
                ("Unsubscribe",),
                _request("subscriptionArn", "SubscriptionArn"),
                expression='$SubscriptionArn | sub(":[^:]*$"; "")',
            ),
            _by((*_TAGS, "PutDataProtectionPolicy"), _request("resourceArn", "TopicArn")),
            _default(_request("topicArn", "TopicArn")),
        ),
        delete_identifier=_by(("DeleteTopic",), _request("topicArn", "TopicArn"), expression=_last("TopicArn", ":")),
        entity_property="TopicName",
        notes="read by topic ARN, deleted by topic name (Port's mapping keys topics by name)",
    ),
    "AWS::ECR::Repository": CloudTrailFacts(
        event_source="ecr.amazonaws.com",
        create=("CreateRepository",),
        update=(
            "PutLifecyclePolicy",
            "DeleteLifecyclePolicy",
            "SetRepositoryPolicy",
            "DeleteRepositoryPolicy",
            "PutImageScanningConfiguration",
            "PutImageTagMutability",
        ),
        tag=_TAGS,
        delete=("DeleteRepository",),
        identifiers=(
            _by(_TAGS, _request("resourceArn", "Arn"), expression=_after("Arn", ":repository/")),
            _default(_request("repositoryName", "RepositoryName")),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":repository/"),),
        notes="repository names may contain '/': the name is everything after ':repository/' of the ARN",
    ),
    "AWS::EKS::Cluster": CloudTrailFacts(
        event_source="eks.amazonaws.com",
        create=("CreateCluster",),
        update=(
            "UpdateClusterConfig",
            "UpdateClusterVersion",
            "AssociateEncryptionConfig",
            "AssociateIdentityProviderConfig",
            "DisassociateIdentityProviderConfig",
        ),
        tag=_TAGS,
        delete=("DeleteCluster",),
        identifiers=(
            _by(
                ("CreateCluster", "DeleteCluster"),
                _response("cluster.name", "Name"),
                _request("name", "Name"),
            ),
            _by(_TAGS, _request("resourceArn", "Arn"), expression=_after("Arn", ":cluster/")),
            _default(_request("name", "Name")),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":cluster/"),),
        notes="CreateCluster/DeleteCluster also exist for ECS and Redshift: the event source tells them apart",
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": CloudTrailFacts(
        event_source="elasticloadbalancing.amazonaws.com",
        create=("CreateLoadBalancer",),
        update=(
            "ModifyLoadBalancerAttributes",
            "SetSecurityGroups",
            "SetSubnets",
            "SetIpAddressType",
            "CreateListener",
            "ModifyListener",
            "DeleteListener",
        ),
        tag=("AddTags", "RemoveTags"),
        delete=("DeleteLoadBalancer",),
        identifiers=(
            _by(("CreateLoadBalancer",), _response("loadBalancers[0].loadBalancerArn", "LoadBalancerArn")),
            _by(("CreateListener", "ModifyListener"), _response("listeners[0].loadBalancerArn", "LoadBalancerArn")),
            _by(
                ("DeleteListener",),
                _request("listenerArn", "ListenerArn"),
                expression='$ListenerArn | sub(":listener/"; ":loadbalancer/") | sub("/[^/]*$"; "")',
            ),
            _by(("AddTags", "RemoveTags"), _request("resourceArns[0]", "LoadBalancerArn")),
            _default(_request("loadBalancerArn", "LoadBalancerArn")),
        ),
        delete_identifier=_by(
            ("DeleteLoadBalancer",),
            _request("loadBalancerArn", "LoadBalancerArn"),
            expression='$LoadBalancerArn | split("/")[2]',
        ),
        entity_property="LoadBalancerName",
        upsert_alternatives=("LoadBalancerName",),
        filters=(_arn_filter(("AddTags", "RemoveTags"), "detail.requestParameters.resourceArns", ":loadbalancer/"),),
        excluded_api_versions=("2012-06-01",),
        api_version="2015-12-01",
        confidence="medium",
        notes="classic ELB logs the same names under the same source (apiVersion 2012-06-01): excluded; "
        "Port's mapping keys load balancers by name",
    ),
    "AWS::EC2::Instance": CloudTrailFacts(
        event_source="ec2.amazonaws.com",
        create=("RunInstances",),
        update=(
            "ModifyInstanceAttribute",
            "StartInstances",
            "StopInstances",
            "RebootInstances",
            "MonitorInstances",
            "UnmonitorInstances",
        ),
        tag=("CreateTags", "DeleteTags"),
        delete=("TerminateInstances",),
        identifiers=(
            _by(("RunInstances",), _response("instancesSet.items[0].instanceId", "InstanceId")),
            _by(("ModifyInstanceAttribute",), _request("instanceId", "InstanceId")),
            _by(("CreateTags", "DeleteTags"), _request("resourcesSet.items[0].resourceId", "InstanceId")),
            _default(_request("instancesSet.items[0].instanceId", "InstanceId")),
        ),
        filters=(
            ResourceFilter(
                ("CreateTags", "DeleteTags"),
                "detail.requestParameters.resourcesSet.items.resourceId",
                ({"prefix": "i-"},),
            ),
        ),
        native_event=NativeEvent(
            detail_type="EC2 Instance State-change Notification",
            fields=(EventField("$.detail.instance-id", "InstanceId"),),
            expression="$InstanceId",
            status=EventField("$.detail.state", "State"),
            delete_statuses=("terminated",),
            sample_status="running",
        ),
        notes="an API call may name several instances and a rule reads only the first; the state-change "
        "event covers each instance's lifecycle",
    ),
    "AWS::IAM::Role": CloudTrailFacts(
        event_source="iam.amazonaws.com",
        create=("CreateRole",),
        update=(
            "UpdateRole",
            "UpdateRoleDescription",
            "UpdateAssumeRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary",
        ),
        tag=("TagRole", "UntagRole"),
        delete=("DeleteRole",),
        identifiers=(_default(_request("roleName", "RoleName")),),
    ),
    "AWS::CloudFormation::Stack": CloudTrailFacts(
        event_source="cloudformation.amazonaws.com",
        create=("CreateStack",),
        update=("UpdateStack", "ExecuteChangeSet", "UpdateTerminationProtection", "SetStackPolicy"),
        tag=(),
        delete=("DeleteStack",),
        identifiers=(
            _by(("CreateStack", "UpdateStack"), _response("stackId", "StackId")),
            _default(_request("stackName", "StackName")),
        ),
        delete_identifier=_by(
            ("DeleteStack",),
            _request("stackName", "StackName"),
            expression='$StackName | if startswith("arn:") then split("/")[1] else . end',
        ),
        entity_property="StackName",
        upsert_alternatives=("StackName",),
        native_event=NativeEvent(
            detail_type="CloudFormation Stack Status Change",
            fields=(EventField("$.detail.stack-id", "StackId"),),
            expression="$StackId",
            status=EventField("$.detail.status-details.status", "StackStatus"),
            delete_statuses=("DELETE_COMPLETE",),
            sample_status="UPDATE_COMPLETE",
            delete_expression='$StackId | split("/")[1]',
        ),
        notes="most calls name the stack by name (the native fetcher reads by name or id); Port's mapping "
        "keys stacks by name; the status-change event reports the end of each operation",
    ),
    "AWS::ApiGateway::RestApi": CloudTrailFacts(
        event_source="apigateway.amazonaws.com",
        create=("CreateRestApi", "ImportRestApi"),
        update=("PutRestApi", "UpdateRestApi"),
        tag=(),
        delete=("DeleteRestApi",),
        identifiers=(
            _by(("CreateRestApi", "ImportRestApi"), _response("id", "RestApiId")),
            _default(_request("restApiId", "RestApiId")),
        ),
    ),
    "AWS::ApiGatewayV2::Api": CloudTrailFacts(
        event_source="apigateway.amazonaws.com",
        create=("CreateApi", "ImportApi"),
        update=("ReimportApi", "UpdateApi"),
        tag=(),
        delete=("DeleteApi",),
        identifiers=(
            _by(("CreateApi", "ImportApi"), _response("apiId", "ApiId")),
            _default(_request("apiId", "ApiId")),
        ),
        confidence="medium",
        notes="from the API Gateway v2 API shapes and Port's example rule",
    ),
    "AWS::StepFunctions::StateMachine": CloudTrailFacts(
        event_source="states.amazonaws.com",
        create=("CreateStateMachine",),
        update=("UpdateStateMachine",),
        tag=_TAGS,
        delete=("DeleteStateMachine",),
        identifiers=(
            _by(("CreateStateMachine",), _response("stateMachineArn", "Arn")),
            _by(_TAGS, _request("resourceArn", "Arn")),
            _default(_request("stateMachineArn", "Arn")),
        ),
        delete_identifier=_by(
            ("DeleteStateMachine",), _request("stateMachineArn", "Arn"), expression=_last("Arn", ":")
        ),
        entity_property="StateMachineName",
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":stateMachine:"),),
        notes="read by ARN, deleted by name (Port's mapping keys state machines by name)",
    ),
    "AWS::Events::Rule": CloudTrailFacts(
        event_source="events.amazonaws.com",
        create=("PutRule",),
        update=("PutTargets", "RemoveTargets", "EnableRule", "DisableRule"),
        tag=_TAGS,
        delete=("DeleteRule",),
        identifiers=(
            _by(("PutRule",), _response("ruleArn", "Arn")),
            _by(
                ("PutTargets", "RemoveTargets"),
                _request("rule", "Name"),
                _request("eventBusName", "EventBusName", optional=True),
                expression=_RULE_ARN,
            ),
            _by(_TAGS, _request("resourceARN", "Arn")),
            _default(
                _request("name", "Name"),
                _request("eventBusName", "EventBusName", optional=True),
                expression=_RULE_ARN,
            ),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceARN", ":rule/"),),
        confidence="medium",
        notes="calls other than PutRule name the rule; its ARN is built from the bus, region and account",
    ),
    "AWS::KMS::Key": CloudTrailFacts(
        event_source="kms.amazonaws.com",
        create=("CreateKey",),
        update=(
            "EnableKey",
            "DisableKey",
            "EnableKeyRotation",
            "DisableKeyRotation",
            "PutKeyPolicy",
            "UpdateKeyDescription",
            "CancelKeyDeletion",
        ),
        tag=_TAGS,
        delete=("ScheduleKeyDeletion",),
        identifiers=(
            _by(("CreateKey",), _response("keyMetadata.keyId", "KeyId")),
            _by(
                ("ScheduleKeyDeletion",),
                _response("keyId", "Arn"),
                EventField("$.detail.resources[0].ARN", "Arn"),
                expression=_last("Arn", "/"),
            ),
            _default(EventField("$.detail.resources[0].ARN", "Arn"), expression=_last("Arn", "/")),
        ),
        notes="requestParameters.keyId may be an alias; KMS records name the key's ARN in resources[0]; "
        "ScheduleKeyDeletion schedules the deletion (the key is pending deletion until then)",
    ),
    "AWS::Logs::LogGroup": CloudTrailFacts(
        event_source="logs.amazonaws.com",
        create=("CreateLogGroup",),
        update=(
            "PutRetentionPolicy",
            "DeleteRetentionPolicy",
            "AssociateKmsKey",
            "DisassociateKmsKey",
            "PutDataProtectionPolicy",
            "DeleteDataProtectionPolicy",
        ),
        tag=("TagLogGroup", "UntagLogGroup", *_TAGS),
        delete=("DeleteLogGroup",),
        identifiers=(
            _by(
                _TAGS,
                _request("resourceArn", "Arn"),
                expression=_after("Arn", ":log-group:") + ' | sub(":\\\\*$"; "")',
            ),
            _by(
                ("PutDataProtectionPolicy", "DeleteDataProtectionPolicy"),
                _request("logGroupIdentifier", "LogGroupName"),
                expression=_after("LogGroupName", ":log-group:") + ' | sub(":\\\\*$"; "")',
            ),
            _default(_request("logGroupName", "LogGroupName")),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":log-group:"),),
        confidence="medium",
    ),
    "AWS::SecretsManager::Secret": CloudTrailFacts(
        event_source="secretsmanager.amazonaws.com",
        create=("CreateSecret",),
        update=(
            "UpdateSecret",
            "RotateSecret",
            "PutResourcePolicy",
            "DeleteResourcePolicy",
            "ReplicateSecretToRegions",
            "RemoveRegionsFromReplication",
            "RestoreSecret",
        ),
        tag=_TAGS,
        delete=("DeleteSecret",),
        identifiers=(
            _by(("CreateSecret",), _response("arn", "Arn")),
            _by(
                ("ReplicateSecretToRegions", "RemoveRegionsFromReplication"),
                _response("aRN", "Arn"),
                _request("secretId", "Arn"),
            ),
            _default(_response("arn", "Arn"), _request("secretId", "Arn")),
        ),
        confidence="medium",
        notes="the identifier is the secret's ARN; a call naming the secret by name gives the name "
        "(DescribeSecret, behind Cloud Control's read, accepts both)",
    ),
    "AWS::ACM::Certificate": CloudTrailFacts(
        event_source="acm.amazonaws.com",
        create=("RequestCertificate", "ImportCertificate"),
        update=("RenewCertificate", "UpdateCertificateOptions"),
        tag=("AddTagsToCertificate", "RemoveTagsFromCertificate"),
        delete=("DeleteCertificate",),
        identifiers=(
            _by(("RequestCertificate", "ImportCertificate"), _response("certificateArn", "CertificateArn")),
            _default(_request("certificateArn", "CertificateArn")),
        ),
        notes="ImportCertificate with a certificateArn re-imports (an update)",
    ),
    "AWS::ElastiCache::CacheCluster": CloudTrailFacts(
        event_source="elasticache.amazonaws.com",
        create=("CreateCacheCluster",),
        update=("ModifyCacheCluster", "RebootCacheCluster"),
        tag=_RDS_TAGS,
        delete=("DeleteCacheCluster",),
        identifiers=(
            _by(_RDS_TAGS, _request("resourceName", "Arn"), expression=_last("Arn", ":")),
            _default(_response("cacheClusterId", "CacheClusterId"), _request("cacheClusterId", "CacheClusterId")),
        ),
        filters=(_arn_filter(_RDS_TAGS, "detail.requestParameters.resourceName", ":cluster:"),),
    ),
    "AWS::ElastiCache::ServerlessCache": CloudTrailFacts(
        event_source="elasticache.amazonaws.com",
        create=("CreateServerlessCache",),
        update=("ModifyServerlessCache",),
        tag=_RDS_TAGS,
        delete=("DeleteServerlessCache",),
        identifiers=(
            _by(_RDS_TAGS, _request("resourceName", "Arn"), expression=_last("Arn", ":")),
            _default(
                _response("serverlessCache.serverlessCacheName", "ServerlessCacheName"),
                _request("serverlessCacheName", "ServerlessCacheName"),
            ),
        ),
        filters=(_arn_filter(_RDS_TAGS, "detail.requestParameters.resourceName", ":serverlesscache:"),),
        confidence="medium",
        notes="from the ElastiCache API shapes and Port's example rule",
    ),
    "AWS::Route53::HostedZone": CloudTrailFacts(
        event_source="route53.amazonaws.com",
        create=("CreateHostedZone",),
        update=(
            "UpdateHostedZoneComment",
            "AssociateVPCWithHostedZone",
            "DisassociateVPCFromHostedZone",
            "CreateQueryLoggingConfig",
            "EnableHostedZoneDNSSEC",
            "DisableHostedZoneDNSSEC",
        ),
        tag=("ChangeTagsForResource",),
        delete=("DeleteHostedZone",),
        identifiers=(
            _by(
                ("CreateHostedZone",),
                _response("hostedZone.id", "HostedZonePath"),
                expression='$HostedZonePath | sub("^/hostedzone/"; "")',
            ),
            _by(("ChangeTagsForResource",), _request("resourceId", "Id")),
            _by(
                (
                    "AssociateVPCWithHostedZone",
                    "DisassociateVPCFromHostedZone",
                    "CreateQueryLoggingConfig",
                    "EnableHostedZoneDNSSEC",
                    "DisableHostedZoneDNSSEC",
                ),
                _request("hostedZoneId", "Id"),
                expression='$Id | sub("^/hostedzone/"; "")',
            ),
            _default(_request("id", "Id"), expression='$Id | sub("^/hostedzone/"; "")'),
        ),
        filters=(ResourceFilter(("ChangeTagsForResource",), "detail.requestParameters.resourceType", ("hostedzone",)),),
        confidence="medium",
        notes="Cloud Control's Id is the bare zone id, without '/hostedzone/'",
    ),
    "AWS::CloudFront::Distribution": CloudTrailFacts(
        event_source="cloudfront.amazonaws.com",
        create=("CreateDistribution", "CreateDistributionWithTags", "CopyDistribution"),
        update=("UpdateDistribution", "AssociateAlias"),
        tag=_TAGS,
        delete=("DeleteDistribution",),
        identifiers=(
            _by(
                ("CreateDistribution", "CreateDistributionWithTags", "CopyDistribution"),
                _response("distribution.id", "Id"),
            ),
            _by(("AssociateAlias",), _request("targetDistributionId", "Id")),
            _by(_TAGS, _request("resource", "Arn"), expression=_last("Arn", "/")),
            _default(_request("id", "Id")),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resource", ":distribution/"),),
        notes="CloudTrail recorded these names with the API version in 2014 (UpdateDistribution2014_01_31); "
        "recent records carry the plain names",
    ),
    "AWS::Kinesis::Stream": CloudTrailFacts(
        event_source="kinesis.amazonaws.com",
        create=("CreateStream",),
        update=(
            "IncreaseStreamRetentionPeriod",
            "DecreaseStreamRetentionPeriod",
            "UpdateShardCount",
            "StartStreamEncryption",
            "StopStreamEncryption",
            "EnableEnhancedMonitoring",
            "DisableEnhancedMonitoring",
            "UpdateStreamMode",
            "MergeShards",
            "SplitShard",
        ),
        tag=("AddTagsToStream", "RemoveTagsFromStream"),
        delete=("DeleteStream",),
        identifiers=(
            _default(
                _request("streamName", "Name", optional=True),
                _request("streamARN", "Arn", optional=True),
                expression=f'if $Name != "" then $Name else ({_after("Arn", ":stream/")}) end',
            ),
        ),
        confidence="medium",
        notes="newer SDKs may name the stream by ARN only",
    ),
    "AWS::EFS::FileSystem": CloudTrailFacts(
        event_source="elasticfilesystem.amazonaws.com",
        create=("CreateFileSystem",),
        update=(
            "UpdateFileSystem",
            "PutLifecycleConfiguration",
            "PutFileSystemPolicy",
            "DeleteFileSystemPolicy",
            "PutBackupPolicy",
            "CreateReplicationConfiguration",
            "DeleteReplicationConfiguration",
            "UpdateFileSystemProtection",
        ),
        tag=(*_TAGS, "CreateTags", "DeleteTags"),
        delete=("DeleteFileSystem",),
        identifiers=(
            _by(("CreateFileSystem",), _response("fileSystemId", "FileSystemId")),
            _by(
                ("CreateReplicationConfiguration", "DeleteReplicationConfiguration"),
                _request("sourceFileSystemId", "FileSystemId"),
            ),
            _by(_TAGS, _request("resourceId", "FileSystemId"), expression=_after("FileSystemId", ":file-system/")),
            _default(_request("fileSystemId", "FileSystemId")),
        ),
        filters=(
            ResourceFilter(
                _TAGS, "detail.requestParameters.resourceId", ({"prefix": "fs-"}, {"wildcard": "*:file-system/*"})
            ),
        ),
        confidence="medium",
    ),
    "AWS::Cognito::UserPool": CloudTrailFacts(
        event_source="cognito-idp.amazonaws.com",
        create=("CreateUserPool",),
        update=("UpdateUserPool", "SetUserPoolMfaConfig", "AddCustomAttributes", "UpdateUserPoolDomain"),
        tag=_TAGS,
        delete=("DeleteUserPool",),
        identifiers=(
            _by(("CreateUserPool",), _response("userPool.id", "UserPoolId")),
            _by(_TAGS, _request("resourceArn", "Arn"), expression=_last("Arn", "/")),
            _default(_request("userPoolId", "UserPoolId")),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":userpool/"),),
        confidence="medium",
        notes="Cognito may redact parts of its records; the paths come from the API shapes",
    ),
    "AWS::AppRunner::Service": CloudTrailFacts(
        event_source="apprunner.amazonaws.com",
        create=("CreateService",),
        update=("UpdateService", "PauseService", "ResumeService", "StartDeployment"),
        tag=_TAGS,
        delete=("DeleteService",),
        identifiers=(
            _by(("CreateService",), _response("service.serviceArn", "ServiceArn")),
            _by(_TAGS, _request("resourceArn", "ServiceArn")),
            _default(_request("serviceArn", "ServiceArn")),
        ),
        delete_identifier=_by(
            ("DeleteService",), _request("serviceArn", "ServiceArn"), expression=_last("ServiceArn", "/")
        ),
        entity_property="ServiceId",
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":service/"),),
        native_event=NativeEvent(
            detail_type="AppRunner Service Operation Status Change",
            fields=(EventField("$.resources[0]", "ServiceArn"), EventField("$.detail.serviceId", "ServiceId")),
            expression="$ServiceArn",
            status=EventField("$.detail.operationStatus", "OperationStatus"),
            delete_statuses=("DeleteServiceCompletedSuccessfully",),
            sample_status="UpdateServiceCompletedSuccessfully",
            delete_expression="$ServiceId",
        ),
        confidence="medium",
        notes="operations finish after the API call: the operation status event reports their end; "
        "Port's mapping keys services by service id",
    ),
    "AWS::AutoScaling::AutoScalingGroup": CloudTrailFacts(
        event_source="autoscaling.amazonaws.com",
        create=("CreateAutoScalingGroup",),
        update=("UpdateAutoScalingGroup", "SetDesiredCapacity", "SuspendProcesses", "ResumeProcesses"),
        tag=("CreateOrUpdateTags", "DeleteTags"),
        delete=("DeleteAutoScalingGroup",),
        identifiers=(
            _by(("CreateOrUpdateTags", "DeleteTags"), _request("tags[0].resourceId", "AutoScalingGroupName")),
            _default(_request("autoScalingGroupName", "AutoScalingGroupName")),
        ),
        confidence="medium",
        notes="from the Auto Scaling API shapes and Port's example rule",
    ),
    "AWS::ElasticBeanstalk::Application": CloudTrailFacts(
        event_source="elasticbeanstalk.amazonaws.com",
        create=("CreateApplication",),
        update=("UpdateApplication", "UpdateApplicationResourceLifecycle"),
        tag=(),
        delete=("DeleteApplication",),
        identifiers=(_default(_request("applicationName", "ApplicationName")),),
        confidence="medium",
        notes="from the Elastic Beanstalk API shapes and Port's example rule",
    ),
    "AWS::ElasticBeanstalk::Environment": CloudTrailFacts(
        event_source="elasticbeanstalk.amazonaws.com",
        create=("CreateEnvironment",),
        update=("UpdateEnvironment", "RebuildEnvironment", "RestartAppServer"),
        tag=(),
        delete=("TerminateEnvironment",),
        identifiers=(
            _by(("CreateEnvironment",), _response("environmentName", "EnvironmentName")),
            _default(_request("environmentName", "EnvironmentName")),
        ),
        native_event=NativeEvent(
            detail_type="Elastic Beanstalk resource status change",
            fields=(EventField("$.detail.EnvironmentName", "EnvironmentName"),),
            expression="$EnvironmentName",
            status=EventField("$.detail.Status", "EnvironmentStatus"),
            delete_statuses=("Environment termination successful",),
            sample_status="Environment update completed successfully",
        ),
        confidence="medium",
        notes="calls may name the environment by id only; the status change event (as in Port's example) "
        "names it and reports the end of each operation",
    ),
    "AWS::Batch::JobQueue": CloudTrailFacts(
        event_source="batch.amazonaws.com",
        create=("CreateJobQueue",),
        update=("UpdateJobQueue",),
        tag=_TAGS,
        delete=("DeleteJobQueue",),
        identifiers=(
            _by(("CreateJobQueue",), _response("jobQueueArn", "JobQueueArn")),
            _by(_TAGS, _request("resourceArn", "JobQueueArn")),
            _default(
                _request("jobQueue", "JobQueueName"),
                expression='$JobQueueName | if startswith("arn:") then . '
                'else "arn:\\($partition):batch:\\($region):\\($account):job-queue/\\(.)" end',
            ),
        ),
        filters=(_arn_filter(_TAGS, "detail.requestParameters.resourceArn", ":job-queue/"),),
        confidence="medium",
        notes="jobQueue may be a name or an ARN; a name is made an ARN with the event's region and account",
    ),
    "AWS::OpenSearchService::Domain": CloudTrailFacts(
        event_source="es.amazonaws.com",
        create=("CreateDomain", "CreateElasticsearchDomain"),
        update=(
            "UpdateDomainConfig",
            "UpdateElasticsearchDomainConfig",
            "UpgradeDomain",
            "UpgradeElasticsearchDomain",
        ),
        tag=("AddTags", "RemoveTags"),
        delete=("DeleteDomain", "DeleteElasticsearchDomain"),
        identifiers=(
            _by(
                ("AddTags", "RemoveTags"),
                _request("aRN", "Arn", optional=True),
                _request("arn", "Arn", optional=True),
                expression=_last("Arn", "/"),
            ),
            _default(_request("domainName", "DomainName")),
        ),
        confidence="medium",
        notes="the OpenSearch and the older Elasticsearch API both log under es.amazonaws.com; "
        "the member naming the ARN in tag calls is not confirmed",
    ),
    "AWS::Redshift::Cluster": CloudTrailFacts(
        event_source="redshift.amazonaws.com",
        create=("CreateCluster", "RestoreFromClusterSnapshot"),
        update=(
            "ModifyCluster",
            "RebootCluster",
            "ResizeCluster",
            "PauseCluster",
            "ResumeCluster",
            "EnableLogging",
            "DisableLogging",
            "ModifyClusterIamRoles",
        ),
        tag=("CreateTags", "DeleteTags"),
        delete=("DeleteCluster",),
        identifiers=(
            _by(
                ("CreateTags", "DeleteTags"),
                _request("resourceName", "Arn"),
                expression=_last("Arn", ":") + " | ascii_downcase",
            ),
            _default(
                _request("clusterIdentifier", "ClusterIdentifier"), expression="$ClusterIdentifier | ascii_downcase"
            ),
        ),
        filters=(_arn_filter(("CreateTags", "DeleteTags"), "detail.requestParameters.resourceName", ":cluster:"),),
        confidence="medium",
        notes="Redshift keeps identifiers in lower case",
    ),
}
