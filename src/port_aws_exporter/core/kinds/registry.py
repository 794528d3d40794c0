"""The kind registry: what the exporter knows about each AWS resource kind, as plain data.

One row per kind says how to fetch it (Cloud Control, or a native fetcher where Cloud Control falls
short), its Cloud Control identifier, and, as later parts fill them in, the CloudTrail events that
touch it and the IAM actions that read it. The fetchers, the rule generator, the rule linter and the
IAM policy generator all read this one table, so they cannot drift apart: adding a kind is adding
a row.

The CloudTrail facts of each kind live in `core.kinds.cloudtrail` and are attached to its row here.
Kinds absent from the table still work through Cloud Control (`spec_for` gives a default row).
The facts here are our own; tests check them against `../shared/reference/data/cfn-handlers.json`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from port_aws_exporter.core.kinds.cloudtrail import CLOUDTRAIL_FACTS, CloudTrailFacts


class FetcherName(StrEnum):
    """How the full sync and the event path read a kind."""

    CLOUD_CONTROL = "cloudcontrol"
    EC2_INSTANCE = "ec2_instance"
    ELBV2_LOAD_BALANCER = "elbv2_load_balancer"
    ACM_CERTIFICATE = "acm_certificate"
    CLOUDFORMATION_STACK = "cloudformation_stack"
    ELASTICACHE_CACHE_CLUSTER = "elasticache_cache_cluster"
    ORGANIZATIONS_ACCOUNT = "organizations_account"


@dataclass(frozen=True)
class NativeListing:
    """A native list call for a kind Cloud Control can read but cannot list (no list handler)."""

    service: str
    operation: str
    result_key: str
    identifier_key: str
    action: str  # the IAM action of the list call


@dataclass(frozen=True)
class HandlerPermissions:
    """IAM actions of a type's Cloud Control handlers (from its CloudFormation registry schema)."""

    list: tuple[str, ...] = ()
    read: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindSpec:
    """One row of the registry."""

    kind: str
    # Cloud Control's identifier: these properties' values, joined with "|".
    primary_identifier: tuple[str, ...]
    fetcher: FetcherName = FetcherName.CLOUD_CONTROL
    # The boto3 service the kind belongs to (native calls, IAM, CloudTrail event source).
    service: str = ""
    native_listing: NativeListing | None = None
    # IAM, CloudFront, Route 53: one global endpoint; CloudTrail events arrive only in us-east-1.
    global_service: bool = False
    # S3: the list, in any region, returns the resources of every region (read once per account).
    global_listing: bool = False
    # The organisation's own records (its accounts): read once per sync, with the home account's
    # credentials (Organizations answers only in the management or delegated administrator account).
    organization_level: bool = False
    notes: str = ""
    # IAM actions the exporter needs to read the kind: Cloud Control's handler permissions, or the
    # native fetcher's own calls.
    handler_permissions: HandlerPermissions = HandlerPermissions()
    native_actions: tuple[str, ...] = ()
    # The CloudTrail events that touch the kind and where they name it (`core.kinds.cloudtrail`); None
    # when the registry does not know them (the rule generator then lists the kind as unknown).
    cloudtrail: CloudTrailFacts | None = None

    @property
    def read_actions(self) -> tuple[str, ...]:
        """Every IAM action the exporter calls to list and read this kind, without repeats."""
        actions = [*self.native_actions]
        if self.native_listing is not None:
            actions.append(self.native_listing.action)
        actions += [*self.handler_permissions.list, *self.handler_permissions.read]
        return tuple(dict.fromkeys(actions))

    def identifier_of(self, properties: dict[str, object]) -> str | None:
        """The Cloud Control identifier of a resource document, or None if a part is missing."""
        parts = [properties.get(name) for name in self.primary_identifier]
        if not parts or any(part is None or part == "" for part in parts):
            return None
        return "|".join(str(part) for part in parts)


def _cc(
    kind: str,
    *identifier: str,
    service: str,
    global_service: bool = False,
    global_listing: bool = False,
    native_listing: NativeListing | None = None,
    notes: str = "",
) -> KindSpec:
    return KindSpec(
        kind,
        tuple(identifier),
        service=service,
        global_service=global_service,
        global_listing=global_listing,
        native_listing=native_listing,
        notes=notes,
    )


