"""`local change`: change a resource through its service API on the local endpoint, and put the
CloudTrail-shaped EventBridge events (and EC2's native ones) that AWS would emit for it.

    from port_aws_exporter.local.aws.changes import make_change

    result = make_change(aws.url, "AWS::SQS::Queue", "create", "jobs", region="eu-west-1")
    result.identifier                      # the queue URL (its Cloud Control identifier)
    result.events[0]["detail"]["eventName"]  # "CreateQueue"

Kinds: Lambda functions, SQS queues, SNS topics, S3 buckets, DynamoDB tables, ECS clusters and
services, ECR repositories, EC2 instances, IAM roles (`supported_kinds()`); actions: create,
update, tag, delete.
"""

from port_aws_exporter.local.aws.changes.context import ChangeError
from port_aws_exporter.local.aws.changes.kind_changes import ACTIONS, CHANGE_TAG, Action
from port_aws_exporter.local.aws.changes.make_change import ChangeResult, make_change, resolve_kind, supported_kinds
from port_aws_exporter.local.aws.changes.recorded_call import RecordedCall

__all__ = [
    "ACTIONS",
    "CHANGE_TAG",
    "Action",
    "ChangeError",
    "ChangeResult",
    "RecordedCall",
    "make_change",
    "resolve_kind",
    "supported_kinds",
]
