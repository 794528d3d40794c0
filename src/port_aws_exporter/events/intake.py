"""How the consumer reads one message, and what it refuses for good: one definition for the event
path and for `dlq show`, which tells why a dead-lettered message was refused.

A message is either the seed's (parsed and its jq evaluated by `core.message`) or a whole
EventBridge event, as a rule without an InputTransformer delivers it (resolved through the kind
registry by `core.kinds.raw_events`, no jq of the message's). A seed message is checked against what
the consumer can apply: its `resource_type` must be a kind of the config and its region an AWS
region name. Every refusal is a `MessageError`, permanent: the message cannot succeed however often
it comes back. A raw event may also be ignored on purpose (`IgnoredEvent`: a failed call, a kind
the config does not sync): acknowledged, with the reason.

    parsed = parse(body)                                        # raises MessageError
    if isinstance(parsed, RawEvent): request = resolve(parsed, config.kinds())
    evaluated = read_message(body, evaluator, config.kinds())   # seed messages; raises MessageError
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from port_aws_exporter.core.installation import is_region_name
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.raw_events import IgnoredEvent, ResourceRequest, is_raw_event, resolve_raw_event
from port_aws_exporter.core.message import (
    EvaluatedMessage,
    EventMessage,
    MessageError,
    decode_body,
    evaluate_message,
    message_from_document,
)

NESTED_TOO_DEEPLY = "the message is nested too deeply to read"


@dataclass(frozen=True)
class RawEvent:
    """A message that is a whole EventBridge event."""

    event: Mapping[str, Any]


def parse(body: str) -> EventMessage | RawEvent:
    """The seed's message (`core.message`) or a raw EventBridge event; nesting too deep for
    Python's JSON reader is a MessageError too."""
    try:
        document, text = decode_body(body)
        if is_raw_event(document):
            return RawEvent(document)
        return message_from_document(document, text)
    except RecursionError:
        raise MessageError(NESTED_TOO_DEEPLY) from None


def resolve(raw: RawEvent, kinds: Collection[str] | None) -> ResourceRequest | IgnoredEvent:
    """What a raw event asks (`core.kinds.raw_events`), with the nesting guard of `parse`."""
    try:
        return resolve_raw_event(raw.event, kinds)
    except RecursionError:
        raise MessageError(NESTED_TOO_DEEPLY) from None


def evaluate(
    message: EventMessage,
    evaluator: TimeLimitedJq,
    kinds: Collection[str] | None,
    *,
    timeout_seconds: float | None = None,
) -> EvaluatedMessage:
    """Evaluate the message's jq and check what the consumer needs of it (`kinds`: the config's,
    None to leave the kind unchecked); raise MessageError."""
    evaluated = evaluate_message(message, evaluator, timeout_seconds=timeout_seconds)
    if kinds is not None and evaluated.resource_type not in kinds:
        known = ", ".join(kinds) or "none"
        raise MessageError(
            f"resource_type {evaluated.resource_type!r} is not a kind of the config (its kinds: {known})"
        )
    if not is_region_name(evaluated.region):
        raise MessageError(f"region: {evaluated.region!r} is not an AWS region name", field="region")
    return evaluated


def read_message(body: str, evaluator: TimeLimitedJq, kinds: Collection[str] | None) -> EvaluatedMessage | IgnoredEvent:
    """Parse, evaluate (or resolve) and check one message body as the consumer does; raise MessageError."""
    parsed = parse(body)
    if isinstance(parsed, RawEvent):
        resolved = resolve(parsed, kinds)
        if isinstance(resolved, IgnoredEvent):
            return resolved
        return EvaluatedMessage(
            resolved.kind, resolved.region, resolved.action, resolved.identifier, account=resolved.account
        )
    return evaluate(parsed, evaluator, kinds)
