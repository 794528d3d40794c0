"""S3 buckets, DynamoDB tables and ECR repositories, read from moto in their CloudFormation shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from port_aws_exporter.local.aws.cloudcontrol.moto_types.base import (
    MOTO_ERRORS,
    PARTITION,
    MotoResourceType,
    SourceContext,
    generated_name,
    moto_failure,
    moto_resource_type,
    pascal_keys,
    tag_dict,
    tag_list,
    without_empty,
)

# Every S3 bucket is encrypted with SSE-S3 unless configured otherwise (AWS default since 2023).
_DEFAULT_BUCKET_ENCRYPTION = {
    "ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    ]
}


def _s3(ctx: SourceContext) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[ctx.account_id][PARTITION]


def _bucket_encryption(encryption: Mapping[str, Any] | None) -> dict[str, Any]:
    if not encryption or "Rule" not in encryption:
        return _DEFAULT_BUCKET_ENCRYPTION
    rule = encryption["Rule"]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    by_default = without_empty(
        {
            "SSEAlgorithm": default.get("SSEAlgorithm", "AES256"),
            "KMSMasterKeyID": default.get("KMSMasterKeyID"),
        }
    )
    enabled = str(rule.get("BucketKeyEnabled", "false")).lower() == "true"
    return {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": enabled}
        ]
    }


def _lifecycle_rule(rule: Any) -> dict[str, Any]:
    prefix = rule.filter.prefix if rule.filter is not None else rule.prefix
    abort = {"DaysAfterInitiation": int(rule.aimu_days)} if rule.aimu_days else None
    return without_empty(
        {
            "Id": rule.id,
            "Status": rule.status,
            "Prefix": prefix,
            "ExpirationInDays": int(rule.expiration_days) if rule.expiration_days else None,
            "ExpirationDate": rule.expiration_date,
            "AbortIncompleteMultipartUpload": abort,
        }
    )


def _public_access_block(block: Any) -> dict[str, bool] | None:
    if block is None:
        return None
    return {
        "BlockPublicAcls": bool(block.block_public_acls),
        "IgnorePublicAcls": bool(block.ignore_public_acls),
        "BlockPublicPolicy": bool(block.block_public_policy),
        "RestrictPublicBuckets": bool(block.restrict_public_buckets),
    }


@moto_resource_type
class S3Bucket(MotoResourceType):
    """`AWS::S3::Bucket`, identified by its name.

    As on AWS, a list in any region returns the account's buckets of every region.
    """

    type_name = "AWS::S3::Bucket"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return list(_s3(ctx).buckets)

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        backend = _s3(ctx)
        bucket = backend.buckets.get(identifier)
        if bucket is None:
            return None
        name, region = bucket.name, bucket.region_name
        return without_empty(
            {
                "BucketName": name,
                "Arn": bucket.arn,
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
                "DualStackDomainName": f"{name}.s3.dualstack.{region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
                "BucketEncryption": _bucket_encryption(bucket.encryption),
                "VersioningConfiguration": {"Status": bucket.versioning_status} if bucket.versioning_status else None,
                "LifecycleConfiguration": {"Rules": [_lifecycle_rule(r) for r in bucket.rules]}
                if bucket.rules
                else None,
                "PublicAccessBlockConfiguration": _public_access_block(bucket.public_access_block),
                "ObjectLockEnabled": True if bucket.object_lock_enabled else None,
                "Tags": backend.tagger.list_tags_for_resource(bucket.arn).get("Tags", []),
            }
        )

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        backend = _s3(ctx)
        if identifier not in backend.buckets:
            return False
        try:
            backend.delete_bucket(identifier)
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, identifier, error) from error
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = (desired.get("BucketName") or generated_name(self.type_name)).lower()
        backend = _s3(ctx)
        try:
            backend.create_bucket(name, ctx.region)
            if desired.get("Tags"):
                backend.put_bucket_tagging(name, tag_dict(desired["Tags"]))
            if desired.get("VersioningConfiguration", {}).get("Status"):
                backend.put_bucket_versioning(name, desired["VersioningConfiguration"]["Status"])
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return str(name)


def _dynamodb(ctx: SourceContext) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ctx.account_id][ctx.region]


@moto_resource_type
class DynamoDbTable(MotoResourceType):
    """`AWS::DynamoDB::Table`, identified by its name."""

    type_name = "AWS::DynamoDB::Table"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return list(_dynamodb(ctx).tables)

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        table = _dynamodb(ctx).tables.get(identifier)
        if table is None:
            return None
        provisioned = table.billing_mode != "PAY_PER_REQUEST"
        stream = table.stream_specification or {}
        ttl = table.ttl or {}
        pitr = table.continuous_backups.get("PointInTimeRecoveryDescription", {})
        return without_empty(
            {
                "TableName": table.name,
                "Arn": table.table_arn,
                "AttributeDefinitions": list(table.attr),
                "KeySchema": list(table.schema),
                "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
                "ProvisionedThroughput": {
                    "ReadCapacityUnits": int(table.throughput["ReadCapacityUnits"]),
                    "WriteCapacityUnits": int(table.throughput["WriteCapacityUnits"]),
                }
                if provisioned
                else None,
                "GlobalSecondaryIndexes": [_global_index(index, provisioned) for index in table.global_indexes],
                "LocalSecondaryIndexes": [
                    {"IndexName": index.name, "KeySchema": index.schema, "Projection": index.projection}
                    for index in table.indexes
                ],
                "StreamSpecification": {"StreamViewType": stream["StreamViewType"]}
                if stream.get("StreamEnabled")
                else None,
                "StreamArn": table.stream_shard and f"{table.table_arn}/stream/{table.latest_stream_label}",
                "TimeToLiveSpecification": {"AttributeName": ttl["AttributeName"], "Enabled": True}
                if ttl.get("TimeToLiveStatus") == "ENABLED"
                else None,
                "PointInTimeRecoverySpecification": {
                    "PointInTimeRecoveryEnabled": pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
                },
                "DeletionProtectionEnabled": bool(table.deletion_protection_enabled),
                "TableClass": "STANDARD",
                "Tags": list(table.tags),
            }
        )

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        backend = _dynamodb(ctx)
        if identifier not in backend.tables:
            return False
        try:
            backend.delete_table(identifier)
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, identifier, error) from error
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = desired.get("TableName") or generated_name(self.type_name)
        try:
            _dynamodb(ctx).create_table(
                name,
                schema=desired["KeySchema"],
                throughput=desired.get("ProvisionedThroughput"),
                attr=desired.get("AttributeDefinitions", []),
                global_indexes=desired.get("GlobalSecondaryIndexes"),
                indexes=desired.get("LocalSecondaryIndexes"),
                streams=desired.get("StreamSpecification"),
                billing_mode=desired.get("BillingMode", "PROVISIONED"),
                sse_specification=None,
                tags=desired.get("Tags", []),
                deletion_protection_enabled=desired.get("DeletionProtectionEnabled", False),
                warm_throughput=None,
            )
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return str(name)


def _global_index(index: Any, provisioned: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "IndexName": index.name,
        "KeySchema": index.schema,
        "Projection": index.projection,
    }
    if provisioned:
        result["ProvisionedThroughput"] = {
            "ReadCapacityUnits": int(index.throughput["ReadCapacityUnits"]),
            "WriteCapacityUnits": int(index.throughput["WriteCapacityUnits"]),
        }
    return result


def _ecr(ctx: SourceContext) -> Any:
    from moto.ecr.models import ecr_backends

    return ecr_backends[ctx.account_id][ctx.region]


@moto_resource_type
class EcrRepository(MotoResourceType):
    """`AWS::ECR::Repository`, identified by its name."""

    type_name = "AWS::ECR::Repository"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return list(_ecr(ctx).repositories)

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        backend = _ecr(ctx)
        repository = backend.repositories.get(identifier)
        if repository is None:
            return None
        lifecycle = (
            {"LifecyclePolicyText": repository.lifecycle_policy, "RegistryId": repository.registry_id}
            if repository.lifecycle_policy
            else None
        )
        return without_empty(
            {
                "RepositoryName": repository.name,
                "Arn": repository.arn,
                "RepositoryUri": repository.uri,
                "ImageTagMutability": repository.image_tag_mutability,
                "ImageScanningConfiguration": pascal_keys(repository.image_scanning_configuration),
                "EncryptionConfiguration": pascal_keys(repository.encryption_configuration),
                "LifecyclePolicy": lifecycle,
                "RepositoryPolicyText": repository.policy,
                "Tags": tag_list(tag_dict(backend.tagger.list_tags_for_resource(repository.arn).get("tags", []))),
            }
        )

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        backend = _ecr(ctx)
        if identifier not in backend.repositories:
            return False
        backend.delete_repository(identifier, None, force=True)
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = (desired.get("RepositoryName") or generated_name(self.type_name)).lower()
        scanning = desired.get("ImageScanningConfiguration", {})
        try:
            _ecr(ctx).create_repository(
                name,
                registry_id=None,
                encryption_config={"encryptionType": "AES256"},
                image_scan_config={"scanOnPush": bool(scanning.get("ScanOnPush", False))},
                image_tag_mutability=desired.get("ImageTagMutability", "MUTABLE"),
                tags=tag_list(tag_dict(desired.get("Tags"))),
            )
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return str(name)
