"""SQS records as the event path sees them, and what became of each message.

Lambda hands the function records shaped `{"messageId", "receiptHandle", "body", "attributes":
{"ApproximateReceiveCount"}, "eventSourceARN", ...}`; boto3's `ReceiveMessage` answers
`{"MessageId", "Body", "ReceiptHandle", "Attributes": {...}}`. Both become an `SqsRecord`, read
leniently: a record is never a reason for the batch to crash, whatever it holds.

A `MessageResult` says what one message did (`written`, `deleted`), or why it did nothing
(`skipped`: acknowledged on purpose, with the reason) or failed (`error`: not acknowledged, it comes
back through the queue). `BatchOutcome.batch_item_failures()` is Lambda's partial batch response.
A failed message comes back after `retry_delay(receive_count)` seconds: the worker and the Lambda
consumer both set that as its visibility timeout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RETRY_DELAY_SECONDS = 10
DEFAULT_MAX_RETRY_DELAY_SECONDS = 600


def retry_delay(receive_count: int, base_seconds: int, max_seconds: int) -> int:
    """Seconds before a failed message, delivered `receive_count` times, is visible again:
    `base_seconds` doubled on every further delivery, at most `max_seconds`."""
    exponent = min(max(receive_count - 1, 0), 20)
    return min(base_seconds * (1 << exponent), max_seconds)


@dataclass(frozen=True)
class SqsRecord:
    """One SQS message: its id, its body (text), how many times SQS has delivered it, the receipt
    handle to delete it or change its visibility with, (from Lambda) the queue's ARN, and when SQS
    received it (epoch milliseconds, when known)."""

    message_id: str
    body: str
    receive_count: int = 1
    receipt_handle: str | None = None
    queue_arn: str | None = None
    sent_timestamp: int | None = None

    @classmethod
    def from_lambda(cls, record: object) -> SqsRecord:
        """A record of a Lambda SQS event (`Records[]`)."""
        if not isinstance(record, Mapping):
            return cls(message_id="", body=_as_text(record))
        attributes = record.get("attributes")
        count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
        return cls(
            message_id=_as_id(record.get("messageId")),
            body=_as_text(record.get("body")),
            receive_count=_as_count(count),
            receipt_handle=_as_optional_text(record.get("receiptHandle")),
            queue_arn=_as_optional_text(record.get("eventSourceARN")),
        )

    @classmethod
    def from_receive(cls, message: Mapping[str, Any]) -> SqsRecord:
        """A message of boto3's `receive_message` answer (`Messages[]`)."""
        attributes = message.get("Attributes")
        if not isinstance(attributes, Mapping):
            attributes = {}
        sent = attributes.get("SentTimestamp")
        return cls(
            message_id=_as_id(message.get("MessageId")),
            body=_as_text(message.get("Body")),
            receive_count=_as_count(attributes.get("ApproximateReceiveCount")),
            receipt_handle=message.get("ReceiptHandle"),
            sent_timestamp=int(sent) if isinstance(sent, str) and sent.isdigit() else None,
        )


def _as_id(value: object) -> str:
    return value if isinstance(value, str) else ""


def _as_optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    # Tests and hand-made invocations sometimes pass the message as an object.
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _as_count(value: object) -> int:
    try:
        count = int(str(value))
    except ValueError:
        return 1
    return max(count, 1)


@dataclass(frozen=True)
class EntityRef:
    """A Port entity: its blueprint and identifier."""

    blueprint: str
    identifier: str

    def as_dict(self) -> dict[str, str]:
        return {"blueprint": self.blueprint, "identifier": self.identifier}


