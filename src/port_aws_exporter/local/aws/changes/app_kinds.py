"""Changes of the application kinds: Lambda functions, SQS queues, SNS topics, S3 buckets, DynamoDB tables."""

from __future__ import annotations

from typing import Any

from port_aws_exporter.local.aws.changes.context import ChangeContext, ChangeError
from port_aws_exporter.local.aws.changes.kind_changes import (
    CHANGE_TAG,
    CREATED_TAGS,
    LAMBDA_TRUST_POLICY,
    ResourceChanges,
    registered,
)
from port_aws_exporter.local.aws.resource_defaults import handler_zip, tag_pairs

LAMBDA_ROLE = "local-change-lambda-role"
_MAX_LAMBDA_MEMORY = 10240
_MAX_VISIBILITY_TIMEOUT = 43200


def _lambda_role_arn(ctx: ChangeContext) -> str:
    """The role new functions run as; created (a recorded call, as it would be) the first time."""
    iam = ctx.client("iam")
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        pass
    role = ctx.call("iam", "create_role", {"RoleName": LAMBDA_ROLE, "AssumeRolePolicyDocument": LAMBDA_TRUST_POLICY})
    return str(role["Role"]["Arn"])


@registered
class LambdaFunctionChanges(ResourceChanges):
    """`AWS::Lambda::Function` by function name; update raises the memory size by 128 MB."""

    kind = "AWS::Lambda::Function"
    aliases = ("lambda", "function")

    def create(self, ctx: ChangeContext, name: str) -> str:
        params = {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": _lambda_role_arn(ctx),
            "Handler": "index.handler",
            "Code": {"ZipFile": handler_zip()},
            "Description": "Created by port-aws-exporter local change",
            "Timeout": 30,
            "MemorySize": 128,
            "Tags": dict(CREATED_TAGS),
        }
        return str(ctx.call("lambda", "create_function", params)["FunctionName"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        current = self._configuration(ctx, name)
        memory = int(current.get("MemorySize", 128)) + 128
        params = {"FunctionName": name, "MemorySize": memory if memory <= _MAX_LAMBDA_MEMORY else 128}
        return str(ctx.call("lambda", "update_function_configuration", params)["FunctionName"])

    def tag(self, ctx: ChangeContext, name: str) -> str:
        current = self._configuration(ctx, name)
        ctx.call("lambda", "tag_resource", {"Resource": current["FunctionArn"], "Tags": {CHANGE_TAG: ctx.stamp}})
        return str(current["FunctionName"])

    def delete(self, ctx: ChangeContext, name: str) -> str:
        ctx.call("lambda", "delete_function", {"FunctionName": name})
        return name

    @staticmethod
    def _configuration(ctx: ChangeContext, name: str) -> dict[str, Any]:
        missing = f"no Lambda function {name} in {ctx.region}"
        return dict(ctx.read("lambda", "get_function_configuration", {"FunctionName": name}, missing=missing))


@registered
class SqsQueueChanges(ResourceChanges):
    """`AWS::SQS::Queue` by queue name (identifier: the queue URL); update adds 15 s of visibility timeout."""

    kind = "AWS::SQS::Queue"
    aliases = ("sqs", "queue")

    def create(self, ctx: ChangeContext, name: str) -> str:
        return str(ctx.call("sqs", "create_queue", {"QueueName": name, "tags": dict(CREATED_TAGS)})["QueueUrl"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        url = self._url(ctx, name)
        attributes = ctx.read("sqs", "get_queue_attributes", {"QueueUrl": url, "AttributeNames": ["VisibilityTimeout"]})
        timeout = int(attributes["Attributes"]["VisibilityTimeout"]) + 15
        new_timeout = str(timeout if timeout <= _MAX_VISIBILITY_TIMEOUT else 30)
        ctx.call("sqs", "set_queue_attributes", {"QueueUrl": url, "Attributes": {"VisibilityTimeout": new_timeout}})
        return url

    def tag(self, ctx: ChangeContext, name: str) -> str:
        url = self._url(ctx, name)
        ctx.call("sqs", "tag_queue", {"QueueUrl": url, "Tags": {CHANGE_TAG: ctx.stamp}})
        return url

    def delete(self, ctx: ChangeContext, name: str) -> str:
        url = self._url(ctx, name)
        ctx.call("sqs", "delete_queue", {"QueueUrl": url})
        return url

    @staticmethod
    def _url(ctx: ChangeContext, name: str) -> str:
        answer = ctx.read("sqs", "get_queue_url", {"QueueName": name}, missing=f"no SQS queue {name} in {ctx.region}")
        return str(answer["QueueUrl"])


@registered
class SnsTopicChanges(ResourceChanges):
    """`AWS::SNS::Topic` by topic name (identifier: the topic ARN); update sets the display name."""

    kind = "AWS::SNS::Topic"
    aliases = ("sns", "topic")

    def create(self, ctx: ChangeContext, name: str) -> str:
        answer = ctx.call("sns", "create_topic", {"Name": name, "Tags": tag_pairs(CREATED_TAGS)})
        return str(answer["TopicArn"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        arn = self._arn(ctx, name)
        display = f"{name} {ctx.stamp}"[:100]
        ctx.call(
            "sns", "set_topic_attributes", {"TopicArn": arn, "AttributeName": "DisplayName", "AttributeValue": display}
        )
        return arn

    def tag(self, ctx: ChangeContext, name: str) -> str:
        arn = self._arn(ctx, name)
        ctx.call("sns", "tag_resource", {"ResourceArn": arn, "Tags": tag_pairs({CHANGE_TAG: ctx.stamp})})
        return arn

    def delete(self, ctx: ChangeContext, name: str) -> str:
        arn = self._arn(ctx, name)
        ctx.call("sns", "delete_topic", {"TopicArn": arn})
        return arn

    @staticmethod
    def _arn(ctx: ChangeContext, name: str) -> str:
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account_id}:{name}"
        ctx.read("sns", "get_topic_attributes", {"TopicArn": arn}, missing=f"no SNS topic {name} in {ctx.region}")
        return arn


@registered
class S3BucketChanges(ResourceChanges):
    """`AWS::S3::Bucket` by bucket name; update toggles versioning. S3 records its own request shape
    (`bucketName`, `Host`, the XML body's elements) and no response elements."""

    kind = "AWS::S3::Bucket"
    aliases = ("s3", "bucket")

    def create(self, ctx: ChangeContext, name: str) -> str:
        params: dict[str, Any] = {"Bucket": name}
        record = self._record(ctx, name)
        if ctx.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
            record["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        ctx.call("s3", "create_bucket", params, request_record=record, response_record=_no_elements)
        return name

    def update(self, ctx: ChangeContext, name: str) -> str:
        current = ctx.read("s3", "get_bucket_versioning", {"Bucket": name}, missing=f"no S3 bucket {name}")
        status = "Suspended" if current.get("Status") == "Enabled" else "Enabled"
        configuration = {"Status": status}
        record = {**self._record(ctx, name), "versioning": "", "VersioningConfiguration": configuration}
        ctx.call(
            "s3",
            "put_bucket_versioning",
            {"Bucket": name, "VersioningConfiguration": configuration},
            request_record=record,
            response_record=_no_elements,
        )
        return name

    def tag(self, ctx: ChangeContext, name: str) -> str:
        tags = {tag["Key"]: tag["Value"] for tag in self._tags(ctx, name)}
        tags[CHANGE_TAG] = ctx.stamp
        tag_set = tag_pairs(tags)
        record = {**self._record(ctx, name), "tagging": "", "Tagging": {"TagSet": {"Tag": tag_set}}}
        ctx.call(
            "s3",
            "put_bucket_tagging",
            {"Bucket": name, "Tagging": {"TagSet": tag_set}},
            request_record=record,
            response_record=_no_elements,
        )
        return name

    def delete(self, ctx: ChangeContext, name: str) -> str:
        record = self._record(ctx, name)
        ctx.call("s3", "delete_bucket", {"Bucket": name}, request_record=record, response_record=_no_elements)
        return name

    @staticmethod
    def _record(ctx: ChangeContext, name: str) -> dict[str, Any]:
        return {"bucketName": name, "Host": f"{name}.s3.{ctx.region}.amazonaws.com"}

    @staticmethod
    def _tags(ctx: ChangeContext, name: str) -> list[dict[str, str]]:
        s3 = ctx.client("s3")
        try:
            return list(s3.get_bucket_tagging(Bucket=name)["TagSet"])
        except s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchTagSet":
                return []
            raise ChangeError(f"no S3 bucket {name}: {error}") from error


def _no_elements(response: dict[str, Any]) -> None:
    return None


@registered
class DynamoDbTableChanges(ResourceChanges):
    """`AWS::DynamoDB::Table` by table name; update turns its stream on or off."""

    kind = "AWS::DynamoDB::Table"
    aliases = ("dynamodb", "table")

    def create(self, ctx: ChangeContext, name: str) -> str:
        params = {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "Tags": tag_pairs(CREATED_TAGS),
        }
        return str(ctx.call("dynamodb", "create_table", params)["TableDescription"]["TableName"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        table = self._table(ctx, name)
        enabled = bool(table.get("StreamSpecification", {}).get("StreamEnabled"))
        stream: dict[str, Any] = {"StreamEnabled": not enabled}
        if not enabled:
            stream["StreamViewType"] = "NEW_AND_OLD_IMAGES"
        ctx.call("dynamodb", "update_table", {"TableName": name, "StreamSpecification": stream})
        return name

    def tag(self, ctx: ChangeContext, name: str) -> str:
        table = self._table(ctx, name)
        tags = tag_pairs({CHANGE_TAG: ctx.stamp})
        ctx.call("dynamodb", "tag_resource", {"ResourceArn": table["TableArn"], "Tags": tags})
        return name

    def delete(self, ctx: ChangeContext, name: str) -> str:
        ctx.call("dynamodb", "delete_table", {"TableName": name})
        return name

    @staticmethod
    def _table(ctx: ChangeContext, name: str) -> dict[str, Any]:
        missing = f"no DynamoDB table {name} in {ctx.region}"
        answer = ctx.read("dynamodb", "describe_table", {"TableName": name}, missing=missing)
        return dict(answer["Table"])
