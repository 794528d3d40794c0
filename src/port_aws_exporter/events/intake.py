"""How the consumer reads one message, and what it refuses for good: one definition for the event
path and for `dlq show`, which tells why a dead-lettered message was refused.

A message is parsed and its jq evaluated (`core.message`), then checked against what the consumer
can apply: its `resource_type` must be a kind of the config and its region an AWS region name.
Every refusal is a `MessageError`, permanent: the message cannot succeed however often it comes back.

    evaluated = read_message(body, evaluator, config.kinds())   # raises MessageError
"""

from __future__ import annotations

from collections.abc import Collection

from port_aws_exporter.core.installation import is_region_name
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.message import EvaluatedMessage, EventMessage, MessageError, evaluate_message, parse_message

NESTED_TOO_DEEPLY = "the message is nested too deeply to read"


def parse(body: str) -> EventMessage:
    """`core.message.parse_message`, with nesting too deep for Python's JSON reader a MessageError too."""
    try:
        return parse_message(body)
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


def read_message(body: str, evaluator: TimeLimitedJq, kinds: Collection[str] | None) -> EvaluatedMessage:
    """Parse, evaluate and check one message body as the consumer does; raise MessageError."""
    return evaluate(parse(body), evaluator, kinds)
