"""The kind registry: what the exporter knows about each AWS resource kind, as plain data.

One row per kind says how to fetch it (Cloud Control, or a native fetcher where Cloud Control falls
short), its Cloud Control identifier, and, as later parts fill them in, the CloudTrail events that
touch it and the IAM actions that read it. The fetchers, the rule generator, the rule linter and the
IAM policy generator all read this one table, so they cannot drift apart: adding a kind is adding
a row.

Kinds absent from the table still work through Cloud Control (`spec_for` gives a default row).
The facts here are our own; tests check them against `../shared/reference/data/cfn-handlers.json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FetcherName(StrEnum):
    """How the full sync and the event path read a kind."""

    CLOUD_CONTROL = "cloudcontrol"
    EC2_INSTANCE = "ec2_instance"
    ELBV2_LOAD_BALANCER = "elbv2_load_balancer"
    ACM_CERTIFICATE = "acm_certificate"
    CLOUDFORMATION_STACK = "cloudformation_stack"
    ELASTICACHE_CACHE_CLUSTER = "elasticache_cache_cluster"


@dataclass(frozen=True)
class NativeListing:
    """A native list call for a kind Cloud Control can read but cannot list (no list handler)."""

    service: str
    operation: str
    result_key: str
    identifier_key: str


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
    notes: str = ""

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
    native_listing: NativeListing | None = None,
    notes: str = "",
) -> KindSpec:
    return KindSpec(
        kind,
        tuple(identifier),
        service=service,
        global_service=global_service,
        native_listing=native_listing,
        notes=notes,
    )


def _native(kind: str, fetcher: FetcherName, *identifier: str, service: str, notes: str) -> KindSpec:
    return KindSpec(kind, tuple(identifier), fetcher=fetcher, service=service, notes=notes)


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
        native_listing=NativeListing("opensearch", "list_domain_names", "DomainNames", "DomainName"),
        notes="Cloud Control has no list handler: listed natively, read through Cloud Control",
    ),
    _cc("AWS::RDS::DBInstance", "DBInstanceIdentifier", service="rds"),
    _cc("AWS::Redshift::Cluster", "ClusterIdentifier", service="redshift"),
    _cc("AWS::Route53::HostedZone", "Id", service="route53", global_service=True),
    _cc("AWS::S3::Bucket", "BucketName", service="s3"),
    _cc("AWS::SecretsManager::Secret", "Id", service="secretsmanager"),
    _cc("AWS::SNS::Topic", "TopicArn", service="sns"),
    _cc("AWS::SQS::Queue", "QueueUrl", service="sqs"),
    _cc(
        "AWS::StepFunctions::StateMachine",
        "Arn",
        service="stepfunctions",
        native_listing=NativeListing(
            "stepfunctions", "list_state_machines", "stateMachines", "stateMachineArn"
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
        notes="describe_instances shape",
    ),
    _native(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        FetcherName.ELBV2_LOAD_BALANCER,
        "LoadBalancerArn",
        service="elbv2",
        notes="describe_load_balancers shape with Attributes, Listeners and Tags; read by name or ARN",
    ),
    _native(
        "AWS::ACM::Certificate",
        FetcherName.ACM_CERTIFICATE,
        "CertificateArn",
        service="acm",
        notes="Port's kind name, not a CloudFormation type (that is AWS::CertificateManager::Certificate)",
    ),
    _native(
        "AWS::CloudFormation::Stack",
        FetcherName.CLOUDFORMATION_STACK,
        "StackId",
        service="cloudformation",
        notes="describe_stacks shape with StackResources and TemplateBody",
    ),
    _native(
        "AWS::ElastiCache::CacheCluster",
        FetcherName.ELASTICACHE_CACHE_CLUSTER,
        "CacheClusterId",
        service="elasticache",
        notes="describe_cache_clusters shape with Tags",
    ),
)

KINDS: dict[str, KindSpec] = {row.kind: row for row in _ROWS}


def spec_for(kind: str) -> KindSpec:
    """The registry row of `kind`, or a Cloud Control row with an unknown identifier shape."""
    known = KINDS.get(kind)
    if known is not None:
        return known
    service = kind.split("::")[1].lower() if kind.count("::") == 2 else ""
    return KindSpec(kind, (), service=service, notes="not in the registry: read through Cloud Control")