def _native(
    kind: str,
    fetcher: FetcherName,
    *identifier: str,
    service: str,
    actions: tuple[str, ...],
    notes: str,
    global_service: bool = False,
    organization_level: bool = False,
) -> KindSpec:
    return KindSpec(
        kind,
        tuple(identifier),
        fetcher=fetcher,
        service=service,
        native_actions=actions,
        notes=notes,
        global_service=global_service,
        organization_level=organization_level,
    )


_ROWS: tuple[KindSpec, ...] = (
    # Cloud Control kinds of Port's examples (spec §5.1) and of the CloudTrail table.
    _cc("AWS::ApiGateway::RestApi", "RestApiId", service="apigateway"),
    _cc("AWS::ApiGatewayV2::Api", "ApiId", service="apigatewayv2"),
    _cc("AWS::AppRunner::Service", "ServiceArn", service="apprunner"),
    _cc("AWS::AutoScaling::AutoScalingGroup", "AutoScalingGroupName", service="autoscaling"),
    _cc("AWS::Batch::JobQueue", "JobQueueArn", service="batch"),
    _cc("AWS::CloudFront::Distribution", "Id", service="cloudfront", global_service=True),
    _cc("AWS::Cognito::UserPool", "UserPoolId", service="cognito-idp"),
    _cc("AWS::DynamoDB::Table", "TableName", service="dynamodb"),
    _cc("AWS::ECR::Repository", "RepositoryName", service="ecr"),
    _cc("AWS::ECS::Cluster", "ClusterName", service="ecs"),
    _cc("AWS::ECS::Service", "ServiceArn", "Cluster", service="ecs"),
    _cc("AWS::EFS::FileSystem", "FileSystemId", service="efs"),
    _cc("AWS::EKS::Cluster", "Name", service="eks"),
    _cc("AWS::ElastiCache::ServerlessCache", "ServerlessCacheName", service="elasticache"),
    _cc("AWS::ElasticBeanstalk::Application", "ApplicationName", service="elasticbeanstalk"),
    _cc("AWS::ElasticBeanstalk::Environment", "EnvironmentName", service="elasticbeanstalk"),
    _cc("AWS::Events::Rule", "Arn", service="events"),
    _cc("AWS::IAM::Role", "RoleName", service="iam", global_service=True),
    _cc("AWS::KMS::Key", "KeyId", service="kms"),
    _cc("AWS::Kinesis::Stream", "Name", service="kinesis"),
    _cc("AWS::Lambda::Function", "FunctionName", service="lambda"),
    _cc("AWS::Logs::LogGroup", "LogGroupName", service="logs"),
    _cc(
        "AWS::OpenSearchService::Domain",
        "DomainName",
        service="opensearch",
        native_listing=NativeListing(
            "opensearch", "list_domain_names", "DomainNames", "DomainName", "es:ListDomainNames"
        ),
        notes="Cloud Control has no list handler: listed natively, read through Cloud Control",
    ),
    _cc("AWS::RDS::DBInstance", "DBInstanceIdentifier", service="rds"),
    _cc("AWS::Redshift::Cluster", "ClusterIdentifier", service="redshift"),
    _cc("AWS::Route53::HostedZone", "Id", service="route53", global_service=True),
    _cc(
        "AWS::S3::Bucket",
        "BucketName",
        service="s3",
        global_listing=True,
        notes="the list returns the buckets of every region",
    ),
    _cc("AWS::SecretsManager::Secret", "Id", service="secretsmanager"),
    _cc("AWS::SNS::Topic", "TopicArn", service="sns"),
    _cc("AWS::SQS::Queue", "QueueUrl", service="sqs"),
    _cc(
        "AWS::StepFunctions::StateMachine",
        "Arn",
        service="stepfunctions",
        native_listing=NativeListing(
            "stepfunctions",
            "list_state_machines",
            "stateMachines",
            "stateMachineArn",
            "states:ListStateMachines",
        ),
        notes="Cloud Control has no list handler: listed natively, read through Cloud Control",
    ),
    # Native fetchers: the original exporter's five (spec §7.3), producing the SDK describe shapes
    # that Port's example mappings expect (`.State.Name`, `.Listeners`, `.StackResources`…).
    _native(
        "AWS::EC2::Instance",
        FetcherName.EC2_INSTANCE,
        "InstanceId",
        service="ec2",
        actions=("ec2:DescribeInstances",),
        notes="describe_instances shape",
    ),
    _native(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        FetcherName.ELBV2_LOAD_BALANCER,
        "LoadBalancerArn",
        service="elbv2",
        actions=(
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeTags",
        ),
        notes="describe_load_balancers shape with Attributes, Listeners and Tags; read by name or ARN",
    ),
    _native(
        "AWS::ACM::Certificate",
        FetcherName.ACM_CERTIFICATE,
        "CertificateArn",
        service="acm",
        actions=("acm:ListCertificates", "acm:DescribeCertificate"),
        notes="Port's kind name, not a CloudFormation type (that is AWS::CertificateManager::Certificate)",
    ),
    _native(
        "AWS::CloudFormation::Stack",
        FetcherName.CLOUDFORMATION_STACK,
        "StackId",
        service="cloudformation",
        actions=(
            "cloudformation:ListStacks",
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeStackResources",
            "cloudformation:GetTemplate",
        ),
        notes="describe_stacks shape with StackResources and TemplateBody",
    ),
    _native(
        "AWS::ElastiCache::CacheCluster",
        FetcherName.ELASTICACHE_CACHE_CLUSTER,
        "CacheClusterId",
        service="elasticache",
        actions=("elasticache:DescribeCacheClusters", "elasticache:ListTagsForResource"),
        notes="describe_cache_clusters shape with Tags",
    ),
    # The organisation's accounts, with the path of organisational units above each and its tags.
    _native(
        "AWS::Organizations::Account",
        FetcherName.ORGANIZATIONS_ACCOUNT,
        "Id",
        service="organizations",
        actions=(
            "organizations:ListRoots",
            "organizations:ListOrganizationalUnitsForParent",
            "organizations:ListAccountsForParent",
            "organizations:ListTagsForResource",
            "organizations:DescribeAccount",
            "organizations:ListParents",
            "organizations:DescribeOrganizationalUnit",
        ),
        notes="list_accounts shape with OrganizationalUnitPath and Tags; read once, in the home account",
        global_service=True,
        organization_level=True,
    ),
)

