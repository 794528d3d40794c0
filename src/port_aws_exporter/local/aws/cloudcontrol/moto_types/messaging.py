"""SQS queues and SNS topics, read from moto and shaped as `AWS::SQS::Queue` / `AWS::SNS::Topic`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from port_aws_exporter.local.aws.cloudcontrol.moto_types.base import (
    MOTO_ERRORS,
    MotoResourceType,
    SourceContext,
    generated_name,
    moto_failure,
    moto_resource_type,
    tag_dict,
    tag_list,
    without_empty,
)

# CloudFormation property -> SQS attribute name, for the attributes Cloud Control can create a queue with.
_SQS_CREATE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
)


def _sqs(ctx: SourceContext) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[ctx.account_id][ctx.region]


def _queue_name(identifier: str) -> str:
    """The queue name in a queue URL (`http://host/123456789012/name` or just `name`)."""
    return urlparse(identifier).path.rstrip("/").rpartition("/")[2] or identifier


@moto_resource_type
class SqsQueue(MotoResourceType):
    """`AWS::SQS::Queue`, identified by its queue URL."""

    type_name = "AWS::SQS::Queue"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return [f"{ctx.base_url}/{ctx.account_id}/{name}" for name in list(_sqs(ctx).queues)]

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        queue = _sqs(ctx).queues.get(_queue_name(identifier))
        if queue is None:
            return None
        properties: dict[str, Any] = {
            "QueueName": queue.name,
            "QueueUrl": f"{ctx.base_url}/{ctx.account_id}/{queue.name}",
            "Arn": queue.queue_arn,
            "DelaySeconds": int(queue.delay_seconds),
            "MaximumMessageSize": int(queue.maximum_message_size),
            "MessageRetentionPeriod": int(queue.message_retention_period),
            "ReceiveMessageWaitTimeSeconds": int(queue.receive_message_wait_time_seconds),
            "VisibilityTimeout": int(queue.visibility_timeout),
            "SqsManagedSseEnabled": str(getattr(queue, "sqs_managed_sse_enabled", True)).lower() == "true",
            "Tags": tag_list(queue.tags),
        }
        if getattr(queue, "kms_master_key_id", None):
            properties["KmsMasterKeyId"] = queue.kms_master_key_id
            properties["KmsDataKeyReusePeriodSeconds"] = int(queue.kms_data_key_reuse_period_seconds)
        if getattr(queue, "redrive_policy", None):
            properties["RedrivePolicy"] = queue.redrive_policy
        if queue.fifo_queue:
            properties["FifoQueue"] = True
            properties["ContentBasedDeduplication"] = bool(queue.content_based_deduplication)
            properties["DeduplicationScope"] = queue.deduplication_scope
            properties["FifoThroughputLimit"] = queue.fifo_throughput_limit
        return without_empty(properties)

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        backend = _sqs(ctx)
        name = _queue_name(identifier)
        if name not in backend.queues:
            return False
        backend.delete_queue(name)
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = desired.get("QueueName") or generated_name(self.type_name)
        if desired.get("FifoQueue") and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = {key: desired[key] for key in _SQS_CREATE_ATTRIBUTES if key in desired}
        if "RedrivePolicy" in desired:
            attributes["RedrivePolicy"] = json.dumps(desired["RedrivePolicy"])
        try:
            _sqs(ctx).create_queue(name, tags=tag_dict(desired.get("Tags")), **attributes)
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return f"{ctx.base_url}/{ctx.account_id}/{name}"


def _sns(ctx: SourceContext) -> Any:
    from moto.sns.models import sns_backends

    return sns_backends[ctx.account_id][ctx.region]


@moto_resource_type
class SnsTopic(MotoResourceType):
    """`AWS::SNS::Topic`, identified by its ARN, with its subscriptions."""

    type_name = "AWS::SNS::Topic"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return list(_sns(ctx).topics)

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        backend = _sns(ctx)
        topic = backend.topics.get(identifier)
        if topic is None:
            return None
        subscriptions = [
            {"Endpoint": subscription.endpoint, "Protocol": subscription.protocol}
            for subscription in list(backend.subscriptions.values())
            if subscription.topic.arn == topic.arn
        ]
        properties: dict[str, Any] = {
            "TopicArn": topic.arn,
            "TopicName": topic.name,
            "DisplayName": topic.display_name,
            "KmsMasterKeyId": topic.kms_master_key_id,
            "Subscription": subscriptions,
            "Tags": tag_list(topic._tags),
        }
        if str(topic.fifo_topic).lower() == "true":
            properties["FifoTopic"] = True
            properties["ContentBasedDeduplication"] = str(topic.content_based_deduplication).lower() == "true"
        return without_empty(properties)

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        backend = _sns(ctx)
        if identifier not in backend.topics:
            return False
        backend.delete_topic(identifier)
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = desired.get("TopicName") or generated_name(self.type_name)
        attributes = {key: str(desired[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in desired}
        if desired.get("FifoTopic"):
            attributes["FifoTopic"] = "true"
        backend = _sns(ctx)
        try:
            topic = backend.create_topic(name, attributes=attributes, tags=tag_dict(desired.get("Tags")))
            for subscription in desired.get("Subscription", []):
                backend.subscribe(topic.arn, subscription["Endpoint"], subscription["Protocol"])
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return str(topic.arn)