@dataclass
class MessageResult:
    """What one message did.

    - `error` set: the message failed and is not acknowledged (it returns through the queue, and
      reaches the dead-letter queue after the queue's `maxReceiveCount`); `transient` says whether
      the cause may go away by itself (throttling, an outage) or needs a fix (a bad message).
    - `skipped` set: acknowledged without a change, on purpose; the text is why (`dropped` when it
      gave up on the message after retries: the resource never appeared, or a delete over-matched;
      `ignored` says why a raw event is not applied at all: `failed-call`, `unconfigured-kind`,
      `unknown-event`, `outside-accounts`).
    - otherwise: applied; `written` and `deleted` list the entities, `unchanged` those not written
      again because the upsert would have changed nothing written lately.
    """

    message_id: str
    resource_type: str | None = None
    action: str | None = None
    region: str | None = None
    identifier: str | None = None
    written: list[EntityRef] = field(default_factory=list)
    deleted: list[EntityRef] = field(default_factory=list)
    unchanged: list[EntityRef] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    transient: bool = False
    dropped: bool = False
    receive_count: int = 1
    # The account the message names (None: the exporter's own).
    account: str | None = None
    ignored: str | None = None

    @property
    def acknowledged(self) -> bool:
        """Whether the message is done with (applied or deliberately dropped) and may be deleted."""
        return self.error is None

    @property
    def outcome(self) -> str:
        """`applied`, `skipped` or `failed`."""
        if self.error is not None:
            return "failed"
        return "skipped" if self.skipped is not None else "applied"

    def fail(self, reason: str, *, transient: bool) -> None:
        self.error = reason
        self.transient = transient

    def ignore(self, why: str, reason: str) -> None:
        """Acknowledge without a change: the message is one the exporter does not apply."""
        self.ignored = why
        self.skipped = reason

    def as_dict(self) -> dict[str, Any]:
        """The result as `port-aws-exporter event --json` prints it (`account`, `unchanged` and
        `ignored` only when set)."""
        shown: dict[str, Any] = {}
        if self.account is not None:
            shown["account"] = self.account
        shown.update(
            {
                "action": self.action,
                "region": self.region,
                "identifier": self.identifier,
                "written": [entity.as_dict() for entity in self.written],
                "deleted": [entity.as_dict() for entity in self.deleted],
                "skipped": self.skipped,
                "error": self.error,
            }
        )
        if self.unchanged:
            shown["unchanged"] = [entity.as_dict() for entity in self.unchanged]
        if self.ignored is not None:
            shown["ignored"] = self.ignored
        return shown

    def log_fields(self) -> dict[str, Any]:
        """The fields of the message's log line (no body: it may be large; never a secret)."""
        fields: dict[str, Any] = {
            "message_id": self.message_id,
            "outcome": self.outcome,
            "receive_count": self.receive_count,
            "kind": self.resource_type,
            "account": self.account,
            "action": self.action,
            "region": self.region,
            "identifier": self.identifier,
        }
        if self.written:
            fields["written"] = [entity.as_dict() for entity in self.written]
        if self.deleted:
            fields["deleted"] = [entity.as_dict() for entity in self.deleted]
        if self.unchanged:
            fields["unchanged"] = [entity.as_dict() for entity in self.unchanged]
        if self.skipped is not None:
            fields["reason"] = self.skipped
            fields["dropped"] = self.dropped
        if self.ignored is not None:
            fields["ignored"] = self.ignored
        if self.error is not None:
            fields["reason"] = self.error
            fields["transient"] = self.transient
        return fields


@dataclass
class BatchOutcome:
    """The results of a batch, in record order."""

    results: list[MessageResult]

    @property
    def failed(self) -> list[MessageResult]:
        return [result for result in self.results if not result.acknowledged]

    @property
    def acknowledged(self) -> list[MessageResult]:
        return [result for result in self.results if result.acknowledged]

    def batch_item_failures(self) -> dict[str, list[dict[str, str]]]:
        """Lambda's partial batch response: the ids of the messages to return to the queue.

        A record without an id is reported with an empty id, which makes Lambda return the whole
        batch: nothing is acknowledged that was not applied.
        """
        failed_ids = dict.fromkeys(result.message_id for result in self.failed)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed_ids]}