# Facts from each type's CloudFormation registry schema (handlers.list / handlers.read), service
# prefixes in lower case; checked against ../shared/reference/data/cfn-handlers.json by a test.
_HANDLER_PERMISSIONS: dict[str, HandlerPermissions] = {
    "AWS::ApiGateway::RestApi": HandlerPermissions(
        list=("apigateway:GET",),
        read=("apigateway:GET",),
    ),
    "AWS::ApiGatewayV2::Api": HandlerPermissions(
        list=(
            "apigateway:GET",
            "s3:getObject",
        ),
        read=(
            "apigateway:GET",
            "s3:getObject",
        ),
    ),
    "AWS::AppRunner::Service": HandlerPermissions(
        list=(
            "apprunner:ListServices",
            "iam:PassRole",
        ),
        read=("apprunner:DescribeService",),
    ),
    "AWS::AutoScaling::AutoScalingGroup": HandlerPermissions(
        list=("autoscaling:Describe*",),
        read=(
            "autoscaling:Describe*",
            "managed-fleets:Get*",
        ),
    ),
    "AWS::Batch::JobQueue": HandlerPermissions(
        list=("batch:DescribeJobQueues",),
        read=("batch:DescribeJobQueues",),
    ),
    "AWS::CloudFront::Distribution": HandlerPermissions(
        list=(
            "cloudfront:ListTagsForResource",
            "cloudfront:ListDistributions",
        ),
        read=(
            "cloudfront:GetDistribution",
            "cloudfront:GetDistributionConfig",
            "cloudfront:ListTagsForResource",
        ),
    ),
    "AWS::Cognito::UserPool": HandlerPermissions(
        list=("cognito-idp:ListUserPools",),
        read=(
            "cognito-idp:DescribeUserPool",
            "cognito-idp:GetUserPoolMfaConfig",
            "kms:Decrypt",
            "kms:DescribeKey",
        ),
    ),
    "AWS::DynamoDB::Table": HandlerPermissions(
        list=("dynamodb:ListTables",),
        read=(
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:DescribeContributorInsights",
            "dynamodb:DescribeKinesisStreamingDestination",
            "dynamodb:ListTagsOfResource",
            "dynamodb:GetResourcePolicy",
            "dynamodb:DescribeTimeToLive",
        ),
    ),
    "AWS::ECR::Repository": HandlerPermissions(
        list=("ecr:DescribeRepositories",),
        read=(
            "ecr:DescribeRepositories",
            "ecr:GetLifecyclePolicy",
            "ecr:GetRepositoryPolicy",
            "ecr:ListTagsForResource",
        ),
    ),
    "AWS::ECS::Cluster": HandlerPermissions(
        list=(
            "ecs:DescribeClusters",
            "ecs:ListClusters",
        ),
        read=(
            "ecs:DescribeClusters",
            "kms:DescribeKey",
        ),
    ),
    "AWS::ECS::Service": HandlerPermissions(
        list=(
            "ecs:DescribeServices",
            "ecs:ListClusters",
            "ecs:ListServices",
        ),
        read=("ecs:DescribeServices",),
    ),
    "AWS::EFS::FileSystem": HandlerPermissions(
        list=(
            "elasticfilesystem:DescribeBackupPolicy",
            "elasticfilesystem:DescribeFileSystemPolicy",
            "elasticfilesystem:DescribeFileSystems",
            "elasticfilesystem:DescribeLifecycleConfiguration",
            "elasticfilesystem:DescribeReplicationConfigurations",
        ),
        read=(
            "elasticfilesystem:DescribeBackupPolicy",
            "elasticfilesystem:DescribeFileSystemPolicy",
            "elasticfilesystem:DescribeFileSystems",
            "elasticfilesystem:DescribeLifecycleConfiguration",
            "elasticfilesystem:DescribeReplicationConfigurations",
        ),
    ),
    "AWS::EKS::Cluster": HandlerPermissions(
        list=("eks:ListClusters",),
        read=("eks:DescribeCluster",),
    ),
    "AWS::ElastiCache::ServerlessCache": HandlerPermissions(
        list=(
            "elasticache:DescribeServerlessCaches",
            "elasticache:ListTagsForResource",
        ),
        read=(
            "elasticache:DescribeServerlessCaches",
            "elasticache:ListTagsForResource",
        ),
    ),
    "AWS::ElasticBeanstalk::Application": HandlerPermissions(
        list=("elasticbeanstalk:DescribeApplications",),
        read=("elasticbeanstalk:DescribeApplications",),
    ),
    "AWS::ElasticBeanstalk::Environment": HandlerPermissions(
        list=(
            "elasticbeanstalk:DescribeEnvironments",
            "elasticbeanstalk:ListTagsForResource",
        ),
        read=(
            "elasticbeanstalk:DescribeEnvironments",
            "elasticbeanstalk:DescribeConfigurationSettings",
            "elasticbeanstalk:ListTagsForResource",
        ),
    ),
    "AWS::Events::Rule": HandlerPermissions(
        list=("events:ListRules",),
        read=(
            "iam:PassRole",
            "events:DescribeRule",
            "events:ListTargetsByRule",
            "events:ListTagsForResource",
        ),
    ),
    "AWS::IAM::Role": HandlerPermissions(
        list=("iam:ListRoles",),
        read=(
            "iam:GetRole",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
        ),
    ),
    "AWS::KMS::Key": HandlerPermissions(
        list=(
            "kms:ListKeys",
            "kms:DescribeKey",
        ),
        read=(
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListResourceTags",
        ),
    ),
    "AWS::Kinesis::Stream": HandlerPermissions(
        list=("kinesis:ListStreams",),
        read=(
            "kinesis:DescribeStreamSummary",
            "kinesis:ListTagsForStream",
            "kinesis:ListTagsForResource",
        ),
    ),
    "AWS::Lambda::Function": HandlerPermissions(
        list=("lambda:ListFunctions",),
        read=(
            "lambda:GetFunction",
            "kms:Decrypt",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetFunctionRecursionConfig",
            "lambda:GetRuntimeManagementConfig",
            "lambda:GetFunctionScalingConfig",
        ),
    ),
    "AWS::Logs::LogGroup": HandlerPermissions(
        list=(
            "logs:DescribeLogGroups",
            "logs:ListTagsForResource",
        ),
        read=(
            "logs:DescribeLogGroups",
            "logs:ListTagsForResource",
            "logs:GetDataProtectionPolicy",
        ),
    ),
    "AWS::OpenSearchService::Domain": HandlerPermissions(
        list=(),
        read=(
            "es:DescribeDomain",
            "es:ListTags",
        ),
    ),
    "AWS::RDS::DBInstance": HandlerPermissions(
        list=("rds:DescribeDBInstances",),
        read=(
            "ec2:DescribeAccountAttributes",
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInternetGateways",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcs",
            "rds:DescribeDBInstances",
        ),
    ),
    "AWS::Redshift::Cluster": HandlerPermissions(
        list=(
            "redshift:DescribeTags",
            "redshift:DescribeClusters",
        ),
        read=(
            "redshift:DescribeClusters",
            "redshift:DescribeLoggingStatus",
            "redshift:DescribeSnapshotCopyGrant",
            "redshift:DescribeClusterDbRevisions",
            "redshift:DescribeTags",
            "redshift:GetResourcePolicy",
        ),
    ),
    "AWS::Route53::HostedZone": HandlerPermissions(
        list=(
            "route53:GetHostedZone",
            "route53:ListHostedZones",
            "route53:ListQueryLoggingConfigs",
            "route53:ListTagsForResource",
        ),
        read=(
            "route53:GetHostedZone",
            "route53:ListTagsForResource",
            "route53:ListQueryLoggingConfigs",
        ),
    ),
    "AWS::S3::Bucket": HandlerPermissions(
        list=("s3:ListAllMyBuckets",),
        read=(
            "s3:GetAccelerateConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetAnalyticsConfiguration",
            "s3:GetBucketCORS",
            "s3:GetEncryptionConfiguration",
            "s3:GetInventoryConfiguration",
            "s3:GetBucketLogging",
            "s3:GetMetricsConfiguration",
            "s3:GetBucketNotification",
            "s3:GetBucketVersioning",
            "s3:GetReplicationConfiguration",
            "s3:GetBucketWebsite",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketTagging",
            "s3:GetBucketOwnershipControls",
            "s3:GetIntelligentTieringConfiguration",
            "s3:GetBucketMetadataTableConfiguration",
            "s3:ListBucket",
        ),
    ),
    "AWS::SNS::Topic": HandlerPermissions(
        list=("sns:ListTopics",),
        read=(
            "sns:GetTopicAttributes",
            "sns:ListTagsForResource",
            "sns:ListSubscriptionsByTopic",
            "sns:GetDataProtectionPolicy",
        ),
    ),
    "AWS::SQS::Queue": HandlerPermissions(
        list=("sqs:ListQueues",),
        read=(
            "sqs:GetQueueAttributes",
            "sqs:ListQueueTags",
        ),
    ),
    "AWS::SecretsManager::Secret": HandlerPermissions(
        list=("secretsmanager:ListSecrets",),
        read=(
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
        ),
    ),
    "AWS::StepFunctions::StateMachine": HandlerPermissions(
        list=(),
        read=(
            "states:DescribeStateMachine",
            "states:ListTagsForResource",
        ),
    ),
}

KINDS: dict[str, KindSpec] = {
    row.kind: replace(
        row,
        handler_permissions=_HANDLER_PERMISSIONS.get(row.kind, HandlerPermissions()),
        cloudtrail=CLOUDTRAIL_FACTS.get(row.kind),
    )
    for row in _ROWS
}


def spec_for(kind: str) -> KindSpec:
    """The registry row of `kind`, or a Cloud Control row with an unknown identifier shape."""
    known = KINDS.get(kind)
    if known is not None:
        return known
    service = kind.split("::")[1].lower() if kind.count("::") == 2 else ""
    return KindSpec(kind, (), service=service, notes="not in the registry: read through Cloud Control")
