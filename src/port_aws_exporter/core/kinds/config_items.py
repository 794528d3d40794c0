"""The AWS Config facts of the kind registry: how a configuration item names a resource of a kind.

AWS Config sends a `Config Configuration Item Change` event to EventBridge whenever it records a
resource (`detail.configurationItem`, or `detail.configurationItemSummary` when the item is too large
to send): its `resourceType` (a CloudFormation type, which is the kind), `resourceId`,
`resourceName`, `ARN`, `awsRegion`, `awsAccountId` and `configurationItemStatus` (`OK`,
`ResourceDiscovered`, `ResourceNotRecorded`, `ResourceDeleted`, `ResourceDeletedNotRecorded`).
Users who already run Config then need no CloudTrail rule.

Each `ConfigItemFacts` says which item fields hold which properties of the resource (tried in
order), and the jq expressions, over those properties, that make the Cloud Control identifier and,
where it differs, the Port entity identifier of a delete (as `core.kinds.cloudtrail` does for API
calls). Expressions see `$region`, `$account` and `$partition` of the item too.

The fields are our own reading of Config's item shapes per type (`resourceId` is a name for most
types, an id or an ARN for others: an IAM role's is its `AROA…` id, so its name comes from
`resourceName`). Kinds absent here are ignored, with the reason, when Config reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONFIG_DELETE_STATUSES", "CONFIG_DETAIL_TYPE", "CONFIG_ITEM_FACTS", "ConfigItemFacts"]

CONFIG_DETAIL_TYPE = "Config Configuration Item Change"
CONFIG_SOURCE = "aws.config"
CONFIG_DELETE_STATUSES = ("ResourceDeleted", "ResourceDeletedNotRecorded")


@dataclass(frozen=True)
class ConfigItemFacts:
    """How a configuration item of one kind names the resource.

    `fields`: (item field, property it holds), tried in order for each property; `expression`
    makes the Cloud Control identifier of the properties; `delete_expression` the entity identifier
    of a delete when it is not that identifier.
    """

    fields: tuple[tuple[str, str], ...]
    expression: str
    delete_expression: str | None = None

    @property
    def properties(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(holds for _, holds in self.fields))


def _one(field: str, holds: str, *more: tuple[str, str], delete: str | None = None) -> ConfigItemFacts:
    return ConfigItemFacts(((field, holds), *more), f"${holds}", delete)


# An SQS queue's URL: Config's resourceId when it is one, else made of the account and the name.
_QUEUE_URL = (
    'if ($QueueUrl | startswith("http")) then $QueueUrl elif $QueueName == "" then "" else '
    '"https://sqs.\\($region).amazonaws.com/\\($account)/\\($QueueName)" end'
)
# An ECS service's Cloud Control identifier, `ServiceArn|Cluster`, from its ARN (whose path names the cluster).
_ECS_SERVICE = (
    '$ServiceArn | if test(":service/[^/]+/") then "\\(.)|\\(split(":service/")[0]):cluster/'
    '\\(split(":service/")[1] | split("/")[0])" else "" end'
)

CONFIG_ITEM_FACTS: dict[str, ConfigItemFacts] = {
    "AWS::SQS::Queue": ConfigItemFacts(
        (("resourceId", "QueueUrl"), ("resourceName", "QueueName")),
        _QUEUE_URL,
        delete_expression="$QueueName",
    ),
    "AWS::SNS::Topic": ConfigItemFacts(
        (("ARN", "TopicArn"), ("resourceId", "TopicArn"), ("resourceName", "TopicName")),
        "$TopicArn",
        delete_expression='if $TopicName != "" then $TopicName else ($TopicArn | split(":") | last) end',
    ),
    "AWS::Lambda::Function": _one("resourceName", "FunctionName", ("resourceId", "FunctionName")),
    "AWS::S3::Bucket": _one("resourceName", "BucketName", ("resourceId", "BucketName")),
    "AWS::DynamoDB::Table": _one("resourceName", "TableName"),
    "AWS::ECS::Cluster": _one("resourceName", "ClusterName"),
    "AWS::ECS::Service": ConfigItemFacts(
        (("ARN", "ServiceArn"), ("resourceName", "ServiceName")), _ECS_SERVICE, delete_expression="$ServiceName"
    ),
    "AWS::ECR::Repository": _one("resourceName", "RepositoryName"),
    "AWS::EC2::Instance": _one("resourceId", "InstanceId"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _one("ARN", "LoadBalancerArn", ("resourceId", "LoadBalancerArn")),
    "AWS::ACM::Certificate": _one("ARN", "CertificateArn", ("resourceId", "CertificateArn")),
    "AWS::ElastiCache::CacheCluster": _one("resourceId", "CacheClusterId", ("resourceName", "CacheClusterId")),
    "AWS::CloudFormation::Stack": ConfigItemFacts(
        (("resourceId", "StackId"), ("ARN", "StackId"), ("resourceName", "StackName")),
        "$StackId",
        delete_expression='if $StackName != "" then $StackName else ($StackId | split("/")[1]) end',
    ),
    "AWS::IAM::Role": _one("resourceName", "RoleName"),
    "AWS::KMS::Key": _one("resourceId", "KeyId"),
    "AWS::Logs::LogGroup": _one("resourceName", "LogGroupName", ("resourceId", "LogGroupName")),
    "AWS::RDS::DBInstance": ConfigItemFacts(
        (("resourceName", "DBInstanceIdentifier"),), "$DBInstanceIdentifier | ascii_downcase"
    ),
    "AWS::Kinesis::Stream": _one("resourceName", "Name"),
    "AWS::EKS::Cluster": _one("resourceName", "Name"),
    "AWS::EFS::FileSystem": _one("resourceId", "FileSystemId"),
    "AWS::SecretsManager::Secret": _one("ARN", "Id", ("resourceId", "Id")),
    "AWS::StepFunctions::StateMachine": _one("ARN", "Arn", ("resourceId", "Arn")),
}
