"""SQS queues by URL: which region a queue lives in, and batch calls with their per-entry failures.

A queue URL names its region (`https://sqs.eu-west-1.amazonaws.com/123456789012/events`); a local
endpoint's URL does not, and then the session's region is the queue's. Lambda names a queue by its
ARN (`arn:aws:sqs:<region>:<account>:<name>`); its URL is the SQS endpoint's, account and name.
Batch calls take at most ten entries and answer per entry: the helpers here cut them and return the
entries that failed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from port_aws_exporter.aws.clients import AwsClients

MAX_BATCH_ENTRIES = 10
# SQS's ceiling for a message's visibility timeout (12 hours).
MAX_VISIBILITY_SECONDS = 43_200

# SQS's answers after which asking again cannot succeed: the queue is not there (the JSON and the
# query protocol's codes), the URL is not a queue's, or the caller may not use it.
PERMANENT_QUEUE_ERROR_CODES = frozenset(
    {
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "InvalidAddress",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSecurity",
    }
)

_REGION_IN_HOST = re.compile(r"^(?:https?://)?(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:queue\.)?amazonaws\.com")


def queue_region(queue_url: str) -> str | None:
    """The region in an AWS queue URL (`sqs.<region>.amazonaws.com`), or None (a local endpoint)."""
    match = _REGION_IN_HOST.match(queue_url)
    return match.group(1) if match else None


def is_permanent_queue_error(error: BaseException) -> bool:
    """Whether a failed SQS call will fail the same way however often it is repeated."""
    if not isinstance(error, ClientError):
        return False
    return str(error.response.get("Error", {}).get("Code")) in PERMANENT_QUEUE_ERROR_CODES


def sqs_client_for(clients: AwsClients, queue_url: str) -> Any:
    """The shared SQS client of the queue's region."""
    return clients.client("sqs", queue_region(queue_url) or clients.default_region)


def queue_by_arn(clients: AwsClients, queue_arn: str) -> tuple[Any, str]:
    """The shared SQS client of the queue's region and the queue's URL, from its ARN."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise ValueError(f"not an SQS queue ARN: {queue_arn!r}")
    region, account, name = parts[3:]
    sqs = clients.client("sqs", region)
    return sqs, f"{sqs.meta.endpoint_url.rstrip('/')}/{account}/{name}"


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[start : start + MAX_BATCH_ENTRIES] for start in range(0, len(items), MAX_BATCH_ENTRIES)]


def delete_messages(sqs: Any, queue_url: str, receipt_handles: Sequence[str]) -> list[str]:
    """Delete messages by receipt handle; returns the failures' descriptions (empty: all deleted)."""
    failures: list[str] = []
    for chunk in _chunks(receipt_handles):
        entries = [{"Id": str(index), "ReceiptHandle": handle} for index, handle in enumerate(chunk)]
        response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        failures += [f"{item.get('Code')}: {item.get('Message')}" for item in response.get("Failed", [])]
    return failures


def change_visibility(sqs: Any, queue_url: str, handles_and_seconds: Sequence[tuple[str, int]]) -> list[str]:
    """Set each message's visibility timeout (0: visible again now); returns the failures."""
    failures: list[str] = []
    for chunk in _chunks(handles_and_seconds):
        entries = [
            {
                "Id": str(index),
                "ReceiptHandle": handle,
                "VisibilityTimeout": min(max(seconds, 0), MAX_VISIBILITY_SECONDS),
            }
            for index, (handle, seconds) in enumerate(chunk)
        ]
        response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        failures += [f"{item.get('Code')}: {item.get('Message')}" for item in response.get("Failed", [])]
    return failures
