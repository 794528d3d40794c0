"""The dead-letter queue: what is in it and why, and moving its messages back after a fix.

A message reaches the dead-letter queue when it failed `maxReceiveCount` times. SQS keeps no reason
with it, so `diagnose` re-reads the message as the consumer did, with the consumer's own checks
(`events.intake`): a message that cannot be parsed or evaluated, or that the consumer refuses (a
kind the config lacks, a region that is not one), gets that reason; a valid one failed while being
applied (Port or AWS refused, or a mapping failed), and the consumer's logs carry that reason under
the message id (SQS keeps the id when it moves a message to the dead-letter queue).

`peek_dead_letters` looks without consuming: it holds the messages it has seen invisible while it
reads on, then makes them visible again. `replay_dead_letters` sends each message to the target
queue and deletes it from the dead-letter queue only once sent: a crash in between duplicates a
message (applied twice, to the same state), never loses one.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.aws.sqs_queues import MAX_BATCH_ENTRIES, change_visibility, delete_messages
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.raw_events import IgnoredEvent
from port_aws_exporter.core.message import MessageError
from port_aws_exporter.events.intake import read_message

DEFAULT_HOLD_SECONDS = 60
_POLL_SECONDS = 1
_SHOWN_BODY_CHARACTERS = 2000


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message and the reason it failed, as far as it can be told."""

    message_id: str
    body: str
    receive_count: int
    sent_at: str | None
    source_queue: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "receive_count": self.receive_count,
            "sent_at": self.sent_at,
            "source_queue": self.source_queue,
            "reason": self.reason,
            "body": self.body[:_SHOWN_BODY_CHARACTERS],
        }


@dataclass
class ReplayReport:
    """What a replay moved, and what it could not (those stay in the dead-letter queue)."""

    moved: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def diagnose(message_id: str, body: str, evaluator: TimeLimitedJq, kinds: Collection[str] | None = None) -> str:
    """Why a message failed, as far as the message itself tells (`kinds`: the config's, if known).

    The message is read with the consumer's own checks (`events.intake`), so a message the consumer
    refused for good is given the consumer's reason.
    """
    try:
        evaluated = read_message(body, evaluator, kinds)
    except MessageError as error:
        return f"bad message: {error.reason}"
    if isinstance(evaluated, IgnoredEvent):
        return f"the event is one the consumer ignores: {evaluated.reason}"
    return (
        f"the message is valid ({evaluated.action} {evaluated.resource_type} {evaluated.identifier} in "
        f"{evaluated.region}): applying it failed; the consumer's logs give the reason under message_id {message_id}"
    )


def peek_dead_letters(
    sqs: Any,
    queue_url: str,
    reason_of: Callable[[str, str], str],
    *,
    max_messages: int | None = None,
    hold_seconds: int = DEFAULT_HOLD_SECONDS,
) -> list[DeadLetter]:
    """The messages of a dead-letter queue (up to `max_messages`), each with `reason_of(id, body)`;
    they stay in the queue."""
    letters: list[DeadLetter] = []
    handles: list[str] = []
    try:
        while max_messages is None or len(letters) < max_messages:
            messages = _receive(sqs, queue_url, hold_seconds, _room(max_messages, len(letters)))
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                letters.append(_letter(message, reason_of))
    finally:
        change_visibility(sqs, queue_url, [(handle, 0) for handle in handles])
    return letters


def replay_dead_letters(
    sqs: Any,
    dead_letter_url: str,
    target_url: str,
    *,
    max_messages: int | None = None,
    target_sqs: Any = None,
    hold_seconds: int = DEFAULT_HOLD_SECONDS,
) -> ReplayReport:
    """Move messages from the dead-letter queue to `target_url` (up to `max_messages`)."""
    if dead_letter_url == target_url:
        raise ValueError("the dead-letter queue and the target are the same queue")
    target_sqs = target_sqs or sqs
    report = ReplayReport()
    while max_messages is None or len(report.moved) < max_messages:
        messages = _receive(sqs, dead_letter_url, hold_seconds, _room(max_messages, len(report.moved)))
        if not messages:
            break
        sent = _send(target_sqs, target_url, messages, report)
        failures = delete_messages(sqs, dead_letter_url, [message["ReceiptHandle"] for message in sent])
        # A message sent but not deleted is in both queues: it will be applied twice, to the same state.
        report.failures += [f"sent but still in the dead-letter queue: {failure}" for failure in failures]
        report.moved += [message["MessageId"] for message in sent]
        if len(sent) < len(messages):
            break  # the target refuses messages: stop rather than spin on the same ones
    return report


def _room(max_messages: int | None, taken: int) -> int:
    return MAX_BATCH_ENTRIES if max_messages is None else max(1, min(MAX_BATCH_ENTRIES, max_messages - taken))


def _receive(sqs: Any, queue_url: str, hold_seconds: int, count: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=count,
        WaitTimeSeconds=_POLL_SECONDS,
        VisibilityTimeout=hold_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = response.get("Messages") or []
    return messages


def _send(sqs: Any, queue_url: str, messages: list[dict[str, Any]], report: ReplayReport) -> list[dict[str, Any]]:
    entries = []
    for index, message in enumerate(messages):
        entry: dict[str, Any] = {"Id": str(index), "MessageBody": message.get("Body", "")}
        if message.get("MessageAttributes"):
            entry["MessageAttributes"] = message["MessageAttributes"]
        entries.append(entry)
    response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    report.failures += [
        f"{messages[int(item['Id'])]['MessageId']}: {item.get('Code')}: {item.get('Message')}"
        for item in response.get("Failed", [])
    ]
    sent_ids = {int(item["Id"]) for item in response.get("Successful", [])}
    return [message for index, message in enumerate(messages) if index in sent_ids]


def _letter(message: dict[str, Any], reason_of: Callable[[str, str], str]) -> DeadLetter:
    attributes = message.get("Attributes") or {}
    message_id = str(message.get("MessageId", ""))
    body = str(message.get("Body", ""))
    return DeadLetter(
        message_id=message_id,
        body=body,
        receive_count=int(attributes.get("ApproximateReceiveCount", 0) or 0),
        sent_at=_timestamp(attributes.get("SentTimestamp")),
        source_queue=attributes.get("DeadLetterQueueSourceArn"),
        reason=reason_of(message_id, body),
    )


def _timestamp(milliseconds: Any) -> str | None:
    try:
        seconds = int(milliseconds) / 1000
    except (TypeError, ValueError):
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")
